"""Is the CPU fast path (bf16 autocast + channels-last) equivalent to fp32 training?

    python benchmarks/fast_path_equivalence.py [--profile cpu] [--dataset mnist] [--seeds 0 1 2]
                                               [--jobs 2] [--threads 1] [--cache-dir build/fast-path-runs]

Trains PGD-AT (``robust``) and DS (P_up = 0.5) at the same seeds twice, once in fp32 with
contiguous tensors and once with ``amp`` (bf16 autocast for the attack, DS's scoring pass,
the training pass and the evaluation attack's steps) and ``channels_last``, and prints the
final clean and robust accuracy of each run.

The test: per method and metric, the paired difference fast - fp32 over seeds, its mean
with a 95 % paired-t interval, and the seed spread (sample standard deviation of the
fp32 runs).  The fast path counts as equivalent when the mean paired difference is
smaller in magnitude than the seed spread, i.e. switching precision moves the result by
less than changing the seed does.  Runs are cached in ``--cache-dir`` (resumable).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time
from typing import Any

import torch

from advsel.config import make_config
from advsel.experiments import run

T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
METHODS = (("robust", {}), ("ds", {"p_up": 0.5}))
PRECISIONS = {"fp32": {"amp": False, "channels_last": False}, "fast": {"amp": True, "channels_last": True}}


def _work(task: tuple[dict[str, Any], str, int]) -> tuple[dict[str, Any], float]:
    kwargs, cache, threads = task
    torch.set_num_threads(threads)
    t = time.perf_counter()
    result = run(make_config(**kwargs), cache, progress=False)
    return result, time.perf_counter() - t


def paired(fast: list[float], fp32: list[float]) -> dict[str, float]:
    """Mean paired difference (points), its 95 % t half-width, and the fp32 seed spread (points)."""
    d = [100 * (a - b) for a, b in zip(fast, fp32, strict=True)]
    n = len(d)
    half = T_975[n - 1] * statistics.stdev(d) / n**0.5 if n > 1 else float("nan")
    spread = 100 * statistics.stdev(fp32) if n > 1 else float("nan")
    return {"diff": statistics.fmean(d), "half": half, "spread": spread}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    p.add_argument("--cache-dir", default="build/fast-path-runs")
    a = p.parse_args()
    tasks = [(dict(profile=a.profile, dataset=a.dataset, method=m, seed=s, device="cpu", **extra, **prec),
              a.cache_dir, a.threads)
             for m, extra in METHODS for prec in PRECISIONS.values() for s in a.seeds]
    with mp.get_context("spawn").Pool(a.jobs) as pool:
        done = pool.map(_work, tasks)
    finals: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for (kwargs, _, _), (result, secs) in zip(tasks, done, strict=True):
        prec = "fast" if kwargs["amp"] else "fp32"
        finals.setdefault((kwargs["method"], prec), []).append({**result["epochs"][-1], "wall_s": secs,
                                                                 "train_s": result["train_time_s"]})
    r0 = done[0][0]
    print(f"profile={a.profile} dataset={a.dataset} model={r0['config']['model']} epochs={r0['config']['epochs']} "
          f"seeds={a.seeds} test samples={r0['test_size']} eval PGD-{r0['config']['eval_steps']} "
          f"jobs={a.jobs} x threads={a.threads} hardware={r0['hardware']}")
    print("| method | metric | fp32 per seed (%) | fast per seed (%) | fast - fp32 (points, 95% paired-t) "
          "| seed spread fp32 (sd, points) | equivalent |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for method, extra in METHODS:
        name = method + (f" P_up={extra['p_up']}" if extra else "")
        for metric in ("clean_acc", "robust_acc"):
            f32 = [e[metric] for e in finals[(method, "fp32")]]
            fast = [e[metric] for e in finals[(method, "fast")]]
            s = paired(fast, f32)
            ok = abs(s["diff"]) < s["spread"]
            print(f"| {name} | {metric.split('_')[0]} | {', '.join(f'{100 * x:.1f}' for x in f32)} | "
                  f"{', '.join(f'{100 * x:.1f}' for x in fast)} | {s['diff']:+.2f} ± {s['half']:.2f} | "
                  f"{s['spread']:.2f} | {'yes' if ok else 'no'} |")
    for method, _ in METHODS:
        t32 = statistics.fmean(e["train_s"] for e in finals[(method, "fp32")])
        tf = statistics.fmean(e["train_s"] for e in finals[(method, "fast")])
        print(f"{method}: mean training time fp32 {t32:.1f} s, fast {tf:.1f} s, ratio {t32 / tf:.2f}x "
              f"(runs in parallel, {a.jobs} jobs: a rough figure; benchmarks/selection_cost.py times side by side)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
