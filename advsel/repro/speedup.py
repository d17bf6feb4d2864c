"""Time to an accuracy level: when runs first reach it, and CAT's speed-up over AT there.

CAT's Tables 1-2 state speed-ups as the time AT needs to reach an accuracy over the
time CAT needs; its Figs. 2-3 compare sampling numbers by how soon they converge, and
the prescreen rows of the ledger ask which method reaches PGD-AT's accuracy sooner.  The
levels are set from the runs themselves (shares of the lower best mean accuracy,
:func:`relative_levels`), so that every method reaches them on average; a run's first
crossing of a level comes from :func:`advsel.analysis.time_to_accuracy`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..analysis import time_to_accuracy
from .costs import cost
from .stats import Result, Runs

SAMPLING_FRACTION = 0.8  # CAT Figs. 2-3: the level is this share of the lowest best robust accuracy
SPEEDUP_FRACTIONS = (0.5, 0.7, 0.9)  # CAT Tables 1-2: levels as shares of the lower best accuracy


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


def run_times_to_level(rs: Sequence[Result], level: float, metric: str = "robust_acc") -> list[float | None]:
    """Each run's training time until ``metric`` first reaches ``level`` (None: never)."""
    return [None if (h := time_to_accuracy(r, [level], metric)[level]) is None else h["time_s"] for r in rs]


def mean_log_times(rs: Sequence[Result], levels: Sequence[float], metric: str,
                   x: str = "time_s") -> list[float | None]:
    """Per run, the mean over ``levels`` of the log cost to each level (None if a level is never reached):
    training time (``x='time_s'``) or sample passes F + 2B (``'f2b'``).  The difference of two methods' means
    is the log of their geometric-mean speed-up."""
    out: list[float | None] = []
    for r in rs:
        hits = time_to_accuracy(r, list(levels), metric)
        ts = [cost(h, "f2b") if x == "f2b" else h[x] for h in hits.values() if h is not None]
        out.append(statistics.fmean(math.log(t) for t in ts) if len(ts) == len(levels) and all(t > 0 for t in ts)
                   else None)
    return out


def common_levels(groups: Iterable[Sequence[Result]], levels: Sequence[float], metric: str) -> list[float]:
    """The ``levels`` that every run of every group reaches."""
    groups = list(groups)
    return [lv for lv in levels if all(level_stats(rs, lv, metric).all_reached for rs in groups)]


def best_mean(rs: Sequence[Result], metric: str) -> float:
    """The mean over runs of each run's best evaluation of ``metric``."""
    return statistics.fmean(max(e[metric] for e in r["evals"]) for r in rs)


def relative_levels(groups: Iterable[Sequence[Result]], metric: str, fractions: Sequence[float]) -> list[float]:
    """``fractions`` of the lowest :func:`best_mean` over ``groups``, rounded to 0.001, so every group
    reaches them on average."""
    best = min(best_mean(rs, metric) for rs in groups)
    return [round(f * best, 3) for f in fractions]


def sampling_level(runs: Runs, metric: str = "robust_acc", fraction: float = SAMPLING_FRACTION) -> float:
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
             fractions: Sequence[float] = SPEEDUP_FRACTIONS) -> tuple[list[float], list[Speedup]]:
    """Levels both methods reach (fractions of the lower of their best mean accuracies) and AT/CAT at each."""
    levels = relative_levels((at, cat), metric, fractions)
    return levels, speedup_rows(at, cat, levels, metric)
