"""Cost of one CAT iteration's sampling work: draw a batch + eq. (4) update, old vs new draw.

    python benchmarks/cat_draw.py [--n 1281167] [--classes 1000] [--batch 256] [--steps 200] [--threads 2]

Defaults are ImageNet-sized (1.28M samples, 1000 classes, b' = 256).  Prints the median
milliseconds per batch of ``draw()``, of ``observe()`` with b' adversarial logits, and of
both, for the Gumbel-top-k draw over all n weights (``draw="gumbel"``, the old draw) and
the per-class sum-trees (``draw="tree"``), with the ratio old / new.  Every drawn batch is
checked to be duplicate-free and class-balanced (b' // C per class, the remainder spread
over distinct classes); the script exits with status 1 if one is not.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from advsel.cat import CATSampler


def make_labels(n: int, classes: int, seed: int = 0) -> torch.Tensor:
    """Labels of n samples spread as evenly as possible over the classes, in random order."""
    g = torch.Generator().manual_seed(seed)
    return (torch.arange(n) % classes)[torch.randperm(n, generator=g)]


def check_batch(batch: torch.Tensor, labels: torch.Tensor, batch_size: int, classes: int) -> str | None:
    """Why the batch breaks the sampler's contract, or None."""
    if len(batch) != batch_size or len(torch.unique(batch)) != batch_size:
        return f"{len(batch)} indices, {len(torch.unique(batch))} distinct; want {batch_size} distinct"
    counts = torch.bincount(labels[batch], minlength=classes)
    per, extra = divmod(batch_size, classes)
    if int(counts.min()) < per or int(counts.max()) > per + (extra > 0) or int((counts == per + 1).sum()) != extra:
        return f"class counts {sorted(set(counts.tolist()))} break b' // C = {per} plus {extra} extra"
    return None


def measure(draw: str, labels: torch.Tensor, args: argparse.Namespace) -> dict[str, float]:
    """Median ms of draw, observe and both over ``args.steps`` timed iterations (after 5 untimed)."""
    t0 = time.perf_counter()
    s = CATSampler(torch.arange(len(labels)), labels, args.batch, seed=0, num_classes=args.classes, draw=draw)
    build_s = time.perf_counter() - t0
    g = torch.Generator().manual_seed(1)
    times: dict[str, list[float]] = {"draw": [], "observe": [], "total": []}
    for step in range(args.steps + 5):
        logits = torch.randn(args.batch, args.classes, generator=g) * 3  # made outside the timed region
        t0 = time.perf_counter()
        idx = s.draw()
        t1 = time.perf_counter()
        s.observe(idx, logits, labels[idx])
        t2 = time.perf_counter()
        problem = check_batch(idx, labels, args.batch, args.classes)
        if problem:
            sys.exit(f"{draw}: batch {step} is not duplicate-free and class-balanced: {problem}")
        if step >= 5:
            for key, dt in (("draw", t1 - t0), ("observe", t2 - t1), ("total", t2 - t0)):
                times[key].append(dt * 1e3)
    return {"build_ms": build_s * 1e3, **{k: statistics.median(v) for k, v in times.items()}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_281_167, help="samples (ImageNet-1k train: 1,281,167)")
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--batch", type=int, default=256, help="b', the global batch drawn per iteration")
    p.add_argument("--steps", type=int, default=200, help="timed iterations per draw method")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    labels = make_labels(args.n, args.classes)
    print(f"n = {args.n:,}, {args.classes} classes, b' = {args.batch}, {args.steps} steps, "
          f"{torch.get_num_threads()} threads; every batch checked duplicate-free and class-balanced")
    old, new = measure("gumbel", labels, args), measure("tree", labels, args)
    print(f"{'median ms per batch':<22}{'gumbel (old)':>14}{'tree (new)':>12}{'old/new':>9}")
    for key in ("draw", "observe", "total"):
        print(f"{key:<22}{old[key]:>14.3f}{new[key]:>12.3f}{old[key] / new[key]:>9.1f}")
    print(f"{'build (once)':<22}{old['build_ms']:>14.1f}{new['build_ms']:>12.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
