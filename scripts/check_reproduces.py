"""Retrain committed runs of the book at this commit and compare them with the committed results, bit for bit.

    python scripts/check_reproduces.py [--family cifar10:standard ...] [--seeds 0 ...] [--all] [--jobs 2]

Each chosen run (a family of ``advsel.repro.book_families`` at ``--profile``, written
``dataset:family``, at each of ``--seeds``) is trained and evaluated into a fresh run
cache exactly as ``scripts/compute_results.py`` computes it, with the torch thread count
the committed run recorded (``hardware.cpu_threads``: the bits depend on it), then
compared with the file of the same key in ``--runs`` by
:func:`advsel.runs.result_differences`: everything the run computed (losses, accuracies,
pass counts, selections, final evaluations, AutoAttack) must be equal; wall times and the
machine are left out.  Prints one line per run and exits 1 when any differs or is
missing from ``--runs``.  The default, PGD-AT and standard training on CIFAR-10 at seed 0,
takes about 2-3 minutes on two cores; ``--all`` retrains every run (the full rerun's hour).

Bits are expected to match on the same torch build and CPU kind as the committed results
(their ``hardware`` field); another CPU or torch may round differently, and a run's
floating-point drift then grows over its epochs.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time

from advsel.repro import Family, Scope, book_families
from advsel.repro.scope import REPOSITORY_RUNS
from advsel.runs import load_result, result_differences, result_path

DEFAULT = ("cifar10:robust", "cifar10:standard")


def choose(profile: str, names: list[str], seeds: list[int] | None) -> list[tuple[Scope, Family, int]]:
    """The (one-seed scope, family, seed) of each chosen run, in the book's order; ``names`` empty: all of them.

    Raises ValueError naming ``--family`` or ``--seeds`` for a run the book does not have."""
    families = {f"{scope.dataset}:{family}": (scope, family) for scope, family in book_families(profile)}
    unknown = [n for n in names if n not in families]
    if unknown:
        raise ValueError(f"--family {', '.join(unknown)}: not a run family of the book at profile {profile!r}; "
                         f"one of {', '.join(sorted(families))}")
    runs = []
    for name in names or list(families):
        scope, family = families[name]
        have = scope.seeds_of(family)
        wanted = have if seeds is None else tuple(seeds)
        missing = [s for s in wanted if s not in have]
        if missing and names:
            raise ValueError(f"--seeds {', '.join(map(str, missing))}: {name} runs with seeds "
                             f"{', '.join(map(str, have))} only")
        runs += [(scope.replace(seeds=(s,)), family, s) for s in wanted if s in have]
    return sorted(runs, key=lambda r: r[1] == Family.method("dong"))  # last: it reads PGD-AT as its pre-training


def _work(args: tuple[Scope, Family, int, str, str]) -> tuple[str, list[str]]:
    """Train ``family`` at ``seed`` into ``fresh`` and compare it with its file in ``committed``."""
    import torch

    scope, family, seed, fresh, committed = args
    os.environ["ADVSEL_RUNS"] = fresh  # read by Scope's loader (advsel.repro.scope.book_runs)
    label = f"{scope.dataset}:{family} seed {seed}"
    config = scope.configs(family)[0]
    old = load_result(result_path(config, committed), config)
    if old is None:
        return label, [f"no committed result {result_path(config, committed).name} in {committed}"]
    threads = int(old.get("hardware", {}).get("cpu_threads", 1))
    torch.set_num_threads(threads)  # the CPU kernels' reduction order, and so the bits, depend on it
    label += f" ({threads} thread{'s' if threads > 1 else ''})"
    scope.results(family)  # trains and evaluates it into ``fresh``
    new = load_result(result_path(config, fresh), config)  # as written to disk, like the committed one
    return label, result_differences(old, new or {})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--family", nargs="+", default=None, metavar="DATASET:FAMILY",
                   help=f"the run families to retrain (default: {' '.join(DEFAULT)})")
    p.add_argument("--seeds", nargs="+", type=int, default=None,
                   help="their seeds (default: 0, or every seed of each family with --all)")
    p.add_argument("--all", action="store_true", help="every run of the book (about an hour on two cores)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--runs", default=str(REPOSITORY_RUNS), help="the committed results (default: %(default)s)")
    a = p.parse_args(argv)
    if a.all and a.family:
        p.error("--all and --family exclude each other: --all retrains every family")
    if a.jobs < 1:
        p.error(f"--jobs {a.jobs}: use 1 or more worker processes")
    try:
        runs = choose(a.profile, [] if a.all else (a.family or list(DEFAULT)),
                      a.seeds if a.seeds is not None or a.all else [0])
    except ValueError as e:
        p.error(str(e))
    with tempfile.TemporaryDirectory(prefix="advsel-reproduce-") as fresh:
        start, failed = time.perf_counter(), 0
        tasks = [(scope, family, seed, fresh, a.runs) for scope, family, seed in runs]
        with mp.get_context("spawn").Pool(a.jobs) as pool:
            for label, diffs in pool.imap(_work, tasks):
                failed += bool(diffs)
                print(f"{label}: " + ("identical" if not diffs else f"DIFFERS in {len(diffs)} field(s): "
                                      + "; ".join(diffs[:5]) + (" ..." if len(diffs) > 5 else "")), flush=True)
    print(f"{len(runs) - failed} of {len(runs)} runs reproduced bit for bit in {time.perf_counter() - start:.0f} s "
          f"({a.jobs} jobs)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
