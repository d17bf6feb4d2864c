"""Cost of one training step per method, fp32 beside the fast path, measured side by side in one process.

    python benchmarks/selection_cost.py [--profile cpu] [--dataset mnist] [--steps 20] [--device auto]
                                        [--repeats 3]

Three tables, all measured in this one run:

1. Per method, ms per training step in fp32 (contiguous tensors) and on the fast path
   (bf16 autocast + channels-last), the ratio fp32 / fast, and the forward and backward
   *sample* passes per step (an attack step on b' samples counts b' forward and b'
   backward passes).  fp32 and fast are interleaved ``--repeats`` times per method and
   the median is printed, so a load change on the machine hits both alike.
2. Each method against its pass-count floor: the step time its passes would cost at the
   unit prices of a bare forward pass and a bare forward + input-gradient pass of the
   same model and batch (measured here, per precision).  ``step / floor`` near 1 means
   the method spends its time in the passes it counts; above 1 is overhead (selection,
   sampling, optimizer, augmentation).
3. ``advsel.attacks.pgd`` against torchattacks' ``PGD`` on the same model, batch, eps,
   alpha and steps (random start): torchattacks runs in fp32 (it has no autocast);
   advsel in fp32 and in bf16 autocast.

The attack dominates a PGD-AT step, which is why DS's Table I shows only a small saving.
Whole-step times on a shared 2-core machine are noisy; the pass counts are exact.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from advsel.attacks import pgd
from advsel.config import Config, make_config
from advsel.epoch import EpochStats
from advsel.experiments import dataset
from advsel.provenance import hardware
from advsel.trainer import Trainer

METHODS = [("standard", {}), ("robust", {}), ("ds", {"p_up": 1.0}), ("ds", {"p_up": 0.5}), ("ds", {"p_up": 0.25}),
           ("random", {"p_up": 0.5}), ("cat", {}), ("ds-cat", {"p_up": 0.5})]
PRECISIONS = {"fp32": {"amp": False, "channels_last": False}, "fast": {"amp": True, "channels_last": True}}


class StepTimer:
    """A trainer for one config whose steps can be timed in short bursts, interleaved with others."""

    def __init__(self, config: Config) -> None:
        self.trainer = tr = Trainer(config, dataset(config.dataset), progress=False)
        tr.warm_up()
        self.stats = EpochStats.start(tr.device)
        self.batches = itertools.chain.from_iterable(tr.sampler.batches(e) for e in itertools.count())
        tr.train_step(next(self.batches), self.stats)  # one untimed step
        self.times: list[float] = []
        self.steps = 0
        self.passes0 = dict(tr.passes)

    def burst(self, steps: int) -> None:
        tr = self.trainer
        start = tr.clock.now()
        for _ in range(steps):
            tr.train_step(next(self.batches), self.stats)
        self.times.append((tr.clock.now() - start) / steps)
        self.steps += steps

    def per_step(self) -> dict[str, float]:
        p = {k: (v - self.passes0[k]) / self.steps for k, v in self.trainer.passes.items()}
        return {"step_s": statistics.median(self.times), **p,
                "fwd": p["attack_forward"] + p["train_forward"], "bwd": p["attack_backward"] + p["train_backward"]}


def _median_time(fn: Callable[[], Any], repeats: int = 5) -> float:
    fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def unit_prices(trainer: Trainer) -> dict[str, float]:
    """Seconds per sample of a bare forward pass and of a forward + input-gradient pass (the PGD unit)."""
    model, c = trainer.model, trainer.config
    idx = trainer.train_indices[: c.batch_size]
    x, y = trainer.train_batch(idx)
    ctx = lambda: torch.autocast("cpu" if x.device.type == "cpu" else "cuda", dtype=torch.bfloat16,  # noqa: E731
                                 enabled=c.amp)

    def fwd() -> None:
        with torch.no_grad(), ctx():
            model(x)

    def fwd_bwd() -> None:
        xr = x.clone().requires_grad_(True)
        with ctx():
            loss = F.cross_entropy(model(xr).float(), y)
        torch.autograd.grad(loss, xr)

    return {"fwd": _median_time(fwd) / len(y), "fwd_bwd": _median_time(fwd_bwd) / len(y)}


def attack_table(config: Config, repeats: int) -> list[tuple[str, float]]:
    """ms per PGD call on one batch: advsel fp32, advsel bf16, torchattacks fp32 (same model, batch, steps)."""
    try:
        import torchattacks
    except ImportError:  # pragma: no cover - optional dependency
        torchattacks = None
    tr = Trainer(config.replace(amp=False, channels_last=False), dataset(config.dataset), progress=False)
    model = tr.model.eval()
    x, y = tr.train_batch(tr.train_indices[: config.batch_size])
    c = config
    rows = [("advsel pgd, fp32", lambda: pgd(model, x, y, eps=c.eps, alpha=c.alpha, steps=c.steps)),
            ("advsel pgd, bf16 autocast", lambda: pgd(model, x, y, eps=c.eps, alpha=c.alpha, steps=c.steps,
                                                      autocast_dtype=torch.bfloat16))]
    if torchattacks is not None:
        atk = torchattacks.PGD(model, eps=c.eps, alpha=c.alpha, steps=c.steps, random_start=True)
        rows.append(("torchattacks PGD, fp32", lambda: atk(x, y)))
    return [(name, _median_time(fn, repeats + 2)) for name, fn in rows]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--steps", type=int, default=20, help="timed steps per method and precision, in --repeats bursts")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="auto")
    a = p.parse_args()
    rows = []
    for method, extra in METHODS:
        timers = {name: StepTimer(make_config(a.profile, a.dataset, method=method, device=a.device, **extra, **prec))
                  for name, prec in PRECISIONS.items()}
        for _ in range(a.repeats):  # interleaved bursts
            for t in timers.values():
                t.burst(max(1, a.steps // a.repeats))
        prices = {name: unit_prices(t.trainer) for name, t in timers.items()}
        name = method + (f" P_up={extra['p_up']}" if "p_up" in extra else "")
        rows.append((name, {k: t.per_step() for k, t in timers.items()}, prices))
    cfg = timers["fp32"].trainer.config
    print(f"profile={a.profile} dataset={a.dataset} model={cfg.model} b'={cfg.batch_size} PGD steps={cfg.steps} "
          f"timed steps={a.steps} in {a.repeats} interleaved bursts; threads={torch.get_num_threads()}; "
          f"hardware={hardware()}")
    print("\n| method | fp32 ms/step | fast ms/step | fp32 / fast | fwd passes/step | bwd passes/step |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, r, _ in rows:
        f, q = r["fp32"], r["fast"]
        print(f"| {name} | {f['step_s'] * 1e3:.1f} | {q['step_s'] * 1e3:.1f} | {f['step_s'] / q['step_s']:.2f}x | "
              f"{q['fwd']:.0f} | {q['bwd']:.0f} |")
    print("\n| method | precision | ms/step | pass-count floor (ms) | step / floor |")
    print("| --- | --- | --- | --- | --- |")
    for name, r, prices in rows:
        for prec in PRECISIONS:
            s, u = r[prec], prices[prec]
            floor = s["bwd"] * u["fwd_bwd"] + (s["fwd"] - s["bwd"]) * u["fwd"]
            print(f"| {name} | {prec} | {s['step_s'] * 1e3:.1f} | {floor * 1e3:.1f} | {s['step_s'] / floor:.2f} |")
    base = make_config(a.profile, a.dataset, method="robust", device=a.device)
    print(f"\nPGD on one batch of {base.batch_size} ({base.steps} steps, eps={base.eps:.4g}, alpha={base.alpha:.4g}, "
          "random start), median of repeated calls:")
    att = attack_table(base, a.repeats)
    ref = dict(att).get("torchattacks PGD, fp32")
    print("| attack | ms per call | samples/s | vs torchattacks |")
    print("| --- | --- | --- | --- |")
    for name, secs in att:
        print(f"| {name} | {secs * 1e3:.1f} | {base.batch_size / secs:.0f} | "
              f"{(ref / secs if ref else float('nan')):.2f}x |")


if __name__ == "__main__":
    main()
