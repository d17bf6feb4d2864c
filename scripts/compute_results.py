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


def _work(args: tuple[str, str, str, int, int]) -> tuple[str, float]:
    import torch

    from advsel.experiments import run
    from advsel.reproduce import configs

    family, dataset, profile, seed, threads = args
    torch.set_num_threads(threads)
    t = time.perf_counter()
    (config,) = configs(family, profile, dataset, seeds=(seed,))
    run(config, progress=False)
    return f"{dataset} {family} seed {seed}", time.perf_counter() - t


def main() -> int:
    from advsel.reproduce import book_families

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    a = p.parse_args()
    fams = book_families(a.profile)
    tasks = [(f, d, a.profile, s, a.threads) for f, d, seeds in fams for s in seeds]
    # longest (CIFAR-10) first for a balanced pool; Dong last: it reuses the PGD-AT runs
    tasks.sort(key=lambda t: (t[1] != "cifar10", t[0] == "dong"))
    start = time.perf_counter()
    with mp.get_context("spawn").Pool(a.jobs, maxtasksperchild=8) as pool:
        for i, (name, secs) in enumerate(pool.imap(_work, tasks), 1):
            print(f"[{i}/{len(tasks)}] {name}: {secs:.0f} s (elapsed {time.perf_counter() - start:.0f} s)", flush=True)
    print(f"all {len(tasks)} runs done in {time.perf_counter() - start:.0f} s with {a.jobs} jobs x {a.threads} threads")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
