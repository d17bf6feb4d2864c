"""Accuracy at equal training cost: what each method reached within the same budget, and the sentence ranking them.

Methods that do more work per epoch end later, so comparing them at the end of training
compares unequal costs.  Here every run is read at the same budget of training time or
sample passes (:func:`accuracy_at_time`), the budgets being shares
(:data:`BUDGET_FRACTIONS`) of the cost at which the fastest-finishing method ended
(:func:`common_budget`).  :func:`budget_ranking` holds the numbers (each method's values,
the ranking, Welch intervals between methods) and :func:`budget_verdict` the one sentence
that the pages and the ledger print from them.  Collapsed runs are left out: a run that
learned nothing is no result.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .costs import cost
from .inference import Interval, welch_interval
from .stats import Result, Runs, collapsed

BUDGET_FRACTIONS = (0.25, 0.5, 1.0)  # budgets: shares of the cost at which the fastest-finishing method ended


def accuracy_at_time(result: Result, budget: float, metric: str = "robust_acc", interpolate: bool = False,
                     x: str = "train_time_s") -> float:
    """``metric`` a run had reached within a budget of training cost ``x`` (default seconds, see
    :func:`~advsel.repro.costs.cost`).

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
    """Per method, each run's ``metric`` (fraction) within ``budget`` (:func:`accuracy_at_time`; NaN dropped).
    Collapsed runs (:func:`~advsel.repro.stats.collapsed`) are left out: a run that learned nothing is no result."""
    out = {}
    for label, rs in runs.items():
        vals = [accuracy_at_time(r, budget, metric, interpolate, x) for r in rs if not collapsed(r)]
        out[label] = [v for v in vals if not math.isnan(v)]
    return out


@dataclass(frozen=True)
class BudgetRanking:
    """The methods at one budget: ``values`` (each run's accuracy, methods with at least one),
    ``means``, ``ranked`` (best first), ``collapsed`` (methods every run of which collapsed) and
    ``missing`` (methods with no evaluation yet within the budget)."""

    budget: float
    metric: str
    x: str
    values: dict[Any, list[float]]
    means: dict[Any, float]
    ranked: list[Any]
    collapsed: list[Any]
    missing: list[Any]

    def interval(self, a: Any, b: Any) -> Interval | None:
        """Welch's interval for a's mean minus b's; None with a single run on a side."""
        if min(len(self.values[a]), len(self.values[b])) < 2:
            return None
        return welch_interval(self.values[a], self.values[b])


def budget_ranking(runs: Mapping[Any, Sequence[Result]], budget: float, metric: str = "robust_acc",
                   interpolate: bool = False, x: str = "train_time_s") -> BudgetRanking:
    """The methods of ``runs`` = {label: results} ranked by mean ``metric`` within ``budget`` (:func:`at_budget`)."""
    everything = at_budget(runs, budget, metric, interpolate, x)
    values = {k: v for k, v in everything.items() if v}
    dead = [k for k, rs in runs.items() if rs and all(collapsed(r) for r in rs)]
    missing = [k for k, v in everything.items() if not v and k not in dead]
    means = {k: statistics.fmean(v) for k, v in values.items()}
    ranked = sorted(means, key=means.get, reverse=True)
    return BudgetRanking(budget, metric, x, values, means, ranked, dead, missing)


def budget_sentence(ranking: BudgetRanking, new: Any) -> str:
    """A plain sentence: the methods ranked within the budget, and ``new`` against each other method
    (difference of means with its Welch 95 % interval, and whether the interval excludes zero);
    the methods with no run left or no evaluation yet are named."""
    vals, mean, ranked = ranking.values, ranking.means, ranking.ranked
    missing, dead = ranking.missing, ranking.collapsed
    note = "".join([f" ({', '.join(missing)}: no evaluation yet within this budget)" if missing else "",
                    f" ({', '.join(dead)}: every run collapsed, left out)" if dead else ""])
    if new not in vals:
        return f"{new} has no evaluation within this budget{note}."
    if len(ranked) == 1:  # nothing to compare with yet
        return f"Within this budget only {new} has an evaluation ({100 * mean[new]:.1f}%){note}."
    budget = ranking.budget
    unit = {"train_time_s": f"{budget:.1f} s of training", "f2b": f"{budget:,.0f} sample passes",
            "step": f"{budget:.0f} iterations"}[ranking.x]
    label = "robust" if ranking.metric == "robust_acc" else "clean"
    parts = []
    for other in (k for k in ranked if k != new):
        d = mean[new] - mean[other]
        word = "higher" if d > 0 else "lower"
        iv = ranking.interval(new, other)
        if iv is None:
            sure = "a single run on a side, no interval"
        else:
            excl = "excludes" if iv.lo > 0 or iv.hi < 0 else "includes"
            sure = f"95% interval [{100 * iv.lo:+.1f}, {100 * iv.hi:+.1f}], {excl} zero"
        parts.append(f"{100 * abs(d):.1f} points {word} than {other} ({sure})")
    return (f"Within {unit}, {label} accuracy ranks " + " > ".join(f"{k} {100 * mean[k]:.1f}%" for k in ranked)
            + f"; {new} is " + "; ".join(parts) + note + ".")


def budget_verdict(runs: Mapping[Any, Sequence[Result]], budget: float, new: Any, metric: str = "robust_acc",
                   interpolate: bool = False, x: str = "train_time_s") -> str:
    """:func:`budget_sentence` of :func:`budget_ranking`: ``new`` against every other method within ``budget``."""
    return budget_sentence(budget_ranking(runs, budget, metric, interpolate, x), new)
