"""The CIFAR-10 CPU recipe pilot: which training recipe lets PGD-AT learn on two CPU cores.

The book's CIFAR-10 track has to fit its whole rerun in an hour on two cores, so it
trains a small CNN on 4,000 images for 400 steps.  At the first recipe (lr 0.1, no
warm-up) PGD-AT barely trained: training loss 1.97-2.12 against ln 10 = 2.30 and clean
accuracy spread over 14 points between seeds, more than any effect the papers claim.
The pilot trains each recipe of :data:`RECIPES` with PGD-AT and DS at P_up = 1 (the two
methods every DS claim compares), two seeds each, evaluated like every book run
(:func:`advsel.repro.scope.final_spec`), and :func:`pilot_rows` reads off what the
choice rests on: final training loss, clean and PGD accuracy, their spread over the
seeds, and the wall time per run (shown, not deciding).  :func:`chosen_recipe` applies
the rule stated in the README: the smallest clean seed spread of PGD-AT among the recipes
whose PGD-AT ends with a training loss at least :data:`LEARNS_BELOW` below ln 10 and
whose cost per run keeps the full rerun within the hour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..config import Config, make_config
from ..runs import Result

# name -> overrides of the cpu profile's CIFAR-10 settings as they were before the pilot (lr 0.1, no warm-up)
RECIPES: dict[str, dict[str, Any]] = {
    "lr 0.1 (before)": {"lr": 0.1},
    "lr 0.05, warm-up 1": {"lr": 0.05, "lr_warmup_epochs": 1},
    "lr 0.02, warm-up 1": {"lr": 0.02, "lr_warmup_epochs": 1},
    "lr 0.05, warm-up 1, 8k images x 5 epochs": {"lr": 0.05, "lr_warmup_epochs": 1, "train_size": 8000, "epochs": 5},
}
PILOT_METHODS: dict[str, dict[str, Any]] = {"PGD-AT": {"method": "robust"}, "DS P_up 1": {"method": "ds", "p_up": 1.0}}
PILOT_SEEDS = (0, 1)
LEARNS_BELOW = 0.3  # PGD-AT "learns": its last-epoch training loss at least this far below ln C
MAX_SPREAD = 2.0  # the aim: PGD-AT's clean accuracy over the seeds within this many points


def pilot_configs(recipe: str) -> dict[str, list[Config]]:
    """{method label: one config per pilot seed} of ``recipe``, from the cpu profile's CIFAR-10 settings."""
    base = {**RECIPES[recipe]}
    base.setdefault("lr_warmup_epochs", 0)
    out = {}
    for label, method in PILOT_METHODS.items():
        c = make_config("cpu", "cifar10", **{"lr": 0.1, "lr_warmup_epochs": 0, "train_size": 4000, "epochs": 10,
                                            **base, **method})
        out[label] = [c.replace(seed=s) for s in PILOT_SEEDS]
    return out


def _spread(xs: Sequence[float]) -> float:
    return 100 * (max(xs) - min(xs))


def pilot_rows(results: Mapping[str, Mapping[str, Sequence[Result]]]) -> list[dict[str, Any]]:
    """One row per (recipe, method): final training loss (mean and range over the seeds), clean and PGD-20 x 2
    accuracy (%, mean and seed spread), minutes per run (wall, mean)."""
    rows = []
    for recipe, by_method in results.items():
        for label, rs in by_method.items():
            loss = [r["epochs"][-1]["train_loss"] for r in rs]
            clean = [r["final_eval"]["clean_acc"] for r in rs]
            robust = [r["final_eval"]["robust_acc"] for r in rs]
            rows.append({"recipe": recipe, "method": label, "seeds": len(rs),
                         "loss": sum(loss) / len(loss), "loss_min": min(loss), "loss_max": max(loss),
                         "clean": 100 * sum(clean) / len(clean), "clean_spread": _spread(clean),
                         "robust": 100 * sum(robust) / len(robust), "robust_spread": _spread(robust),
                         "minutes": sum(r["total_time_s"] for r in rs) / len(rs) / 60})
    return rows


def learns(row: Mapping[str, Any], classes: int = 10) -> bool:
    """Whether a row's every seed ends with a training loss at least :data:`LEARNS_BELOW` below ln C."""
    return row["loss_max"] <= math.log(classes) - LEARNS_BELOW


def chosen_recipe(rows: Sequence[Mapping[str, Any]], max_minutes: float) -> str | None:
    """The recipe whose PGD-AT learns (:func:`learns`, every seed) with the smallest clean seed spread, among those
    whose runs take at most ``max_minutes`` each; ties go to the cheaper recipe.  None when no recipe learns."""
    at = [r for r in rows if r["method"] == "PGD-AT" and learns(r) and r["minutes"] <= max_minutes]
    if not at:
        return None
    return min(at, key=lambda r: (r["clean_spread"], r["minutes"]))["recipe"]


def markdown(rows: Sequence[Mapping[str, Any]], chosen: str | None) -> str:
    """The pilot table (README): a row per recipe and method, the chosen recipe marked."""
    out = ["| recipe | method | final training loss (seeds) | clean % (spread) | PGD-20 x 2 % (spread) | "
           "min per run |", "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        mark = " **(chosen)**" if r["recipe"] == chosen and r["method"] == "PGD-AT" else ""
        out.append(f"| {r['recipe']}{mark} | {r['method']} | {r['loss']:.2f} ({r['loss_min']:.2f}-{r['loss_max']:.2f})"
                   f" | {r['clean']:.1f} ({r['clean_spread']:.1f}) | {r['robust']:.1f} ({r['robust_spread']:.1f}) | "
                   f"{r['minutes']:.1f} |")
    return "\n".join(out)
