"""Cost of one training step per method, measured side by side in one process.

    python benchmarks/selection_cost.py [--profile cpu] [--dataset mnist] [--steps 20] [--device auto]

Prints, per method, the wall time per step (split into attack and training passes) and
the forward and backward *sample* passes per step (an attack step on b' samples counts
b' forward and b' backward passes), with ratios to PGD-AT (``robust``).  The saving of
DS is visible in the backward passes of the training pass; the attack dominates the
total, which is why DS's Table I shows only a small saving in time.
"""

from __future__ import annotations

import argparse
import itertools
import time

import torch

from advsel.config import make_config
from advsel.experiments import dataset
from advsel.trainer import Trainer, hardware

METHODS = [("standard", {}), ("robust", {}), ("ds", {"p_up": 1.0}), ("ds", {"p_up": 0.5}), ("ds", {"p_up": 0.25}),
           ("random", {"p_up": 0.5}), ("cat", {}), ("ds-cat", {"p_up": 0.5})]


def measure(config, steps: int) -> dict[str, float]:
    """Time ``steps`` training steps after one untimed warm-up step."""
    tr = Trainer(config, dataset(config.dataset), progress=False)
    tr.warm_up()
    stats = {"time_attack_s": 0.0, "time_train_s": 0.0, "time_eval_s": 0.0, "steps": 0,
             "loss_sum": torch.zeros(()), "n_selected": 0, "correct": torch.zeros(()),
             "selected_clean": torch.zeros(()), "selected_adv": torch.zeros(()), "scored_correct": torch.zeros(()),
             "scored": 0}
    batches = itertools.chain.from_iterable(tr.sampler.batches(e) for e in itertools.count())
    tr.train_step(next(batches), stats)  # warm-up step, not timed
    p0, a0, t0 = dict(tr.passes), stats["time_attack_s"], stats["time_train_s"]
    start = time.perf_counter()
    for _ in range(steps):
        tr.train_step(next(batches), stats)
    wall = tr.clock.now() - start
    per = {k: (v - p0[k]) / steps for k, v in tr.passes.items()}
    return {"step_s": wall / steps, "attack_s": (stats["time_attack_s"] - a0) / steps,
            "train_s": (stats["time_train_s"] - t0) / steps, **per,
            "fwd": per["attack_forward"] + per["train_forward"], "bwd": per["attack_backward"] + per["train_backward"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--device", default="auto")
    a = p.parse_args()
    rows = []
    for method, extra in METHODS:
        cfg = make_config(a.profile, a.dataset, method=method, device=a.device, **extra)
        rows.append((method + (f" P_up={extra['p_up']}" if "p_up" in extra else ""), measure(cfg, a.steps)))
        cfg_used = cfg
    base = dict(rows)["robust"]
    print(f"profile={a.profile} dataset={a.dataset} model={cfg_used.model} b'={cfg_used.batch_size} "
          f"PGD steps={cfg_used.steps} timed steps={a.steps} hardware={hardware()}")
    print(f"{'method':<18}{'ms/step':>9}{'attack':>9}{'train':>9}{'fwd/step':>10}{'bwd/step':>10}"
          f"{'train fwd':>10}{'train bwd':>10}{'time/AT':>9}{'train bwd/AT':>13}")
    for name, r in rows:
        print(f"{name:<18}{r['step_s'] * 1e3:>9.1f}{r['attack_s'] * 1e3:>9.1f}{r['train_s'] * 1e3:>9.1f}"
              f"{r['fwd']:>10.0f}{r['bwd']:>10.0f}{r['train_forward']:>10.0f}{r['train_backward']:>10.0f}"
              f"{r['step_s'] / base['step_s']:>9.2f}{r['train_backward'] / base['train_backward']:>13.2f}")


if __name__ == "__main__":
    main()
