"""Compute every run the book uses, in parallel worker processes, into the book's run cache.

    python scripts/compute_results.py [--profile cpu] [--jobs 2] [--threads 1] [--runs DIR] [--progress]

The runs go to the repository's results/runs (whatever the working folder and
``$ADVSEL_RUNS``), or to ``--runs DIR``.  Runs already complete there are skipped;
interrupted ones resume from their checkpoints.  Dong et al.'s runs come last because
they reuse the PGD-AT runs as pre-training.  Prints the wall time at the end.
``--progress`` (the default with ``--jobs 1``) shows each run's training and final
evaluation on stderr (:mod:`advsel.progress`).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time

from advsel.repro import Family, Scope, book_families
from advsel.repro.scope import AUTOATTACK, REPOSITORY_RUNS


def _work(args: tuple[Scope, Family, int, bool]) -> tuple[str, float]:
    """Compute (or resume) the one run of ``family`` in a one-seed ``scope`` (``progress``: shown)."""
    import torch

    scope, family, threads, progress = args
    torch.set_num_threads(threads)
    t = time.perf_counter()
    scope.replace(progress=progress).results(family)  # trains, evaluates (final_eval) and caches the one run
    return f"{scope.dataset} {family} seed {scope.seeds[0]}", time.perf_counter() - t


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    p.add_argument("--runs", default=str(REPOSITORY_RUNS), help="the run cache to fill (default: %(default)s)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show each run's training and final evaluation on stderr: bars on a terminal, else a "
                        "line per stage (default: on with --jobs 1; parallel workers would share one line)")
    a = p.parse_args()
    os.environ["ADVSEL_RUNS"] = a.runs  # read by the workers' Scope (advsel.repro.scope.book_runs) and run()
    print(f"run cache: {os.path.abspath(a.runs)}", flush=True)
    progress = a.progress if a.progress is not None else a.jobs == 1
    tasks = [(scope.replace(seeds=(s,)), family, a.threads, progress) for scope, family in book_families(a.profile)
             for s in scope.seeds_of(family)]
    # longest first for a balanced pool (CIFAR-10 DS runs, other CIFAR-10 runs, MNIST); Dong last: it reuses the
    # PGD-AT runs as its pre-training
    tasks.sort(key=lambda t: (t[1] == Family.method("dong"), t[0].dataset != "cifar10",
                              t[1].kind not in ("ds", "warmup", "ablation", "driver") and t[1].name != "ds-adaptive",
                              t[1].name not in AUTOATTACK))
    start = time.perf_counter()
    with mp.get_context("spawn").Pool(a.jobs, maxtasksperchild=8) as pool:
        for i, (name, secs) in enumerate(pool.imap(_work, tasks), 1):
            print(f"[{i}/{len(tasks)}] {name}: {secs:.0f} s (elapsed {time.perf_counter() - start:.0f} s)", flush=True)
    print(f"all {len(tasks)} runs done in {time.perf_counter() - start:.0f} s with {a.jobs} jobs x {a.threads} threads")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
