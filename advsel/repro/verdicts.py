"""How a claim is judged: the comparison of two run families (or one against a bound), and the verdict in words.

:func:`compare` returns the numbers of a comparison (:class:`Comparison`: each side's
values, the collapsed and the missing seeds, the interval, its classification and the
seeds that would decide it); :func:`verdict_of` turns them into a :class:`Verdict`, the
sentence and headline the pages and the ledger print.  The vocabulary (:data:`VERDICTS`),
from :func:`~advsel.repro.inference.classify`'s outcome:

- ``reproduced``: the 95 % interval lies on the claimed side of zero (for a band claim,
  "close" / "does not hurt" / "no gain" / "about as much", inside the band);
- ``not reproduced``: it lies wholly on the other side (wholly outside the band);
- ``inconclusive``: neither; the summary says how many seeds would decide it at the observed
  spread (:func:`~advsel.repro.inference.seeds_needed`);
- ``not testable at this scale``: the runs cannot measure it (one seed has no interval,
  collapsed runs, one epoch where two are needed ...), with the reason;
- ``implementation check``: our code agrees with an equation of the paper (DS Fig. 6), or a
  cost ratio that the protocol fixes by construction is the one its accounting predicts
  (DS Table I's P_up = 0.5 and Dong et al. rows); not counted as a reproduction (``passed``
  says whether it agrees);
- ``not run``: the book does not run what the claim needs at this profile (the reason says why).

At the smoke profile every verdict is marked (:attr:`Verdict.smoke`) and reads
"smoke run, not a finding: ...".  The claims themselves are in :mod:`~advsel.repro.claims`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .book import PAGES
from .inference import (
    MAX_SEEDS,
    Interval,
    claim_p,
    classify,
    holm,
    mean_sd,
    one_sample_interval,
    paired_interval,
    seeds_needed,
    welch_interval,
)
from .scope import Scope
from .stats import Result, collapsed, collapsed_seeds

VERDICTS = ("reproduced", "not reproduced", "inconclusive", "not testable at this scale", "implementation check",
            "not run")
FINDINGS = VERDICTS[:3]  # the verdicts that test a claim (an implementation check is not one)
SMOKE = "smoke run, not a finding"
WORD = {"claimed": "reproduced", "opposite": "not reproduced", "undecided": "inconclusive"}


# ------------------------------------------------------------------------ verdicts and claims
@dataclass
class Verdict:
    """A sub-claim's verdict (one of :data:`VERDICTS`), the numbers behind it as a sentence and as data.

    ``headline``: the deciding numbers in a few words (ledger and summary box); ``passed``:
    for an implementation check, whether our code agrees; ``smoke``: a smoke-profile run.
    """

    verdict: str
    summary: str
    numbers: dict[str, Any] = field(default_factory=dict)
    headline: str = ""
    passed: bool | None = None
    smoke: bool = False

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r} is not one of {VERDICTS}")
        if (self.verdict == "implementation check") != (self.passed is not None):
            raise ValueError("passed is given for an implementation check, and only for one")

    @property
    def label(self) -> str:
        """The verdict as a reader sees it: ``reproduced``, ``implementation check: passes``,
        ``smoke run, not a finding: inconclusive`` ..."""
        text = self.verdict
        if self.passed is not None:
            text += ": passes" if self.passed else ": FAILS"
        return f"{SMOKE}: {text}" if self.smoke else text


@dataclass
class Claim:
    """One sub-claim of a paper: where it is made, in our words, the page that tests it, its evaluator."""

    id: str
    paper: str
    item: str
    text: str
    page: str
    evaluate: Callable[[Scope], Verdict]
    dataset: str | None = None  # a claim about one dataset (CAT's tables), whatever the page's

    def __post_init__(self) -> None:
        if self.page not in PAGES:
            raise ValueError(f"claim {self.id!r}: page={self.page!r} is not one of the book's pages "
                             f"({', '.join(PAGES)})")

    def run(self, scope: Scope, seeds: Sequence[int] | None = None) -> Verdict:
        """:attr:`evaluate` on ``scope``, marked as a smoke run at the smoke profile.

        A claim about one ``dataset`` runs on that dataset (DS's claims: CIFAR-10, the paper's;
        CAT's Table 1: MNIST), with ``seeds`` when given, else the scope's seeds.
        """
        if self.dataset is not None and (seeds is not None or scope.dataset != self.dataset):
            scope = scope.replace(dataset=self.dataset, seeds=tuple(scope.seeds if seeds is None else seeds))
        v = self.evaluate(scope)
        v.smoke = scope.profile == "smoke"
        return v


def not_run(reason: str) -> Verdict:
    """A ``not run`` verdict: the runs the claim needs are not part of the book at this profile."""
    return Verdict("not run", reason, headline=reason)


def not_testable(reason: str, summary: str = "", **numbers: Any) -> Verdict:
    """A ``not testable at this scale`` verdict whose headline is the reason."""
    return Verdict("not testable at this scale", f"{summary}; {reason}" if summary else reason, numbers,
                   headline=reason)


# ------------------------------------------------------------------------ formatting
def fmt(xs: Sequence[float], pct: bool = True) -> str:
    """'mean% ± sd% (n=k)' (accuracies as percentages unless ``pct`` is False)."""
    m, s = mean_sd(xs)
    k, u = (100, "%") if pct else (1, "")
    return f"{m * k:.1f}{u} ± {s * k:.1f}{u} (n={len(xs)})" if len(xs) > 1 else f"{m * k:.1f}{u} (n=1)"


def pct(x: float) -> str:
    """An accuracy (fraction) as ``41.3%``."""
    return f"{100 * x:.1f}%"


def label_seeds(label: str, seeds: Sequence[int]) -> str:
    """``DS P_up = 0.5 seeds 0, 2``."""
    return f"{label} seed{'s' if len(seeds) != 1 else ''} {', '.join(map(str, seeds))}"


@dataclass(frozen=True)
class Scale:
    """How a comparison's values are shown: accuracy ``points`` (values are fractions), a ``ratio``
    (values are logs, shown as the ratio of geometric means) or ``raw`` values (``unit`` after them)."""

    kind: str
    unit: str = ""

    def side(self, xs: Sequence[float]) -> str:
        """One side's values: mean ± sd (n)."""
        if self.kind == "points":
            return fmt(xs)
        m, s = mean_sd(xs)
        if self.kind == "ratio":  # logs: the geometric mean
            return f"{math.exp(m):.4g}{self.unit} (geometric mean, n={len(xs)})"
        return f"{m:.3g}{self.unit} ± {s:.2g} (n={len(xs)})" if len(xs) > 1 else f"{m:.3g}{self.unit} (n=1)"

    @property
    def reads_as(self) -> str:
        """What :meth:`reading` returns: ``accuracy points``, ``ratio`` (of geometric means) or ``value``."""
        return {"points": "accuracy points", "ratio": "ratio"}.get(self.kind, "value")

    def reading(self, x: float) -> float:
        """An estimate or an interval end as a reader reads it: accuracy points (from a fraction), a ratio
        (from a log) or the value itself."""
        if self.kind == "points":
            return 100 * x
        return math.exp(x) if self.kind == "ratio" else x

    def value(self, x: float, signed: bool = True) -> str:
        """An estimate or an interval end, formatted."""
        v = self.reading(x)
        if self.kind == "ratio":
            return f"{v:.3f}"
        if self.kind == "points":
            return f"{v:+.1f}" if signed else f"{v:.1f}"
        return f"{v:+.3g}" if signed else f"{v:.3g}"

    def estimate(self, iv: Interval) -> str:
        """``difference -2.8 points [-4.5, -1.1]``, ``ratio 0.929 [0.885, 0.975]``, ``mean 0.966 [0.958, 0.973]``."""
        two = len(iv.n) == 2
        signed = two or self.kind == "points"
        word = "ratio" if self.kind == "ratio" else "difference" if two else "mean"
        unit = " points" if self.kind == "points" else ""
        return (f"{word} {self.value(iv.estimate, signed)}{unit} "
                f"[{self.value(iv.lo, signed)}, {self.value(iv.hi, signed)}]")

    def bound(self, x: float) -> str:
        v = self.reading(x)
        return f"{v:+.0f} points" if self.kind == "points" else f"{v:.3g}"


POINTS, RAW = Scale("points"), Scale("raw")
RATIO_S, RATIO_STEP = Scale("ratio", " s"), Scale("ratio", " s per step")


# ------------------------------------------------------------------------ the comparison: numbers
Values = list[float | None]
Measure = Callable[[Sequence[Result], Sequence[Result] | None], tuple[Values, Values | None]]


def per_run(value: Callable[[Result], float | None]) -> Measure:
    """A measure that applies ``value`` to each run of each side."""
    def measure(a: Sequence[Result], b: Sequence[Result] | None) -> tuple[Values, Values | None]:
        return [value(r) for r in a], (None if b is None else [value(r) for r in b])
    return measure


@dataclass(frozen=True)
class Side:
    """One side of a comparison: its name, how many runs it had, the seeds of its collapsed runs (left
    out), the seeds of the other runs whose value is None (left out) and the values of the rest."""

    label: str
    runs: int
    collapsed: tuple[int, ...]
    missing: tuple[int, ...]
    values: list[float]

    @property
    def kept(self) -> int:
        """The runs that did not collapse."""
        return self.runs - len(self.collapsed)


@dataclass(frozen=True)
class Comparison:
    """The numbers of one sub-claim: each :class:`Side`, the claim's ``kind`` and bounds, and, when
    every side has two values, the interval, its ``outcome`` (:data:`~advsel.repro.inference.OUTCOMES`)
    and for an undecided one the seeds per side that would decide it (None: more than
    :data:`~advsel.repro.inference.MAX_SEEDS`)."""

    sides: tuple[Side, ...]
    kind: str
    low: float | None = None
    high: float | None = None
    interval: Interval | None = None
    outcome: str | None = None
    seeds_needed: int | None = None

    @property
    def untestable(self) -> str | None:
        """Why there is no interval: ``collapsed`` (collapsed runs left a side with fewer than two),
        ``one seed`` (a side ran fewer than two seeds), ``no value`` (fewer than two runs with a
        value); None when there is one."""
        if all(len(s.values) >= 2 for s in self.sides):
            return None
        if any(s.collapsed for s in self.sides) and any(s.kept < 2 for s in self.sides):
            return "collapsed"
        return "one seed" if any(s.runs < 2 for s in self.sides) else "no value"


def compare(a: tuple[str, Sequence[Result]], b: tuple[str, Sequence[Result]] | None, measure: Measure, kind: str,
            *, low: float | None = None, high: float | None = None, keep_collapsed: bool = False) -> Comparison:
    """``measure``'s values of ``a`` against ``b`` (Welch) or, with ``b`` None, ``a``'s per-run values
    against the claim's bound (one-sample t interval), classified for a claim of ``kind``.

    ``a``, ``b``: (name, results).  Collapsed runs (:func:`~advsel.repro.stats.collapsed`) are
    left out of every claim, accuracy and cost alike (a run that learned nothing is no result);
    a run whose value is None (e.g. never reached a level) is left out too.  ``keep_collapsed``: a measure that
    does not depend on the weights (a pass count) keeps them.  Sides with values for the same seeds pair by seed
    (paired t); otherwise Welch.
    """
    named = [a] if b is None else [a, b]
    kept = [[r for r in rs if keep_collapsed or not collapsed(r)] for _, rs in named]
    vals_a, vals_b = measure(kept[0], kept[1] if b is not None else None)
    sides = tuple(Side(label, len(rs), () if keep_collapsed else tuple(collapsed_seeds(rs)),
                       tuple(r["config"]["seed"] for r, v in zip(ok, vs, strict=True) if v is None),
                       [v for v in vs if v is not None])
                  for (label, rs), ok, vs in zip(named, kept, [vals_a] if b is None else [vals_a, vals_b],
                                                 strict=True))
    c = Comparison(sides, kind, low, high)
    if c.untestable:
        return c
    values = [s.values for s in sides]
    pairs = _pairs(kept, [vals_a] if b is None else [vals_a, vals_b])
    if b is None:
        iv, sds = one_sample_interval(values[0]), [mean_sd(values[0])[1]]
    elif pairs is not None:
        iv = paired_interval(*pairs)
        sds = [mean_sd([x - y for x, y in zip(*pairs, strict=True)])[1]]
    else:
        iv, sds = welch_interval(*values), [mean_sd(xs)[1] for xs in values]
    outcome = classify(iv, kind, low, high)
    needed = seeds_needed(iv, sds, kind, low, high) if outcome == "undecided" else None
    return Comparison(sides, kind, low, high, iv, outcome, needed)


def _pairs(kept: Sequence[Sequence[Result]], values: Sequence[Values]) -> tuple[list[float], list[float]] | None:
    """The two sides' values ordered by seed when both sides have a value for exactly the same seeds (two or
    more): runs of one seed share the initialisation and the data order, so they pair; else None (Welch)."""
    if len(kept) != 2:
        return None
    by_seed = [{r["config"]["seed"]: v for r, v in zip(rs, vs, strict=True) if v is not None}
               for rs, vs in zip(kept, values, strict=True)]
    distinct = all(len(d) == sum(v is not None for v in vs) for d, vs in zip(by_seed, values, strict=True))
    if not distinct or set(by_seed[0]) != set(by_seed[1]) or len(by_seed[0]) < 2:
        return None
    seeds = sorted(by_seed[0])
    return [by_seed[0][s] for s in seeds], [by_seed[1][s] for s in seeds]


# ------------------------------------------------------------------------ the comparison: words
def rule_text(kind: str, low: float | None, high: float | None, scale: Scale, one: bool) -> str:
    """What ``reproduced`` needs, in words: ``reproduced needs the interval of the difference above 0``."""
    zero = "1" if scale.kind == "ratio" else "0"
    target = "the ratio" if scale.kind == "ratio" else "the mean" if one else "the difference"
    if kind == "higher":
        return f"reproduced needs the interval of {target} above {zero}"
    if kind == "lower":
        return f"reproduced needs the interval of {target} below {zero}"
    if kind == "within":
        return f"reproduced needs the interval inside [{scale.bound(low)}, {scale.bound(high)}]"
    if kind == "at_least":
        return f"reproduced needs the interval at or above {scale.bound(low)}"
    return f"reproduced needs the interval at or below {scale.bound(high)}"


def seeds_text(needed: int | None, sides: int) -> str:
    """How many seeds would decide an inconclusive claim (:attr:`Comparison.seeds_needed`), in words."""
    per = " per side" if sides == 2 else ""
    if needed is None:
        return f"more than {MAX_SEEDS} seeds{per} would be needed at the observed difference and spread"
    return f"about {needed} seeds{per} would decide it at the observed spread"


def verdict_of(c: Comparison, what: str, *, scale: Scale = POINTS, missing: str = "no value") -> Verdict:
    """The verdict of a :class:`Comparison` in words: ``what`` is measured, each side's values on
    ``scale``, the interval and the rule, the seeds that would decide it, and which runs were left out
    (collapsed, or without a value: ``missing`` says why).  ``numbers``: each side's values, then
    the interval, the outcome, the ``scale``, the sides' labels (``sides``, in the interval's order) and
    the seeds needed."""
    collapsed_notes = [label_seeds(s.label, s.collapsed) for s in c.sides if s.collapsed]
    notes = [f"collapsed runs left out: {t}" for t in collapsed_notes]
    notes += [f"{label_seeds(s.label, s.missing)} left out ({missing})" for s in c.sides if s.missing]
    numbers: dict[str, Any] = {s.label: s.values for s in c.sides}
    shown = " vs ".join(f"{s.label} {scale.side(s.values)}" if s.values else f"{s.label}: no run left"
                        for s in c.sides)
    note = ("; " + "; ".join(notes)) if notes else ""
    if c.interval is None:
        if c.untestable == "collapsed":
            reason, note = "collapsed runs: " + "; ".join(collapsed_notes), ""
        elif c.untestable == "one seed":
            reason = "one seed has no interval (n = " + " vs ".join(str(s.runs) for s in c.sides) + ")"
        else:
            reason = f"fewer than two runs with a value ({missing})"
        return not_testable(reason, f"{what}: {shown}{note}", **numbers)
    iv, one = c.interval, len(c.sides) == 1
    method = {"one-sample": "one-sample t", "paired": "paired t over seeds", "Welch": "Welch"}[iv.method]
    headline = f"{scale.estimate(iv)}, n = " + " vs ".join(str(len(s.values)) for s in c.sides)
    summary = (f"{what}: {shown}; {scale.estimate(iv)} ({method} 95% interval, df {iv.df:.1f}); "
               f"{rule_text(c.kind, c.low, c.high, scale, one)}")
    numbers.update(interval=iv, outcome=c.outcome, scale=scale, sides=tuple(s.label for s in c.sides), kind=c.kind,
                   low=c.low, high=c.high)
    if c.outcome == "undecided":
        text = seeds_text(c.seeds_needed, len(c.sides))
        summary += f"; {text}"
        headline += f"; {text}"
        numbers["seeds_needed"] = c.seeds_needed
    return Verdict(WORD[c.outcome], summary + note, numbers,
                   headline=headline + (" (collapsed runs left out)" if collapsed_notes else ""))


def judge(a: tuple[str, Sequence[Result]], b: tuple[str, Sequence[Result]] | None, measure: Measure, kind: str,
          what: str, *, low: float | None = None, high: float | None = None, scale: Scale = POINTS,
          missing: str = "no value", keep_collapsed: bool = False) -> Verdict:
    """:func:`verdict_of` of :func:`compare`: the verdict of one sub-claim, as the claims' evaluators ask it."""
    return verdict_of(compare(a, b, measure, kind, low=low, high=high, keep_collapsed=keep_collapsed), what,
                      scale=scale, missing=missing)


# ------------------------------------------------------------------------ multiplicity
def holm_over_figures(rows: Sequence[tuple[Claim, Verdict]]) -> None:
    """Holm's procedure over the rows of each figure or table (same paper and item): a row's verdict stays
    ``reproduced`` (``not reproduced``) only if Holm rejects, over the rows of its figure that have an interval,
    the hypothesis that the claimed (opposite) side does not hold; else it becomes ``inconclusive``.  Each
    tested row's summary states its p-value and Holm's threshold (:func:`~advsel.repro.inference.holm`)."""
    groups: dict[tuple[str, str], list[Verdict]] = {}
    for claim, v in rows:
        if isinstance(v.numbers.get("interval"), Interval) and v.verdict in FINDINGS:
            groups.setdefault((claim.paper, claim.item), []).append(v)
    for (paper, item), vs in groups.items():
        for side in ("claimed", "opposite"):
            ps = [claim_p(v.numbers["interval"], v.numbers["kind"], v.numbers["low"], v.numbers["high"], side)
                  for v in vs]
            kept = holm(ps)
            for v, p, ok in zip(vs, ps, kept, strict=True):
                _apply_holm(v, side, p, ok, len(vs), f"{paper} {item}")


def _apply_holm(v: Verdict, side: str, p: float, rejected: bool, m: int, figure: str) -> None:
    """Record the Holm result of one side on ``v`` and downgrade a decided verdict whose side Holm keeps."""
    v.numbers.setdefault("holm", {})[side] = {"p": p, "rejected": rejected, "rows": m}
    decided = {"claimed": "reproduced", "opposite": "not reproduced"}[side]
    if v.verdict != decided:
        return
    where = f"Holm over the {m} tested row{'s' if m != 1 else ''} of {figure}"
    if rejected:
        v.summary += f"; {where}: one-sided p = {p:.2g}, decided"
        return
    v.verdict = "inconclusive"
    v.summary += f"; {where}: one-sided p = {p:.2g} is not small enough, so inconclusive after the correction"
    v.headline += "; inconclusive after Holm's correction"
