"""Every number the book's verdicts and tables use, computed in one place.

A verdict and the table printed above it call the same function here, so they cannot
disagree.  Inputs are result dictionaries (``epochs``, ``evals``, ``config`` ...) as the
run cache holds them; accuracies stay fractions (tables turn them into percent).
Nothing here imports pandas or plots (numpy only).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..analysis import time_to_accuracy

Result = dict[str, Any]
Runs = Mapping[Any, Sequence[Result]]

ADAPTIVE_DRIVER = {"train": "train_acc", "clean": "clean_acc", "robust": "robust_acc"}  # record key per reading
PASS_KINDS = ("attack_forward", "attack_backward", "train_forward", "train_backward")
COSTS = {"train_time_s": "training time (s)", "f2b": "sample passes, forward + 2 x backward", "step": "iteration"}


# ---------------------------------------------------------------------------- seeds
def final(rs: Sequence[Result], metric: str) -> list[float]:
    """The last epoch's ``metric`` of each run."""
    return [r["epochs"][-1][metric] for r in rs]


def mean_sd(xs: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def difference(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Mean of a minus mean of b, and its standard error (Welch; 0 with one seed each)."""
    ma, sa = mean_sd(a)
    mb, sb = mean_sd(b)
    se = math.sqrt(sa**2 / len(a) + sb**2 / len(b))
    return ma - mb, se


def per_epoch(rs: Sequence[Result], key: str) -> list[list[Any]]:
    """Each run's per-epoch record ``key`` (e.g. ``p_up``), one list per run."""
    return [[e[key] for e in r["epochs"]] for r in rs]


def epoch_means(rs: Sequence[Result], metrics: Sequence[str]) -> dict[int, dict[str, float]]:
    """Per epoch, the mean over runs of each of ``metrics`` (accuracies as fractions).

    A record without a metric, or with NaN (e.g. an epoch without a probed sample), is
    left out of that metric's mean; a metric no epoch records is left out altogether.
    """
    present = [m for m in metrics if any(m in e for r in rs for e in r["epochs"])]
    out: dict[int, dict[str, float]] = {}
    for ep in sorted({e["epoch"] for r in rs for e in r["epochs"]}):
        recs = [e for r in rs for e in r["epochs"] if e["epoch"] == ep]
        out[ep] = {}
        for m in present:
            vals = [e[m] for e in recs if m in e and not _nan(e[m])]
            out[ep][m] = statistics.fmean(vals) if vals else math.nan
    return out


def _nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def adaptive_driver(config: Mapping[str, Any]) -> str:
    """The per-epoch record key of the accuracy that drives DS eq. (9) in a run of ``config``."""
    return ADAPTIVE_DRIVER[config["adaptive_accuracy"]]


def selected_counts(rs: Sequence[Result], epoch_index: int) -> list[tuple[float, float]]:
    """(selected clean, selected adversarial) per batch of each run at one epoch (0 first, -1 last)."""
    return [(r["epochs"][epoch_index]["selected_clean"], r["epochs"][epoch_index]["selected_adv"]) for r in rs]


def first_last_thirds(rs: Sequence[Result], key: str) -> tuple[list[float], list[float]]:
    """Per run, the mean of per-epoch ``key`` over the first and over the last third of the epochs.

    NaN epochs (no probed sample) are skipped; a run without a value in either third is
    left out of both lists.
    """
    firsts, lasts = [], []
    for r in rs:
        v = [e.get(key, math.nan) for e in r["epochs"]]
        k = max(1, len(v) // 3)
        head, tail = [x for x in v[:k] if math.isfinite(x)], [x for x in v[-k:] if math.isfinite(x)]
        if head and tail:
            firsts.append(statistics.fmean(head))
            lasts.append(statistics.fmean(tail))
    return firsts, lasts


def similarity_records(runs: Runs, gap: str = "step") -> list[dict[str, Any]]:
    """One record per (label, seed, epoch) of the similarity probe for ``gap`` (``step`` or ``epoch``).

    Fields: method (the label), seed, epoch, the cosine summary (``mean``, ``q10`` ...
    ``q90``) and the attack success rates ``asr_before`` / ``asr_after`` (fractions) at the
    earlier and the later iteration.  Epochs without a measurement have no record.
    """
    if gap not in ("step", "epoch"):
        raise ValueError(f"gap={gap!r} is not allowed; choose one of: step, epoch")
    return [{"method": label, "seed": r["config"]["seed"], "epoch": e["epoch"], **m["cosine"],
             "asr_before": m["asr_before"], "asr_after": m["asr_after"]}
            for label, rs in runs.items() for r in rs for e in r["epochs"]
            if (m := e.get(f"similarity_{gap}")) is not None]


# ---------------------------------------------------------------------------- cost
def cost(e: Mapping[str, Any], x: str = "train_time_s") -> float:
    """The cost of an evaluation record: ``train_time_s`` (seconds of attack + training, evaluation
    excluded), ``f2b`` (forward + 2 x backward sample passes, a backward pass costing about
    two forward passes; machine-independent and free of timing noise) or ``step`` (iterations)."""
    if x in ("train_time_s", "step"):
        return e[x]
    if x == "f2b":
        return e["forward_passes"] + 2 * e["backward_passes"]
    raise ValueError(f"x={x!r} is not allowed; choose one of: {', '.join(COSTS)}")


def total_cost(r: Result) -> dict[str, float]:
    """Training time (attack + training passes, evaluation excluded) and sample passes, pre-training included."""
    pre = r.get("pretrain") or {}
    return {"train_time_s": r["train_time_s"] + pre.get("train_time_s", 0.0),
            "forward_passes": sum(e["forward_passes"] for e in r["epochs"]) + pre.get("forward_passes", 0),
            "backward_passes": sum(e["backward_passes"] for e in r["epochs"]) + pre.get("backward_passes", 0),
            "train_backward": sum(e["train_backward"] for e in r["epochs"])}


def total_costs(rs: Sequence[Result], key: str = "train_time_s") -> list[float]:
    """:func:`total_cost`'s ``key`` of each run."""
    return [total_cost(r)[key] for r in rs]


def cost_split(r: Result) -> dict[str, float]:
    """Sample passes by kind (:data:`PASS_KINDS`) and training time by phase, pre-training included.

    ``time_attack_s`` + ``time_train_s`` is :func:`total_cost`'s ``train_time_s``.  A Dong
    et al. result records only its pre-training's totals, so the split of the pre-training
    is read from that run's own cached result (the PGD-AT run of the same settings).
    """
    from ..config import config_from_dict
    from ..experiments import pretrain_config
    from ..runs import load_result, result_path

    parts = [r]
    if r.get("pretrain"):
        cfg = pretrain_config(config_from_dict(r["config"]))
        pre = load_result(result_path(cfg), cfg)
        if pre is None or pre["key"] != r["pretrain"]["key"]:
            raise FileNotFoundError(f"the pre-training run {r['pretrain']['key']} of this Dong et al. result is not "
                                    f"in the run cache ({result_path(cfg)}); compute it with Scope.results")
        parts.append(pre)
    keys = (*PASS_KINDS, "time_attack_s", "time_train_s")
    return {k: sum(e[k] for p in parts for e in p["epochs"]) for k in keys}


def end_summary(rs: Sequence[Result]) -> dict[str, float]:
    """Means over runs at the last evaluation: clean / robust accuracy, training time, passes F + 2B."""
    last = [r["evals"][-1] for r in rs]
    return {"clean_acc": statistics.fmean(e["clean_acc"] for e in last),
            "robust_acc": statistics.fmean(e["robust_acc"] for e in last),
            "train_time_s": statistics.fmean(e["train_time_s"] for e in last),
            "f2b": statistics.fmean(cost(e, "f2b") for e in last)}


# ---------------------------------------------------------------------------- time to a level
@dataclass(frozen=True)
class LevelStats:
    """How the runs of one method reached an accuracy level: each hit (see ``time_to_accuracy``)."""

    level: float
    runs: int
    hits: tuple[dict[str, float], ...]

    @property
    def reached(self) -> int:
        """How many runs reached the level."""
        return len(self.hits)

    @property
    def all_reached(self) -> bool:
        return self.reached == self.runs

    def mean(self, key: str = "time_s") -> float | None:
        """Mean of ``key`` (``time_s``, ``step``, ``epoch``, ``forward_passes``, ``backward_passes`` or
        ``f2b``) over the runs that reached the level; None when none did."""
        vals = [cost(h, "f2b") if key == "f2b" else h[key] for h in self.hits]
        return statistics.fmean(vals) if vals else None


def level_stats(rs: Sequence[Result], level: float, metric: str = "robust_acc") -> LevelStats:
    """When each run first reached ``level`` of ``metric`` (training time, passes, step, epoch)."""
    hits = (time_to_accuracy(r, [level], metric)[level] for r in rs)
    return LevelStats(level, len(rs), tuple(h for h in hits if h is not None))


def time_to_level(rs: Sequence[Result], level: float, metric: str = "robust_acc") -> float | None:
    """Mean training time until ``metric`` reaches ``level`` (None if some run never does)."""
    s = level_stats(rs, level, metric)
    return s.mean() if s.all_reached else None


def best_mean(rs: Sequence[Result], metric: str) -> float:
    """The mean over runs of each run's best evaluation of ``metric``."""
    return statistics.fmean(max(e[metric] for e in r["evals"]) for r in rs)


def relative_levels(groups: Iterable[Sequence[Result]], metric: str, fractions: Sequence[float]) -> list[float]:
    """``fractions`` of the lowest :func:`best_mean` over ``groups``, rounded to 0.001, so every group
    reaches them on average."""
    best = min(best_mean(rs, metric) for rs in groups)
    return [round(f * best, 3) for f in fractions]


def sampling_level(runs: Runs, metric: str = "robust_acc", fraction: float = 0.8) -> float:
    """The level of CAT Figs. 2-3's verdict: ``fraction`` of the lowest best ``metric`` (mean over seeds)
    over the sampling numbers."""
    return relative_levels(runs.values(), metric, [fraction])[0]


@dataclass(frozen=True)
class Speedup:
    """AT and CAT at one accuracy level."""

    level: float
    at: LevelStats
    cat: LevelStats

    @property
    def ratio(self) -> float | None:
        """AT time / CAT time, given only where every run of both methods reached the level."""
        if not (self.at.all_reached and self.cat.all_reached):
            return None
        return self.at.mean() / self.cat.mean()


def speedup_rows(at: Sequence[Result], cat: Sequence[Result], levels: Sequence[float],
                 metric: str) -> list[Speedup]:
    """:class:`Speedup` of CAT over AT at each level."""
    return [Speedup(lv, level_stats(at, lv, metric), level_stats(cat, lv, metric)) for lv in levels]


def speedups(at: Sequence[Result], cat: Sequence[Result], metric: str,
             fractions: Sequence[float] = (0.5, 0.7, 0.9)) -> tuple[list[float], list[Speedup]]:
    """Levels both methods reach (fractions of the lower of their best mean accuracies) and AT/CAT at each."""
    levels = relative_levels((at, cat), metric, fractions)
    return levels, speedup_rows(at, cat, levels, metric)


# ---------------------------------------------------------------------------- equal budgets
def accuracy_at_time(result: Result, budget: float, metric: str = "robust_acc", interpolate: bool = False,
                     x: str = "train_time_s") -> float:
    """``metric`` a run had reached within a budget of training cost ``x`` (default seconds, see :func:`cost`).

    ``interpolate=False``: the last evaluation at or before the budget (what one would
    have in hand when stopping there).  ``interpolate=True``: linear between the
    evaluations around the budget.  A budget beyond the end of the run gives the final
    evaluation (training is over); a budget before the first evaluation gives NaN.
    """
    if metric not in ("clean_acc", "robust_acc"):
        raise ValueError(f"metric={metric!r} is not allowed; choose one of: clean_acc, robust_acc")
    ev = result["evals"]
    if not ev:
        return math.nan
    t = [cost(e, x) for e in ev]
    if budget < t[0]:
        return math.nan
    if budget >= t[-1]:
        return ev[-1][metric]
    if interpolate:
        return float(np.interp(budget, t, [e[metric] for e in ev]))
    return next(e for e, te in zip(reversed(ev), reversed(t), strict=True) if te <= budget)[metric]


def common_budget(runs: Runs, x: str = "train_time_s") -> float:
    """The cost ``x`` at which the fastest-finishing method ended (mean over its seeds).

    Every method has trained at least that long on average, so accuracies within this
    budget compare methods on equal training cost.
    """
    return min(statistics.fmean(cost(r["evals"][-1], x) for r in rs) for rs in runs.values())


def at_budget(runs: Runs, budget: float, metric: str = "robust_acc", interpolate: bool = False,
              x: str = "train_time_s") -> dict[Any, list[float]]:
    """Per method, each run's ``metric`` (fraction) within ``budget`` (:func:`accuracy_at_time`; NaN dropped)."""
    out = {}
    for label, rs in runs.items():
        vals = [accuracy_at_time(r, budget, metric, interpolate, x) for r in rs]
        out[label] = [v for v in vals if not math.isnan(v)]
    return out
