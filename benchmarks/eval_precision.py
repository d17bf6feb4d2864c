"""May the *evaluation* attack run in bf16?  PGD in fp32 vs bf16 on one fixed trained model.

    python benchmarks/eval_precision.py [--dataset mnist] [--profile cpu] [--n 2000] [--steps 20]
                                        [--restarts 1] [--seeds 0 1 2]

Trains one PGD-AT model (fp32, seed 0, the profile's settings), then measures its robust
accuracy on ``--n`` class-balanced test samples under PGD (``--steps``, ``--restarts``,
eps and alpha of the profile's evaluation attack) with the attack's steps in fp32 and in
bf16 autocast.  Both use the same random starts (the global generator is reseeded before
each), and the final prediction on the adversarial images is always made in fp32, so the
only difference is the precision of the attack's gradients.  The rule of the project:
bf16 may be used for evaluation only if it is not weaker, i.e. its robust accuracy is
within 0.5 points of fp32's (and a lower accuracy means a stronger attack).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from advsel.attacks import clean_accuracy, robust_accuracy
from advsel.config import make_config
from advsel.evaluation import test_subset
from advsel.experiments import dataset
from advsel.provenance import hardware
from advsel.trainer import Trainer

TOLERANCE = 0.005  # 0.5 accuracy points


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--profile", default="cpu")
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--restarts", type=int, default=1)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of the attack's random starts")
    a = p.parse_args()
    cfg = make_config(a.profile, a.dataset, method="robust", device="cpu", amp=False, channels_last=False)
    data = dataset(a.dataset)
    t = time.perf_counter()
    trainer = Trainer(cfg, data, progress=False)
    trainer.fit()
    model = trainer.model
    train_s = time.perf_counter() - t
    x, y = test_subset(data, a.n)  # the fixed class-balanced subset every advsel evaluation uses
    eps, alpha = cfg.effective_eval_eps, cfg.effective_eval_alpha
    print(f"{a.dataset}: PGD-AT model ({cfg.model}, {cfg.epochs} epochs, trained in {train_s:.0f} s), "
          f"clean {100 * clean_accuracy(model, x, y):.2f} % on n={len(y)}; attack eps={eps:.4g} alpha={alpha:.4g} "
          f"steps={a.steps} restarts={a.restarts}; threads={torch.get_num_threads()}; {hardware()['processor']}")
    diffs = []
    for seed in a.seeds:
        accs, times = {}, {}
        for name, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
            torch.manual_seed(seed)
            t = time.perf_counter()
            accs[name] = robust_accuracy(model, x, y, eps=eps, alpha=alpha, steps=a.steps, restarts=a.restarts,
                                         autocast_dtype=dtype)
            times[name] = time.perf_counter() - t
        d = 100 * (accs["bf16"] - accs["fp32"])
        diffs.append(d)
        print(f"starts seed {seed}: robust fp32 {100 * accs['fp32']:.2f} %, bf16 {100 * accs['bf16']:.2f} % "
              f"(bf16 - fp32 = {d:+.2f} points); time fp32 {times['fp32']:.1f} s, bf16 {times['bf16']:.1f} s "
              f"({times['fp32'] / times['bf16']:.2f}x)")
    worst = max(abs(d) for d in diffs)
    print(f"mean bf16 - fp32 {statistics.fmean(diffs):+.2f} points, largest |difference| {worst:.2f} points: "
          f"bf16 evaluation {'allowed' if worst <= 100 * TOLERANCE else 'NOT allowed'} "
          f"(rule: within {100 * TOLERANCE:.1f} points for every seed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
