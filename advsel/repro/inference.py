"""The test behind every verdict: t intervals, where they lie against a claim, and the seeds that would decide it.

A claim compares run families over seeds.  Two families run with the same seeds share each
seed's initialisation and data order, so their values pair by seed: the paired t interval
(:data:`LEVEL` = 95 %) of the per-seed differences, n - 1 degrees of freedom
(:func:`paired_interval`).  Two families whose seeds differ (a collapsed or missing run on
one side): Welch's t interval for the difference of their means, with Welch-Satterthwaite
degrees of freedom (:func:`welch_interval`).  One family measured twice within each run (first
against last epoch) or against a threshold: the one-sample t interval of the per-run values
(:func:`one_sample_interval`; :func:`paired_interval` pairs two lists by position).
:func:`classify` says on which side of the claim the interval lies, and
:func:`seeds_needed` how many seeds would decide an undecided claim at the observed spread.
The bands turn a claim's words into numbers ("close" = within :data:`CLOSE_BAND`).

Multiplicity: a figure or table makes several claims at once, so the rows of one figure
are one family of tests.  :func:`claim_p` gives each row's one-sided p-value for the claimed
region (and for the opposite one; equivalence claims by two one-sided tests), and
:func:`holm` applies Holm's step-down procedure at the one-sided level (1 - :data:`LEVEL`) / 2
that the 95 % interval uses alone: a row stays decided only if Holm rejects over its figure.  The t
distribution is :data:`scipy.stats.t`; inputs are plain lists of floats, so this module
knows nothing of results or runs.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import t as student_t

LEVEL = 0.95  # confidence level of every interval
CLOSE_BAND = 0.02  # accuracy: "close", "does not hurt", "no gain" = within 2 points (fractions)
COST_BAND = 0.05  # cost ratios: "about as much" / "about twice" = within 5 % of the claimed ratio
SIMILAR_COSINE = 0.9  # CAT Fig. 1: "highly similar" predictions = mean cosine similarity above 0.9
MAX_SEEDS = 200  # seeds_needed looks no further
OUTCOMES = ("claimed", "opposite", "undecided")
KINDS = ("higher", "lower", "within", "at_least", "at_most")


def mean_sd(xs: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def difference(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Mean of a minus mean of b, and its standard error (Welch; 0 with one seed each)."""
    ma, sa = mean_sd(a)
    mb, sb = mean_sd(b)
    se = math.sqrt(sa**2 / len(a) + sb**2 / len(b))
    return ma - mb, se


@dataclass(frozen=True)
class Interval:
    """A t interval (:data:`LEVEL`) for a difference of means (or one mean), on the values' own scale.

    ``method``: ``Welch`` (two families), ``paired`` (two lists paired by position) or
    ``one-sample``; ``n``: the number of values on each side.
    """

    estimate: float
    lo: float
    hi: float
    se: float
    df: float
    n: tuple[int, ...]
    method: str
    level: float = LEVEL


def from_moments(d: float, se: float, df: float, n: tuple[int, ...], method: str, level: float = LEVEL) -> Interval:
    """The interval ``d`` ± t quantile x ``se`` with ``df`` degrees of freedom."""
    half = float(student_t.ppf(0.5 + level / 2.0, df)) * se
    return Interval(d, d - half, d + half, se, df, n, method, level)


def welch_from_moments(ma: float, sa: float, na: int, mb: float, sb: float, nb: int,
                       level: float = LEVEL) -> Interval:
    """Welch's interval for ma - mb from each side's mean, standard deviation and size."""
    qa, qb = sa**2 / na, sb**2 / nb
    se = math.sqrt(qa + qb)
    den = qa**2 / (na - 1) + qb**2 / (nb - 1)
    df = (qa + qb) ** 2 / den if den > 0 else float(na + nb - 2)  # no spread at all: the pooled df
    return from_moments(ma - mb, se, df, (na, nb), "Welch", level)


def welch_interval(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> Interval:
    """Welch's t interval for mean(a) - mean(b) (Welch-Satterthwaite df); needs two values per side."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"a Welch interval needs at least two values per side (got {len(a)} and {len(b)})")
    (ma, sa), (mb, sb) = mean_sd(a), mean_sd(b)
    return welch_from_moments(ma, sa, len(a), mb, sb, len(b), level)


def one_sample_interval(xs: Sequence[float], level: float = LEVEL) -> Interval:
    """The t interval for the mean of ``xs`` (n - 1 df); needs two values."""
    if len(xs) < 2:
        raise ValueError(f"a t interval needs at least two values (got {len(xs)})")
    m, s = mean_sd(xs)
    return from_moments(m, s / math.sqrt(len(xs)), float(len(xs) - 1), (len(xs),), "one-sample", level)


def paired_interval(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> Interval:
    """The t interval for the mean of a[i] - b[i] (pairs by position, e.g. by seed); n - 1 df."""
    if len(a) != len(b):
        raise ValueError(f"paired values need equal lengths (got {len(a)} and {len(b)})")
    iv = one_sample_interval([x - y for x, y in zip(a, b, strict=True)], level)
    return dataclasses.replace(iv, method="paired", n=(len(a), len(b)))


def classify(iv: Interval, kind: str, low: float | None = None, high: float | None = None) -> str:
    """Where the interval lies for a claim of ``kind`` (one of :data:`KINDS`): one of :data:`OUTCOMES`.

    ``higher`` / ``lower``: the estimate (a - b) is claimed above / below zero.
    ``within``: claimed inside [low, high] ("close", "about as much").  ``at_least``:
    claimed at or above ``low`` ("does not hurt": low = -band).  ``at_most``: claimed at or
    below ``high`` ("no gain": high = +band).  ``claimed``: the interval lies on the
    claimed side (or inside the band); ``opposite``: it lies wholly on the other side (or
    wholly outside the band); ``undecided``: neither.
    """
    lo, hi = iv.lo, iv.hi
    if kind == "higher":
        return "claimed" if lo > 0 else "opposite" if hi < 0 else "undecided"
    if kind == "lower":
        return "claimed" if hi < 0 else "opposite" if lo > 0 else "undecided"
    if kind == "within":
        assert low is not None and high is not None
        return "claimed" if low <= lo and hi <= high else "opposite" if hi < low or lo > high else "undecided"
    if kind == "at_least":
        assert low is not None
        return "claimed" if lo >= low else "opposite" if hi < low else "undecided"
    if kind == "at_most":
        assert high is not None
        return "claimed" if hi <= high else "opposite" if lo > high else "undecided"
    raise ValueError(f"kind={kind!r} is not allowed; choose one of: {', '.join(KINDS)}")


ALPHA = (1 - LEVEL) / 2  # the one-sided level of a side of the 95 % interval


def _above(iv: Interval, bound: float) -> float:
    """One-sided p-value of H0: true value <= ``bound`` (t with the interval's df)."""
    if iv.se == 0:
        return 0.0 if iv.estimate > bound else 1.0
    return float(student_t.sf((iv.estimate - bound) / iv.se, iv.df))


def _below(iv: Interval, bound: float) -> float:
    """One-sided p-value of H0: true value >= ``bound``."""
    if iv.se == 0:
        return 0.0 if iv.estimate < bound else 1.0
    return float(student_t.cdf((iv.estimate - bound) / iv.se, iv.df))


def claim_p(iv: Interval, kind: str, low: float | None = None, high: float | None = None,
            side: str = "claimed") -> float:
    """The p-value of the test that puts the true value in the ``claimed`` region of a claim of ``kind`` (or,
    ``side='opposite'``, wholly on the other side), consistent with :func:`classify`: p < :data:`ALPHA` exactly
    when the 95 % interval lies in that region.  A band claim (``within``) is two one-sided tests: its p is the
    larger; its opposite (outside the band on either side) the smaller of the two outward tests."""
    if kind == "higher":
        return _above(iv, 0.0) if side == "claimed" else _below(iv, 0.0)
    if kind == "lower":
        return _below(iv, 0.0) if side == "claimed" else _above(iv, 0.0)
    if kind == "at_least":
        return _above(iv, low) if side == "claimed" else _below(iv, low)  # type: ignore[arg-type]
    if kind == "at_most":
        return _below(iv, high) if side == "claimed" else _above(iv, high)  # type: ignore[arg-type]
    if kind == "within":
        if side == "claimed":
            return max(_above(iv, low), _below(iv, high))  # type: ignore[arg-type]
        return min(_below(iv, low), _above(iv, high))  # type: ignore[arg-type]
    raise ValueError(f"kind={kind!r} is not allowed; choose one of: {', '.join(KINDS)}")


def holm(ps: Sequence[float], alpha: float = ALPHA) -> list[bool]:
    """Holm's step-down procedure: which of the hypotheses with p-values ``ps`` are rejected at family-wise
    level ``alpha`` (the i-th smallest p against alpha / (m - i), i from 0, stopping at the first that fails)."""
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    rejected = [False] * len(ps)
    for rank, i in enumerate(order):
        if ps[i] > alpha / (len(ps) - rank):
            break
        rejected[i] = True
    return rejected


def seeds_needed(iv: Interval, sds: Sequence[float], kind: str, low: float | None = None,
                 high: float | None = None) -> int | None:
    """Seeds (per side) that would decide an ``undecided`` claim if the means and standard deviations
    stayed as observed (``sds``: one per side of ``iv``); None if no number up to :data:`MAX_SEEDS` would."""
    for n in range(max(iv.n) + 1, MAX_SEEDS + 1):
        if len(sds) == 2:
            trial = welch_from_moments(iv.estimate, sds[0], n, 0.0, sds[1], n, iv.level)
        else:
            trial = from_moments(iv.estimate, sds[0] / math.sqrt(n), float(n - 1), (n,), iv.method, iv.level)
        if classify(trial, kind, low, high) != "undecided":
            return n
    return None
