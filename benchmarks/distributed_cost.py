"""Cost of what crosses ranks per training step: 2 gloo processes on the CPU (advsel.distributed).

    python benchmarks/distributed_cost.py [--model madry-cnn] [--dataset mnist] [--batch-size 100]
                                          [--reps 100]

Two processes (torch.multiprocessing, a file rendezvous, one thread each) time, as the
median over ``--reps`` repetitions on rank 0:

1. each collective the trainer issues per step, on its real payload for a global batch
   of ``--batch-size`` (b'): DDP's gradient all-reduce (one flat all-reduce of every
   parameter; DDP buckets it and overlaps it with the backward pass), the one-float
   finiteness all-reduce, CAT's two all-gathers (b' indices, b' gains), DS's all-gather
   of the 2b' losses and the stability tracker's all-gather (b' index/flag pairs);
2. a training step's forward + backward of the model on b'/2 samples per rank through
   DDP, with the gradient all-reduce (``sync``) and without it (``no_sync``): the
   difference is what the all-reduce adds to a step after the overlap.

Then the sum per method.  The images are random; only sizes matter here.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP

from advsel.data import MEAN_STD
from advsel.models import build_model

SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


def _median_us(fn: Callable[[], object], reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        dist.barrier()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def _worker(rank: int, init: str, args: argparse.Namespace, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init}", rank=rank, world_size=2)
    torch.manual_seed(0)
    shape = SHAPES[args.dataset]
    model = build_model(args.model, shape, 10, *MEAN_STD[args.dataset])
    n_params = sum(p.numel() for p in model.parameters())
    b, m = args.batch_size, args.batch_size // 2
    grads = torch.zeros(n_params)
    idx, gain, losses = torch.arange(m), torch.rand(m), torch.rand(2 * m)
    pairs = torch.zeros(m, 2, dtype=torch.long)
    flag = torch.zeros(1)

    def gather(t: torch.Tensor) -> None:
        dist.all_gather([torch.empty_like(t) for _ in range(2)], t)

    rows = {
        "gradient all-reduce": (f"{n_params:,} float32", lambda: dist.all_reduce(grads)),
        "finiteness all-reduce": ("1 float32", lambda: dist.all_reduce(flag)),
        "CAT all-gathers": (f"{b} int64 + {b} float32", lambda: (gather(idx), gather(gain))),
        "DS loss all-gather": (f"{2 * b} float32", lambda: gather(losses)),
        "stability all-gather": (f"{b} x 2 int64", lambda: gather(pairs)),
    }
    cost = {name: (payload, _median_us(fn, args.reps)) for name, (payload, fn) in rows.items()}

    ddp = DDP(model)
    x, y = torch.rand(m, *shape), torch.randint(0, 10, (m,))

    def step() -> None:
        ddp.zero_grad(set_to_none=True)
        F.cross_entropy(ddp(x), y).backward()

    def step_no_sync() -> None:
        with ddp.no_sync():
            step()

    steps = (_median_us(step, max(args.reps // 5, 5)), _median_us(step_no_sync, max(args.reps // 5, 5)))
    if rank == 0:
        torch.save({"cost": cost, "steps": steps}, out)
    dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="madry-cnn")
    parser.add_argument("--dataset", default="mnist", choices=tuple(SHAPES))
    parser.add_argument("--batch-size", type=int, default=100, help="global b'")
    parser.add_argument("--reps", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "out.pt")
        mp.spawn(_worker, args=(str(Path(tmp) / "rendezvous"), args, out), nprocs=2, join=True)
        res = torch.load(out, weights_only=True)
    cost, (sync, no_sync) = res["cost"], res["steps"]
    print(f"2 gloo processes, {args.model} on {args.dataset}-sized inputs, global b' = {args.batch_size}, "
          f"median of {args.reps} reps (microseconds)\n")
    print(f"{'collective':<24}{'payload':<28}{'us':>10}")
    for name, (payload, us) in cost.items():
        print(f"{name:<24}{payload:<28}{us:>10.0f}")
    print(f"\nforward + backward of b'/2 per rank through DDP: {sync:.0f} us with the all-reduce, "
          f"{no_sync:.0f} us without (no_sync): the all-reduce adds {sync - no_sync:.0f} us")
    base = cost["gradient all-reduce"][1] + cost["finiteness all-reduce"][1]
    extra = {"robust, standard, random, dong": 0.0, "cat": cost["CAT all-gathers"][1],
             "ds, ds-adaptive": cost["DS loss all-gather"][1],
             "ds-cat": cost["DS loss all-gather"][1] + cost["CAT all-gathers"][1],
             "robust as Dong's pre-training": cost["stability all-gather"][1]}
    print(f"\nper step, collectives in isolation: gradient + finiteness = {base:.0f} us, plus per method:")
    for name, us in extra.items():
        print(f"  {name:<32}+{us:>7.0f} us")


if __name__ == "__main__":
    main()
