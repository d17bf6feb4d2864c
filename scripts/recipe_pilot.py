"""Run the CIFAR-10 CPU recipe pilot (advsel.repro.recipe) and write its table.

    python scripts/recipe_pilot.py [--jobs 2] [--runs results/pilot/runs]

Each recipe of ``advsel.repro.recipe.RECIPES`` is trained with PGD-AT and DS P_up = 1,
two seeds each, into the pilot's own run cache (runs already there are skipped), then
``results/pilot/pilot.json`` (rows, chosen recipe, machine) and ``results/pilot/pilot.md``
(the README's table) are written atomically.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import time
from pathlib import Path

from advsel.evaluation import FinalEval
from advsel.repro.recipe import RECIPES, chosen_recipe, markdown, pilot_configs, pilot_rows
from advsel.runs import atomic_write_json

PILOT = Path(__file__).resolve().parents[1] / "results" / "pilot"
PILOT_FINAL = FinalEval(n=2000, steps=20, restarts=2)  # the book's PGD evaluation (advsel.repro.scope.final_spec)
MAX_MINUTES = 2.5  # a CIFAR-10 run of at most this many minutes (one thread) keeps the book's rerun within the hour


def _work(args: tuple[str, str, int, str]) -> str:
    import torch

    from advsel.experiments import run

    recipe, label, i, cache = args
    torch.set_num_threads(1)
    c = pilot_configs(recipe)[label][i]
    run(c, cache, final=PILOT_FINAL)
    return f"{recipe} / {label} seed {c.seed}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--runs", default=str(PILOT / "runs"))
    a = p.parse_args()
    tasks = [(r, label, i, a.runs) for r in RECIPES for label, cs in pilot_configs(r).items() for i in range(len(cs))]
    start = time.perf_counter()
    with mp.get_context("spawn").Pool(a.jobs) as pool:
        for n, name in enumerate(pool.imap_unordered(_work, tasks), 1):
            print(f"[{n}/{len(tasks)}] {name} (elapsed {time.perf_counter() - start:.0f} s)", flush=True)
    from advsel.experiments import run

    results = {r: {label: [run(c, a.runs, final=PILOT_FINAL) for c in cs] for label, cs in pilot_configs(r).items()}
               for r in RECIPES}
    rows = pilot_rows(results)
    chosen = chosen_recipe(rows, MAX_MINUTES)
    summary = {"rows": rows, "chosen": chosen, "max_minutes": MAX_MINUTES, "jobs": a.jobs, "threads": 1,
               "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count()}
    atomic_write_json(summary, PILOT / "pilot.json")
    (PILOT / "pilot.md").write_text(markdown(rows, chosen) + "\n")
    print(markdown(rows, chosen))
    print(f"chosen: {chosen}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
