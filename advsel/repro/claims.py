"""The papers' claims, one ledger row per sub-claim, each with an evaluator that turns cached results
into a verdict.

:data:`CLAIMS` lists every sub-claim of both papers the book tests (a figure that makes two
statements gives two rows; no verdict combines others).  An evaluator takes the page's
:class:`~advsel.repro.scope.Scope` and reads every number from :mod:`advsel.repro.stats`, as
the tables above the verdict do; :func:`evaluate_claims` runs them for a page or the ledger.

The vocabulary (:data:`VERDICTS`), from :func:`advsel.repro.stats.classify`'s outcome:

- ``reproduced``: the 95 % interval lies on the claimed side of zero (for a band claim,
  "close" / "does not hurt" / "no gain" / "about as much", inside the band);
- ``not reproduced``: it lies wholly on the other side (wholly outside the band);
- ``inconclusive``: neither; the summary says how many seeds would decide it at the observed
  spread (:func:`advsel.repro.stats.seeds_needed`);
- ``not testable at this scale``: the runs cannot measure it (one seed has no interval,
  collapsed runs, one epoch where two are needed ...), with the reason;
- ``implementation check``: our code agrees with an equation of the paper (DS Fig. 6);
  not counted as a reproduction (``passed`` says whether it agrees).

At the smoke profile every verdict is marked (:attr:`Verdict.smoke`) and reads
"smoke run, not a finding: ...".
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import paper, stats
from .scope import P_UP_SWEEP, WARMUP_EPOCHS, Family, Scope

Result = dict[str, Any]
VERDICTS = ("reproduced", "not reproduced", "inconclusive", "not testable at this scale", "implementation check")
FINDINGS = VERDICTS[:3]  # the verdicts that test a claim (an implementation check is not one)
SMOKE = "smoke run, not a finding"
WORD = {"claimed": "reproduced", "opposite": "not reproduced", "undecided": "inconclusive"}

DS_HALF, DS_FULL, DS_WARM = Family.ds(0.5), Family.ds(1.0), Family.warmup(0.5)
ROBUST, ADAPTIVE = Family.method("robust"), Family.method("ds-adaptive")
RANDOM, DONG = Family.method("random"), Family.method("dong")
AT_TIMED, CAT_TIMED = Family.timed("robust"), Family.timed("cat")
UNIFORM_TIMED, PRESCREEN = Family.timed("cat-uniform"), Family.timed("prescreen")
NAMES = {DS_HALF: "DS P_up = 0.5", DS_FULL: "DS P_up = 1", ROBUST: "PGD-AT", ADAPTIVE: "DS eq. (9)",
         RANDOM: "random", DONG: "Dong et al.", AT_TIMED: "AT", CAT_TIMED: "CAT",
         UNIFORM_TIMED: "class-balanced uniform", PRESCREEN: "prescreen"}
PRESCREEN_FRACTIONS = (1.0, 0.9)  # levels: shares of PGD-AT's lowest final robust accuracy over its seeds


def name(f: Family) -> str:
    """How verdicts name a run family: ``DS P_up = 0.5``, ``PGD-AT`` ... (else its short name)."""
    if f in NAMES:
        return NAMES[f]
    if f.kind == "ds":
        return f"DS P_up = {f.arg:g}"
    if f.kind == "warmup":
        return f"DS P_up = {f.arg:g} after warm-up"
    return f"CAT N = {f.arg}" if f.kind == "sampling" else f.name


# ------------------------------------------------------------------------ verdicts
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


def not_testable(reason: str, summary: str = "", **numbers: Any) -> Verdict:
    """A ``not testable at this scale`` verdict whose headline is the reason."""
    return Verdict("not testable at this scale", f"{summary}; {reason}" if summary else reason, numbers,
                   headline=reason)


# ------------------------------------------------------------------------ formatting (numbers from stats)
def fmt(xs: Sequence[float], pct: bool = True) -> str:
    """'mean% ± sd% (n=k)' (accuracies as percentages unless ``pct`` is False)."""
    m, s = stats.mean_sd(xs)
    k, u = (100, "%") if pct else (1, "")
    return f"{m * k:.1f}{u} ± {s * k:.1f}{u} (n={len(xs)})" if len(xs) > 1 else f"{m * k:.1f}{u} (n=1)"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


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
        m, s = stats.mean_sd(xs)
        if self.kind == "ratio":  # logs: the geometric mean
            return f"{math.exp(m):.4g}{self.unit} (geometric mean, n={len(xs)})"
        return f"{m:.3g}{self.unit} ± {s:.2g} (n={len(xs)})" if len(xs) > 1 else f"{m:.3g}{self.unit} (n=1)"

    def value(self, x: float, signed: bool = True) -> str:
        """An estimate or an interval end."""
        if self.kind == "points":
            return f"{100 * x:+.1f}" if signed else f"{100 * x:.1f}"
        if self.kind == "ratio":
            return f"{math.exp(x):.3f}"
        return f"{x:+.3g}" if signed else f"{x:.3g}"

    def estimate(self, iv: stats.Interval) -> str:
        """``difference -2.8 points [-4.5, -1.1]``, ``ratio 0.929 [0.885, 0.975]``, ``mean 0.966 [0.958, 0.973]``."""
        two = len(iv.n) == 2
        signed = two or self.kind == "points"
        word = "ratio" if self.kind == "ratio" else "difference" if two else "mean"
        unit = " points" if self.kind == "points" else ""
        return (f"{word} {self.value(iv.estimate, signed)}{unit} "
                f"[{self.value(iv.lo, signed)}, {self.value(iv.hi, signed)}]")

    def bound(self, x: float) -> str:
        return f"{100 * x:+.0f} points" if self.kind == "points" else f"{math.exp(x):.3g}" if self.kind == "ratio" \
            else f"{x:.3g}"


POINTS, RAW = Scale("points"), Scale("raw")


def _rule(kind: str, low: float | None, high: float | None, scale: Scale, one: bool) -> str:
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


def _seeds_text(iv: stats.Interval, sds: Sequence[float], kind: str, low: float | None,
                high: float | None) -> tuple[str, int | None]:
    n = stats.seeds_needed(iv, sds, kind, low, high)
    if n is None:
        return (f"more than {stats.MAX_SEEDS} seeds{' per side' if len(sds) == 2 else ''} would be needed at the "
                "observed difference and spread"), None
    per = " per side" if len(sds) == 2 else ""
    return f"about {n} seeds{per} would decide it at the observed spread", n


# ------------------------------------------------------------------------ the comparison
Values = list[float | None]
Measure = Callable[[Sequence[Result], Sequence[Result] | None], tuple[Values, Values | None]]


def per_run(value: Callable[[Result], float | None]) -> Measure:
    """A measure that applies ``value`` to each run of each side."""
    def measure(a: Sequence[Result], b: Sequence[Result] | None) -> tuple[Values, Values | None]:
        return [value(r) for r in a], (None if b is None else [value(r) for r in b])
    return measure


def _collapse_text(label: str, seeds: Sequence[int]) -> str:
    return f"{label} seed{'s' if len(seeds) != 1 else ''} {', '.join(map(str, seeds))}"


def compare(a: tuple[str, Sequence[Result]], b: tuple[str, Sequence[Result]] | None, measure: Measure, kind: str,
            what: str, *, low: float | None = None, high: float | None = None, scale: Scale = POINTS,
            missing: str = "no value") -> Verdict:
    """The verdict of one sub-claim about ``measure``'s values: ``a`` against ``b`` (Welch) or, with ``b`` None,
    ``a``'s per-run values against the claim's bound (one-sample t interval).

    ``a``, ``b``: (name, results).  Collapsed runs (:func:`advsel.repro.stats.collapsed`) are
    left out of every claim, accuracy and cost alike (a run that learned nothing is no result),
    which the summary says; with fewer than two runs left on a side the claim is not testable
    at this scale.  A run whose value
    is None (e.g. never reached a level) is left out and named ``missing``.
    """
    sides = [a] if b is None else [a, b]
    notes, collapsed_reason = [], []
    kept: list[list[Result]] = []
    for label, rs in sides:
        bad = stats.collapsed_seeds(rs)
        if bad:
            txt = _collapse_text(label, bad)
            collapsed_reason.append(txt)
            notes.append(f"collapsed runs left out: {txt}")
        kept.append([r for r in rs if not stats.collapsed(r)])
    vals_a, vals_b = measure(kept[0], kept[1] if b is not None else None)
    values = [vals_a] if b is None else [vals_a, vals_b]
    clean: list[list[float]] = []
    for (label, _), rs, vs in zip(sides, kept, values, strict=True):
        gone = [r["config"]["seed"] for r, v in zip(rs, vs, strict=True) if v is None]
        if gone:
            notes.append(f"{_collapse_text(label, gone)} left out ({missing})")
        clean.append([v for v in vs if v is not None])
    numbers: dict[str, Any] = {label: xs for (label, _), xs in zip(sides, clean, strict=True)}
    shown = " vs ".join(f"{label} {scale.side(xs)}" if xs else f"{label}: no run left" for (label, _), xs
                        in zip(sides, clean, strict=True))
    note = ("; " + "; ".join(notes)) if notes else ""
    if any(len(xs) < 2 for xs in clean):
        dropped = collapsed_reason and any(len(rs) < 2 for rs in kept)
        if dropped:
            reason = "collapsed runs: " + "; ".join(collapsed_reason)
            note = ""
        elif any(len(rs) < 2 for _, rs in sides):
            reason = "one seed has no interval (n = " + " vs ".join(str(len(rs)) for _, rs in sides) + ")"
        else:
            reason = f"fewer than two runs with a value ({missing})"
        return not_testable(reason, f"{what}: {shown}{note}", **numbers)
    iv = stats.welch_interval(*clean) if b is not None else stats.one_sample_interval(clean[0])
    outcome = stats.classify(iv, kind, low, high)
    word = WORD[outcome]
    method = "Welch" if b is not None else "one-sample t"
    n = " vs ".join(str(len(xs)) for xs in clean)
    headline = f"{scale.estimate(iv)}, n = {n}"
    summary = (f"{what}: {shown}; {scale.estimate(iv)} ({method} 95% interval, df {iv.df:.1f}); "
               f"{_rule(kind, low, high, scale, b is None)}")
    numbers.update(interval=iv, outcome=outcome)
    if outcome == "undecided":
        sds = [stats.mean_sd(xs)[1] for xs in clean]
        text, needed = _seeds_text(iv, sds, kind, low, high)
        summary += f"; {text}"
        headline += f"; {text}"
        numbers["seeds_needed"] = needed
    return Verdict(word, summary + note, numbers, headline=headline + (" (collapsed runs left out)"
                                                                       if collapsed_reason
                                                                       else ""))


def _side(scope: Scope, f: Family) -> tuple[str, list[Result]]:
    return name(f), scope.results(f)


def _metric_name(metric: str) -> str:
    return metric.split("_")[0]


def _final_claim(fa: Family, fb: Family, metric: str, kind: str) -> Callable[[Scope], Verdict]:
    """``fa`` against ``fb`` in final ``metric``: ``higher`` (beats), ``close`` (within the band),
    ``not_worse`` (does not hurt: at least -band) or ``no_gain`` (at most +band)."""
    band = stats.CLOSE_BAND
    k, low, high = {"higher": ("higher", None, None), "close": ("within", -band, band),
                    "not_worse": ("at_least", -band, None), "no_gain": ("at_most", None, band)}[kind]

    def evaluate(scope: Scope) -> Verdict:
        a, b = _side(scope, fa), _side(scope, fb)
        ev = stats.evaluation_short(a[1] + b[1], metric)
        return compare(a, b, per_run(lambda r: stats.final_value(r, metric)), k,
                       f"final {_metric_name(metric)} accuracy ({ev})", low=low, high=high)
    return evaluate


# ------------------------------------------------------------------------ DS
def _follows_eq9(rs: Sequence[Result], key: str, floor: float) -> bool:
    """Each epoch's P_up is eq. (9) with the floor applied to the previous epoch's P_up and driving accuracy."""
    from ..selectors import adaptive_p_up

    return all(abs(b["p_up"] - adaptive_p_up(a["p_up"], a[key], floor)) < 1e-9
               for r in rs for a, b in zip(r["epochs"], r["epochs"][1:], strict=False))


def _ds_fig6(scope: Scope) -> Verdict:
    rs = scope.results(ADAPTIVE)
    seqs = stats.per_epoch(rs, "p_up")
    floor = rs[0]["config"]["p_up_floor"]
    eq9 = _follows_eq9(rs, stats.adaptive_driver(rs[0]["config"]), floor)
    start = all(s[0] == 1.0 for s in seqs)
    mono = all(all(b <= a + 1e-12 for a, b in zip(s, s[1:], strict=False)) for s in seqs)
    at_floor = [next((e["epoch"] for e in r["epochs"] if e["p_up"] <= floor + 1e-9), None) for r in rs]
    s0 = seqs[0]
    summary = (f"P_up per epoch (seed {scope.seeds[0]}): " + ", ".join(f"{p:.2f}" for p in s0)
               + f"; starts at 1: {start}; non-increasing: {mono}; follows eq. (9) with the floor: {eq9}; "
               f"reaches the floor {floor} at epoch {at_floor} (one per seed)")
    if len(s0) < 2:
        return not_testable("one epoch: no P_up update to check", summary, p_up=seqs)
    ok = start and mono and eq9
    return Verdict("implementation check", summary, {"p_up": seqs}, passed=ok,
                   headline=f"P_up follows eq. (9) with floor {floor} in every seed" if ok
                   else "P_up departs from eq. (9)")


def _ds_fig7(epoch_index: int, kind: str) -> Callable[[Scope], Verdict]:
    def evaluate(scope: Scope) -> Verdict:
        rs = scope.results(DS_HALF)
        if len(rs[0]["epochs"]) < 2:
            return not_testable("one epoch: no early and late epochs to compare")
        which = "first" if epoch_index == 0 else "last"
        return compare((name(DS_HALF), rs), None, per_run(lambda r: stats.selection_lead([r], epoch_index)[0]), kind,
                       f"selected adversarial minus selected clean samples per batch in the {which} epoch", scale=RAW)
    return evaluate


def _ds_fig8(scope: Scope) -> Verdict:
    rs = scope.results(DS_HALF)
    if len(rs[0]["epochs"]) < 2:
        return not_testable("one epoch: no first and last third of training")
    return compare((name(DS_HALF), rs), None,
                   per_run(lambda r: next(iter(stats.thirds_growth([r], "min_adv_selected")), None)), "higher",
                   "selected minimum adversarial examples per batch, last third of training minus first third "
                   "(per run)", scale=RAW, missing="no probed selected adversarial sample in a third")


RATIO_S = Scale("ratio", " s")
RATIO_STEP = Scale("ratio", " s per step")


def _cost_claim(fa: Family, fb: Family, kind: str, low: float | None = None, high: float | None = None,
                extra: Callable[[Scope], str] | None = None) -> Callable[[Scope], Verdict]:
    """Total training time (pre-training included) of ``fa`` over ``fb``, on log seconds; bounds are ratios."""
    lg = (lambda x: None if x is None else math.log(x))  # noqa: E731

    def evaluate(scope: Scope) -> Verdict:
        v = compare(_side(scope, fa), _side(scope, fb), per_run(lambda r: stats.log_total_costs([r])[0]), kind,
                    "total training time (attack + training passes, pre-training included)", low=lg(low),
                    high=lg(high), scale=RATIO_S)
        if extra is not None:
            v.summary += "; " + extra(scope)
        return v
    return evaluate


def _table1_ds_extra(scope: Scope) -> str:
    bh, bf = (statistics.fmean(stats.total_costs(scope.results(f), "train_backward")) for f in (DS_HALF, DS_FULL))
    return (f"paper ratio {paper.ds_table1_ratio('p_up=0.5'):.3f}; training backward passes {bh:,.0f} vs "
            f"{bf:,.0f}")


def _table1_dong_extra(scope: Scope) -> str:
    t = paper.DS_TABLE1_S
    return (f"paper {t['dong']:,.0f} / {t['p_up=1']:,.0f} = {paper.ds_table1_ratio('dong'):.2f}; our subset run "
            "takes as many optimizer steps as PGD-AT (dong_steps = pgd-at) after a PGD-AT pre-training run, so "
            "about 2 is expected by design")


def _table1_adaptive_extra(scope: Scope) -> str:
    return f"paper ratio {paper.ds_table1_ratio('adaptive'):.3f}"


def _cost_per_step(scope: Scope) -> Verdict:
    ds, rob = _side(scope, DS_HALF), _side(scope, ROBUST)
    v = compare(ds, rob, per_run(lambda r: math.log(stats.per_step(r)["time_s"])), "at_most",
                "training time per optimizer step", high=math.log(1 + stats.COST_BAND), scale=RATIO_STEP)
    f_ds, f_rob = (statistics.fmean(stats.per_step(r)["f2b"] for r in rs) for _, rs in (ds, rob))
    ratio = f_ds / f_rob if f_rob else math.nan
    v.summary += (f"; sample passes per step F + 2B: {f_ds:,.0f} vs {f_rob:,.0f} (ratio {ratio:.3f}, exact); "
                  f"paper Table I, reading its 'robust' as PGD-AT: {paper.ds_table1_ratio('p_up=0.5'):.3f}")
    v.numbers["f2b_ratio"] = ratio
    return v


# ------------------------------------------------------------------------ CAT
def _cat_fig1(gap: str) -> Callable[[Scope], Verdict]:
    def evaluate(scope: Scope) -> Verdict:
        rs = scope.results(CAT_TIMED)
        if not any(stats.similarity_records({"CAT": rs}, gap)):
            why = "no similarity measurements (one step per epoch)" if gap == "step" else \
                "one epoch: no pair of epochs to compare"
            return not_testable(why)
        what = "consecutive iterations" if gap == "step" else "one epoch apart"
        return compare(("CAT", rs), None, per_run(lambda r: next(iter(stats.similarity_per_run([r], gap)), None)),
                       "at_least", f"mean cosine similarity of the predictions, {what} (per run, mean over epochs)",
                       low=stats.SIMILAR_COSINE, scale=RAW, missing="no measurement")
    return evaluate


def _cat_table(dataset: str, metric: str, base: Family = AT_TIMED) -> Callable[[Scope], Verdict]:
    """CAT against ``base`` (AT; or the class-balanced uniform control) in time to accuracy levels."""
    def evaluate(scope: Scope) -> Verdict:
        at, cat = scope.results(base), scope.results(CAT_TIMED)  # Claim.run picks the table's dataset
        usable = [[r for r in rs if not stats.collapsed(r)] for rs in (at, cat)]
        if not all(usable):
            return not_testable("collapsed runs: every run of a method collapsed")
        levels, _ = stats.speedups(*usable, metric)
        common = stats.common_levels(usable, levels, metric)
        printed = paper.paper_speedups(dataset, metric)
        fractions = ", ".join(f"{f:.0%}" for f in stats.SPEEDUP_FRACTIONS)
        dropped = [lv for lv in levels if lv not in common]
        what = (f"time to {_metric_name(metric)} accuracy levels " + ", ".join(_pct(lv) for lv in common)
                + f" ({fractions} of the lower best mean accuracy"
                + (f"; {', '.join(_pct(lv) for lv in dropped)} left out, not reached by every run" if dropped else "")
                + "), AT over CAT, geometric mean over the levels")
        if not common:
            return not_testable("no accuracy level was reached by every run of both methods")
        v = compare((name(base), at), ("CAT", cat), lambda a, b: (stats.mean_log_times(a, common, metric),
                                                                    stats.mean_log_times(b, common, metric)),
                    "higher", what.replace("AT over CAT", f"{name(base)} over CAT"), scale=Scale("ratio", " s"))
        if base != AT_TIMED:
            return v
        v.summary += f"; the paper's speed-ups on this table's {_metric_name(metric)} rows: median " \
                     f"{statistics.median(printed):.2f}x ({min(printed):.2f}x to {max(printed):.2f}x)"
        return v
    return evaluate


def _cat_fig2_3(end: str) -> Callable[[Scope], Verdict]:
    def evaluate(scope: Scope) -> Verdict:
        numbers = scope.sampling_numbers()
        runs = {n: scope.results(Family.sampling(n)) for n in numbers}
        level = stats.sampling_level(runs)
        inner = [n for n in numbers[1:-1] if stats.time_to_level(runs[n], level) is not None]
        if len(numbers) < 3 or not inner:
            return not_testable("no sampling number inside the range reaches the level in every run"
                                if len(numbers) >= 3 else "fewer than three sampling numbers at this profile")
        fastest = min(inner, key=lambda n: stats.time_to_level(runs[n], level))
        other = numbers[0] if end == "small" else numbers[-1]
        times = {n: stats.time_to_level(rs, level) for n, rs in runs.items()}
        shown = ", ".join(f"{n}: {'never (some seed)' if t is None else f'{t:.1f} s'}" for n, t in times.items())
        v = compare((f"N = {fastest}", runs[fastest]), (f"N = {other}", runs[other]),
                    per_run(lambda r: (lambda t: None if t is None else math.log(t))(
                        stats.run_times_to_level([r], level)[0])), "lower",
                    f"time to {_pct(level)} robust accuracy ({stats.SAMPLING_FRACTION:.0%} of the lowest best over the "
                    f"sampling numbers), the fastest inner sampling number (chosen from the data) over the "
                    f"{'smallest' if end == 'small' else 'largest'}", scale=Scale("ratio", " s"),
                    missing="never reached the level")
        v.summary += f"; mean time per sampling number: {shown}"
        v.numbers.update(times=times, level=level, fastest=fastest)
        return v
    return evaluate


# ------------------------------------------------------------------------ beyond the papers: prescreen
def _sooner(new: Family, fraction: float, x: str = "time_s") -> Callable[[Scope], Verdict]:
    """``new`` reaches ``fraction`` of PGD-AT's final robust accuracy sooner than PGD-AT (in ``x``: training
    time ``time_s`` or sample passes ``f2b``).  The level is the lowest last-epoch robust accuracy over
    PGD-AT's seeds (times ``fraction``), so every PGD-AT run reaches it; a ``new`` run that never reaches it
    within its schedule makes the claim not reproduced."""
    unit = " s" if x == "time_s" else " passes"

    def evaluate(scope: Scope) -> Verdict:
        at, rs = _side(scope, ROBUST), _side(scope, new)
        usable = [r for r in at[1] if not stats.collapsed(r)]
        if not usable:
            return not_testable("every PGD-AT run collapsed")
        level = fraction * min(r["epochs"][-1]["robust_acc"] for r in usable)
        what = (f"{'training time' if x == 'time_s' else 'sample passes (F + 2B)'} to {_pct(level)} robust "
                f"accuracy ({fraction:.0%} of PGD-AT's lowest final robust accuracy over its seeds; per-epoch "
                "evaluation)")
        never = [r["config"]["seed"] for r in rs[1] if not stats.collapsed(r)
                 and stats.level_stats([r], level).reached == 0]
        if never and len(rs[1]) - len(never) < 2:
            return Verdict("not reproduced", f"{what}: {_collapse_text(rs[0], never)} never reached it within its "
                           "schedule", {"level": level, "never": never},
                           headline=f"{rs[0]} never reaches {_pct(level)} (seeds {never})")

        def log_cost(r: Result) -> float | None:
            s = stats.level_stats([r], level)
            return math.log(s.mean(x)) if s.reached and s.mean(x) else None
        v = compare(rs, at, per_run(log_cost), "lower", what, scale=Scale("ratio", unit),
                    missing="never reached the level")
        v.numbers["level"] = level
        return v
    return evaluate


# ------------------------------------------------------------------------ the ledger
def _c(id: str, paper_: str, item: str, text: str, page: str, evaluate: Callable[[Scope], Verdict],
       dataset: str | None = None) -> Claim:
    """A ledger row; DS's claims (and ours, on its track) are about CIFAR-10, DS's dataset."""
    if dataset is None and (paper_ == "DS" or page in (WS,)):
        dataset = "cifar10"
    return Claim(id, paper_, item, text, page, evaluate, dataset)


F3, F45, F910, T1 = "ds_fig3_p_up", "ds_fig4_5_accuracy", "ds_fig9_10_selection_methods", "ds_table1_time"
CT, CF1, CF23 = "cat_tables_time_to_accuracy", "cat_fig1_similarity", "cat_fig2_3_sampling_number"
WS = "which_selection"
CLAIMS: list[Claim] = [
    _c("ds-fig3-clean", "DS", "Fig. 3", "P_up = 0.5 slightly beats P_up = 1 in clean accuracy.", F3,
       _final_claim(DS_HALF, DS_FULL, "clean_acc", "higher")),
    *[_c(f"ds-fig3-robust-{p}", "DS", "Fig. 3", f"P_up = {p} stays close to P_up = 1 in robust accuracy.", F3,
         _final_claim(Family.ds(p), DS_FULL, "robust_acc", "close")) for p in (0.5, 0.75)],
    *[_c(f"ds-fig3-small-{p}-{m.split('_')[0]}", "DS", "Fig. 3",
         f"P_up = {p} brings no gain over P_up = 0.5 in {m.split('_')[0]} accuracy.", F3,
         _final_claim(Family.ds(p), DS_HALF, m, "no_gain")) for p in P_UP_SWEEP if p < 0.5
      for m in ("clean_acc", "robust_acc")],
    _c("ds-fig4-ds", "DS", "Fig. 4", "DS with P_up = 0.5 improves clean accuracy over PGD-AT.", F45,
       _final_claim(DS_HALF, ROBUST, "clean_acc", "higher")),
    _c("ds-fig4-eq9", "DS", "Fig. 4", "DS with P_up by eq. (9) improves clean accuracy over PGD-AT.", F45,
       _final_claim(ADAPTIVE, ROBUST, "clean_acc", "higher")),
    _c("ds-fig5-ds", "DS", "Fig. 5", "DS with P_up = 0.5 does not hurt robust accuracy (against PGD-AT).", F45,
       _final_claim(DS_HALF, ROBUST, "robust_acc", "not_worse")),
    _c("ds-fig5-eq9", "DS", "Fig. 5", "DS with P_up by eq. (9) does not hurt robust accuracy (against PGD-AT).",
       F45, _final_claim(ADAPTIVE, ROBUST, "robust_acc", "not_worse")),
    _c("ds-fig6", "DS", "Fig. 6", "Under eq. (9) P_up starts at 1 and follows (1 - acc) P_up per epoch "
       "(with our floor).", "ds_fig6_adaptive_p_up", _ds_fig6),
    _c("ds-fig7-early", "DS", "Fig. 7", "With P_up = 0.5, the first epoch selects more adversarial than clean "
       "samples.", "ds_fig7_selected_counts", _ds_fig7(0, "higher")),
    _c("ds-fig7-late", "DS", "Fig. 7", "With P_up = 0.5, the last epoch selects more clean than adversarial "
       "samples.", "ds_fig7_selected_counts", _ds_fig7(-1, "lower")),
    _c("ds-fig8", "DS", "Fig. 8", "The number of selected minimum adversarial examples grows over training.",
       "ds_fig8_min_adv", _ds_fig8),
    *[_c(f"ds-fig{9 if m == 'clean_acc' else 10}-{key}", "DS", f"Fig. {9 if m == 'clean_acc' else 10}",
         f"DS beats {who} in {m.split('_')[0]} accuracy.", F910, _final_claim(DS_HALF, fam, m, "higher"))
      for m in ("clean_acc", "robust_acc") for key, who, fam in (("random", "random selection", RANDOM),
                                                                 ("dong", "Dong et al.'s subset", DONG))],
    _c("ds-table1-ds", "DS", "Table I", "DS with P_up = 0.5 trains faster than with P_up = 1.", T1,
       _cost_claim(DS_HALF, DS_FULL, "lower", extra=_table1_ds_extra)),
    _c("ds-table1-dong", "DS", "Table I", "Dong et al.'s method (with its pre-training) costs about twice PGD-AT.",
       T1, _cost_claim(DONG, ROBUST, "within", 2 * (1 - stats.COST_BAND), 2 * (1 + stats.COST_BAND),
                       extra=_table1_dong_extra)),
    _c("ds-table1-adaptive-p1", "DS", "Table I", "DS with eq. (9) costs about as much as P_up = 1.", T1,
       _cost_claim(ADAPTIVE, DS_FULL, "within", 1 - stats.COST_BAND, 1 + stats.COST_BAND,
                   extra=_table1_adaptive_extra)),
    _c("ds-table1-adaptive-half", "DS", "Table I", "DS with eq. (9) costs more than P_up = 0.5.", T1,
       _cost_claim(ADAPTIVE, DS_HALF, "higher")),
    _c("ds-cost-per-step", "DS", "Table I", "A DS step (P_up = 0.5) costs no more than a PGD-AT step: both "
       "backpropagate b' samples and pay the same attack.", T1, _cost_per_step),
    _c("cat-fig1-step", "CAT", "Fig. 1", "Predictions on a sample's adversarial examples at consecutive "
       "iterations are highly similar (cosine).", CF1, _cat_fig1("step")),
    _c("cat-fig1-epoch", "CAT", "Fig. 1", "Predictions on a sample's adversarial examples one epoch apart (the "
       "typical staleness of a CAT weight) are highly similar (cosine).", CF1, _cat_fig1("epoch")),
    *[_c(f"cat-table{t}-{m.split('_')[0]}", "CAT", f"Table {t}",
         f"CAT reaches a given {m.split('_')[0]} accuracy faster than AT on {'MNIST' if t == 1 else 'CIFAR-10'}.",
         CT, _cat_table(ds, m), ds) for t, ds in ((1, "mnist"), (2, "cifar10")) for m in ("clean_acc", "robust_acc")],
    _c("cat-competitive", "CAT", "Tables 1-2", "CAT does not hurt final robust accuracy (against AT, MNIST).", CT,
       _final_claim(CAT_TIMED, AT_TIMED, "robust_acc", "not_worse"), "mnist"),
    _c("cat-competitive-cifar10", "CAT", "Tables 1-2", "CAT does not hurt final robust accuracy (against AT, "
       "CIFAR-10).", CT, _final_claim(CAT_TIMED, AT_TIMED, "robust_acc", "not_worse"), "cifar10"),
    _c("cat-weights-robust", "CAT", "Table 1 (control)", "CAT's speed-up comes from its weights: CAT reaches robust "
       "accuracy levels faster than its class-balanced uniform control (MNIST).", CT,
       _cat_table("mnist", "robust_acc", UNIFORM_TIMED), "mnist"),
    _c("cat-fig2-3-small", "CAT", "Figs. 2-3", "Convergence is faster at an intermediate sampling number than at "
       "the smallest.", CF23, _cat_fig2_3("small")),
    _c("cat-fig2-3-large", "CAT", "Figs. 2-3", "Convergence is faster at an intermediate sampling number than at "
       "the largest.", CF23, _cat_fig2_3("large")),
    *[_c(f"new-prescreen-sooner-{round(100 * f)}", "ours", "prescreen", f"prescreen reaches {f:.0%} of PGD-AT's "
         "final robust accuracy sooner than PGD-AT in wall time (CIFAR-10).", WS, _sooner(PRESCREEN, f))
      for f in PRESCREEN_FRACTIONS],
    _c("new-prescreen-passes", "ours", "prescreen", "prescreen reaches PGD-AT's final robust accuracy in fewer "
       "sample passes than PGD-AT (CIFAR-10).", WS, _sooner(PRESCREEN, 1.0, "f2b")),
    _c("new-prescreen-final", "ours", "prescreen", "prescreen does not hurt final robust accuracy (against PGD-AT, "
       "CIFAR-10).", WS, _final_claim(PRESCREEN, ROBUST, "robust_acc", "not_worse")),
    _c("new-ds-warmup-clean", "ours", "DS warm-up", f"DS with P_up = 0.5 after {WARMUP_EPOCHS} warm-up epochs at "
       "P_up = 1 improves clean accuracy over PGD-AT (CIFAR-10).", F45,
       _final_claim(DS_WARM, ROBUST, "clean_acc", "higher"), "cifar10"),
    _c("new-ds-warmup-robust", "ours", "DS warm-up", f"DS with P_up = 0.5 after {WARMUP_EPOCHS} warm-up epochs at "
       "P_up = 1 does not hurt robust accuracy (against PGD-AT, CIFAR-10).", F45,
       _final_claim(DS_WARM, ROBUST, "robust_acc", "not_worse"), "cifar10"),
]


def claims_for(page: str) -> list[Claim]:
    """The claims a page tests."""
    return [c for c in CLAIMS if c.page == page]


def evaluate_claims(scope: Scope, page: str | None = None,
                    seeds_for: Mapping[str, Sequence[int]] | None = None) -> list[tuple[Claim, Verdict]]:
    """Evaluate every claim (or those of one page) from the cached results of ``scope`` (:meth:`Claim.run`).

    ``seeds_for``: {dataset: seeds} for the claims about one dataset (e.g. CAT Table 2 with
    the CAT page's ``cifar_seeds``); without it such a claim uses its own default.
    """
    chosen = CLAIMS if page is None else claims_for(page)
    seeds_for = seeds_for or {}
    return [(c, c.run(scope, seeds_for.get(c.dataset) if c.dataset else None)) for c in chosen]


# ------------------------------------------------------------------------ beyond the papers
def budget_verdict(runs: Mapping[str, Sequence[dict[str, Any]]], budget: float, new: str,
                   metric: str = "robust_acc", interpolate: bool = False, x: str = "train_time_s") -> str:
    """A plain sentence: the methods ranked by ``metric`` within ``budget``, and ``new`` against each other
    method (difference of means with its Welch 95 % interval, and whether the interval excludes zero).
    Collapsed runs are left out (:func:`~advsel.repro.stats.at_budget`); a method with no other run is named."""
    everything = stats.at_budget(runs, budget, metric, interpolate, x)
    vals = {k: v for k, v in everything.items() if v}
    dead = [k for k, rs in runs.items() if rs and all(stats.collapsed(r) for r in rs)]
    missing = [k for k, v in everything.items() if not v and k not in dead]
    note = "".join([f" ({', '.join(missing)}: no evaluation yet within this budget)" if missing else "",
                    f" ({', '.join(dead)}: every run collapsed, left out)" if dead else ""])
    if new not in vals:
        return f"{new} has no evaluation within this budget{note}."
    mean = {k: statistics.fmean(v) for k, v in vals.items()}
    ranked = sorted(mean, key=mean.get, reverse=True)
    if len(ranked) == 1:  # nothing to compare with yet
        return f"Within this budget only {new} has an evaluation ({100 * mean[new]:.1f}%){note}."
    unit = {"train_time_s": f"{budget:.1f} s of training", "f2b": f"{budget:,.0f} sample passes",
            "step": f"{budget:.0f} iterations"}[x]
    label = "robust" if metric == "robust_acc" else "clean"
    parts = []
    for other in (k for k in ranked if k != new):
        d = mean[new] - mean[other]
        word = "higher" if d > 0 else "lower"
        if min(len(vals[new]), len(vals[other])) < 2:
            sure = "a single run on a side, no interval"
        else:
            iv = stats.welch_interval(vals[new], vals[other])
            excl = "excludes" if iv.lo > 0 or iv.hi < 0 else "includes"
            sure = f"95% interval [{100 * iv.lo:+.1f}, {100 * iv.hi:+.1f}], {excl} zero"
        parts.append(f"{100 * abs(d):.1f} points {word} than {other} ({sure})")
    return (f"Within {unit}, {label} accuracy ranks " + " > ".join(f"{k} {100 * mean[k]:.1f}%" for k in ranked)
            + f"; {new} is " + "; ".join(parts) + note + ".")
