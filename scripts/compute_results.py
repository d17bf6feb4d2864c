"""Compute every run the book uses, in parallel worker processes, into the run cache.

    python scripts/compute_results.py [--profile cpu] [--jobs 2] [--threads 1]

Runs already complete in the cache are skipped; interrupted ones resume from their
checkpoints.  Dong et al.'s runs come last because they reuse the PGD-AT runs as
pre-training.  Prints the wall time at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time

from advsel.repro import Family, Scope, book_families


def _work(args: tuple[Scope, Family, int]) -> tuple[str, float]:
    """Compute (or resume) the one run of ``family`` in a one-seed ``scope``."""
    import torch

    from advsel.experiments import run

    scope, family, threads = args
    torch.set_num_threads(threads)
    t = time.perf_counter()
    (config,) = scope.configs(family)
    run(config, progress=False)
    return f"{scope.dataset} {family} seed {scope.seeds[0]}", time.perf_counter() - t


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    a = p.parse_args()
    tasks = [(scope.replace(seeds=(s,)), family, a.threads) for scope, family in book_families(a.profile)
             for s in scope.seeds]
    # longest (CIFAR-10) first for a balanced pool; Dong last: it reuses the PGD-AT runs
    tasks.sort(key=lambda t: (t[0].dataset != "cifar10", t[1] == Family.method("dong")))
    start = time.perf_counter()
    with mp.get_context("spawn").Pool(a.jobs, maxtasksperchild=8) as pool:
        for i, (name, secs) in enumerate(pool.imap(_work, tasks), 1):
            print(f"[{i}/{len(tasks)}] {name}: {secs:.0f} s (elapsed {time.perf_counter() - start:.0f} s)", flush=True)
    print(f"all {len(tasks)} runs done in {time.perf_counter() - start:.0f} s with {a.jobs} jobs x {a.threads} threads")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
