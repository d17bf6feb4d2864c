"""The papers' claims, one ledger row per sub-claim, each with an evaluator that turns cached results
into a verdict.

:data:`CLAIMS` lists every sub-claim of both papers the book tests (a figure that makes two
statements gives two rows; no verdict combines others), and the claims of ours beside them.
An evaluator takes the page's :class:`~advsel.repro.scope.Scope`, reads its numbers through
:mod:`~advsel.repro.stats`, :mod:`~advsel.repro.costs` and :mod:`~advsel.repro.speedup`, as
the tables above the verdict do, and asks :func:`~advsel.repro.verdicts.judge` for the
verdict; :func:`evaluate_claims` runs them for a page or the ledger.  The vocabulary and
the test are in :mod:`~advsel.repro.verdicts` and :mod:`~advsel.repro.inference`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence

from ..p_up import adaptive_p_up
from . import costs, paper, speedup, stats
from .inference import CLOSE_BAND, COST_BAND, SIMILAR_COSINE
from .scope import P_UP_SWEEP, WARMUP_EPOCHS, Family, Scope
from .stats import Result
from .verdicts import (
    RATIO_S,
    RATIO_STEP,
    RAW,
    Claim,
    Scale,
    Verdict,
    judge,
    label_seeds,
    not_testable,
    pct,
    per_run,
)

# the pages that test claims
DS_FIG3_PAGE, DS_FIG4_5_PAGE = "ds_fig3_p_up", "ds_fig4_5_accuracy"
DS_FIG6_PAGE, DS_FIG7_PAGE, DS_FIG8_PAGE = "ds_fig6_adaptive_p_up", "ds_fig7_selected_counts", "ds_fig8_min_adv"
DS_FIG9_10_PAGE, DS_TABLE1_PAGE = "ds_fig9_10_selection_methods", "ds_table1_time"
CAT_TABLES_PAGE, CAT_FIG1_PAGE = "cat_tables_time_to_accuracy", "cat_fig1_similarity"
CAT_FIG2_3_PAGE, WHICH_PAGE = "cat_fig2_3_sampling_number", "which_selection"

# the run families the claims compare, and how verdicts name them
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


# ------------------------------------------------------------------------ evaluators
def _side(scope: Scope, f: Family) -> tuple[str, list[Result]]:
    return name(f), scope.results(f)


def _metric_name(metric: str) -> str:
    return metric.split("_")[0]


def _final_claim(fa: Family, fb: Family, metric: str, kind: str) -> Callable[[Scope], Verdict]:
    """``fa`` against ``fb`` in final ``metric``: ``higher`` (beats), ``close`` (within the band),
    ``not_worse`` (does not hurt: at least -band) or ``no_gain`` (at most +band)."""
    band = CLOSE_BAND
    k, low, high = {"higher": ("higher", None, None), "close": ("within", -band, band),
                    "not_worse": ("at_least", -band, None), "no_gain": ("at_most", None, band)}[kind]

    def evaluate(scope: Scope) -> Verdict:
        a, b = _side(scope, fa), _side(scope, fb)
        ev = stats.evaluation_short(a[1] + b[1], metric)
        return judge(a, b, per_run(lambda r: stats.final_value(r, metric)), k,
                     f"final {_metric_name(metric)} accuracy ({ev})", low=low, high=high)
    return evaluate


# ------------------------------------------------------------------------ DS
def _follows_eq9(rs: Sequence[Result], key: str, floor: float) -> bool:
    """Each epoch's P_up is eq. (9) with the floor applied to the previous epoch's P_up and driving accuracy."""
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
        return judge((name(DS_HALF), rs), None, per_run(lambda r: stats.selection_lead([r], epoch_index)[0]), kind,
                     f"selected adversarial minus selected clean samples per batch in the {which} epoch", scale=RAW)
    return evaluate


def _ds_fig8(scope: Scope) -> Verdict:
    rs = scope.results(DS_HALF)
    if len(rs[0]["epochs"]) < 2:
        return not_testable("one epoch: no first and last third of training")
    return judge((name(DS_HALF), rs), None,
                 per_run(lambda r: next(iter(stats.thirds_growth([r], "min_adv_selected")), None)), "higher",
                 "selected minimum adversarial examples per batch, last third of training minus first third "
                 "(per run)", scale=RAW, missing="no probed selected adversarial sample in a third")


def _cost_claim(fa: Family, fb: Family, kind: str, low: float | None = None, high: float | None = None,
                extra: Callable[[Scope], str] | None = None) -> Callable[[Scope], Verdict]:
    """Total training time (pre-training included) of ``fa`` over ``fb``, on log seconds; bounds are ratios."""
    lg = (lambda x: None if x is None else math.log(x))  # noqa: E731

    def evaluate(scope: Scope) -> Verdict:
        v = judge(_side(scope, fa), _side(scope, fb), per_run(lambda r: costs.log_total_costs([r])[0]), kind,
                  "total training time (attack + training passes, pre-training included)", low=lg(low),
                  high=lg(high), scale=RATIO_S)
        if extra is not None:
            v.summary += "; " + extra(scope)
        return v
    return evaluate


def _table1_ds_extra(scope: Scope) -> str:
    bh, bf = (statistics.fmean(costs.total_costs(scope.results(f), "train_backward")) for f in (DS_HALF, DS_FULL))
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
    v = judge(ds, rob, per_run(lambda r: math.log(costs.per_step(r)["time_s"])), "at_most",
              "training time per optimizer step", high=math.log(1 + COST_BAND), scale=RATIO_STEP)
    f_ds, f_rob = (statistics.fmean(costs.per_step(r)["f2b"] for r in rs) for _, rs in (ds, rob))
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
        return judge(("CAT", rs), None, per_run(lambda r: next(iter(stats.similarity_per_run([r], gap)), None)),
                     "at_least", f"mean cosine similarity of the predictions, {what} (per run, mean over epochs)",
                     low=SIMILAR_COSINE, scale=RAW, missing="no measurement")
    return evaluate


def _cat_table(dataset: str, metric: str, base: Family = AT_TIMED) -> Callable[[Scope], Verdict]:
    """CAT against ``base`` (AT; or the class-balanced uniform control) in time to accuracy levels."""
    def evaluate(scope: Scope) -> Verdict:
        at, cat = scope.results(base), scope.results(CAT_TIMED)  # Claim.run picks the table's dataset
        usable = [[r for r in rs if not stats.collapsed(r)] for rs in (at, cat)]
        if not all(usable):
            return not_testable("collapsed runs: every run of a method collapsed")
        lvs, _ = speedup.speedups(*usable, metric)
        common = speedup.common_levels(usable, lvs, metric)
        printed = paper.paper_speedups(dataset, metric)
        fractions = ", ".join(f"{f:.0%}" for f in speedup.SPEEDUP_FRACTIONS)
        dropped = [lv for lv in lvs if lv not in common]
        what = (f"time to {_metric_name(metric)} accuracy levels " + ", ".join(pct(lv) for lv in common)
                + f" ({fractions} of the lower best mean accuracy"
                + (f"; {', '.join(pct(lv) for lv in dropped)} left out, not reached by every run" if dropped else "")
                + "), AT over CAT, geometric mean over the levels")
        if not common:
            return not_testable("no accuracy level was reached by every run of both methods")
        v = judge((name(base), at), ("CAT", cat), lambda a, b: (speedup.mean_log_times(a, common, metric),
                                                                  speedup.mean_log_times(b, common, metric)),
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
        level = speedup.sampling_level(runs)
        inner = [n for n in numbers[1:-1] if speedup.time_to_level(runs[n], level) is not None]
        if len(numbers) < 3 or not inner:
            return not_testable("no sampling number inside the range reaches the level in every run"
                                if len(numbers) >= 3 else "fewer than three sampling numbers at this profile")
        fastest = min(inner, key=lambda n: speedup.time_to_level(runs[n], level))
        other = numbers[0] if end == "small" else numbers[-1]
        times = {n: speedup.time_to_level(rs, level) for n, rs in runs.items()}
        shown = ", ".join(f"{n}: {'never (some seed)' if t is None else f'{t:.1f} s'}" for n, t in times.items())
        v = judge((f"N = {fastest}", runs[fastest]), (f"N = {other}", runs[other]),
                  per_run(lambda r: (lambda t: None if t is None else math.log(t))(
                      speedup.run_times_to_level([r], level)[0])), "lower",
                  f"time to {pct(level)} robust accuracy ({speedup.SAMPLING_FRACTION:.0%} of the lowest best over the "
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
        what = (f"{'training time' if x == 'time_s' else 'sample passes (F + 2B)'} to {pct(level)} robust "
                f"accuracy ({fraction:.0%} of PGD-AT's lowest final robust accuracy over its seeds; per-epoch "
                "evaluation)")
        never = [r["config"]["seed"] for r in rs[1] if not stats.collapsed(r)
                 and speedup.level_stats([r], level).reached == 0]
        if never and len(rs[1]) - len(never) < 2:
            return Verdict("not reproduced", f"{what}: {label_seeds(rs[0], never)} never reached it within its "
                           "schedule", {"level": level, "never": never},
                           headline=f"{rs[0]} never reaches {pct(level)} (seeds {never})")

        def log_cost(r: Result) -> float | None:
            s = speedup.level_stats([r], level)
            return math.log(s.mean(x)) if s.reached and s.mean(x) else None
        v = judge(rs, at, per_run(log_cost), "lower", what, scale=Scale("ratio", unit),
                  missing="never reached the level")
        v.numbers["level"] = level
        return v
    return evaluate


# ------------------------------------------------------------------------ the ledger
def _c(id: str, paper_: str, item: str, text: str, page: str, evaluate: Callable[[Scope], Verdict],
       dataset: str | None = None) -> Claim:
    """A ledger row; DS's claims (and ours, on its track) are about CIFAR-10, DS's dataset."""
    if dataset is None and (paper_ == "DS" or page in (WHICH_PAGE,)):
        dataset = "cifar10"
    return Claim(id, paper_, item, text, page, evaluate, dataset)


CLAIMS: list[Claim] = [
    _c("ds-fig3-clean", "DS", "Fig. 3", "P_up = 0.5 slightly beats P_up = 1 in clean accuracy.", DS_FIG3_PAGE,
       _final_claim(DS_HALF, DS_FULL, "clean_acc", "higher")),
    *[_c(f"ds-fig3-robust-{p}", "DS", "Fig. 3", f"P_up = {p} stays close to P_up = 1 in robust accuracy.", DS_FIG3_PAGE,
         _final_claim(Family.ds(p), DS_FULL, "robust_acc", "close")) for p in (0.5, 0.75)],
    *[_c(f"ds-fig3-small-{p}-{m.split('_')[0]}", "DS", "Fig. 3",
         f"P_up = {p} brings no gain over P_up = 0.5 in {m.split('_')[0]} accuracy.", DS_FIG3_PAGE,
         _final_claim(Family.ds(p), DS_HALF, m, "no_gain")) for p in P_UP_SWEEP if p < 0.5
      for m in ("clean_acc", "robust_acc")],
    _c("ds-fig4-ds", "DS", "Fig. 4", "DS with P_up = 0.5 improves clean accuracy over PGD-AT.", DS_FIG4_5_PAGE,
       _final_claim(DS_HALF, ROBUST, "clean_acc", "higher")),
    _c("ds-fig4-eq9", "DS", "Fig. 4", "DS with P_up by eq. (9) improves clean accuracy over PGD-AT.", DS_FIG4_5_PAGE,
       _final_claim(ADAPTIVE, ROBUST, "clean_acc", "higher")),
    _c("ds-fig5-ds", "DS", "Fig. 5", "DS with P_up = 0.5 does not hurt robust accuracy (against PGD-AT).",
       DS_FIG4_5_PAGE, _final_claim(DS_HALF, ROBUST, "robust_acc", "not_worse")),
    _c("ds-fig5-eq9", "DS", "Fig. 5", "DS with P_up by eq. (9) does not hurt robust accuracy (against PGD-AT).",
       DS_FIG4_5_PAGE, _final_claim(ADAPTIVE, ROBUST, "robust_acc", "not_worse")),
    _c("ds-fig6", "DS", "Fig. 6", "Under eq. (9) P_up starts at 1 and follows (1 - acc) P_up per epoch "
       "(with our floor).", DS_FIG6_PAGE, _ds_fig6),
    _c("ds-fig7-early", "DS", "Fig. 7", "With P_up = 0.5, the first epoch selects more adversarial than clean "
       "samples.", DS_FIG7_PAGE, _ds_fig7(0, "higher")),
    _c("ds-fig7-late", "DS", "Fig. 7", "With P_up = 0.5, the last epoch selects more clean than adversarial "
       "samples.", DS_FIG7_PAGE, _ds_fig7(-1, "lower")),
    _c("ds-fig8", "DS", "Fig. 8", "The number of selected minimum adversarial examples grows over training.",
       DS_FIG8_PAGE, _ds_fig8),
    *[_c(f"ds-fig{9 if m == 'clean_acc' else 10}-{key}", "DS", f"Fig. {9 if m == 'clean_acc' else 10}",
         f"DS beats {who} in {m.split('_')[0]} accuracy.", DS_FIG9_10_PAGE, _final_claim(DS_HALF, fam, m, "higher"))
      for m in ("clean_acc", "robust_acc") for key, who, fam in (("random", "random selection", RANDOM),
                                                                 ("dong", "Dong et al.'s subset", DONG))],
    _c("ds-table1-ds", "DS", "Table I", "DS with P_up = 0.5 trains faster than with P_up = 1.", DS_TABLE1_PAGE,
       _cost_claim(DS_HALF, DS_FULL, "lower", extra=_table1_ds_extra)),
    _c("ds-table1-dong", "DS", "Table I", "Dong et al.'s method (with its pre-training) costs about twice PGD-AT.",
       DS_TABLE1_PAGE, _cost_claim(DONG, ROBUST, "within", 2 * (1 - COST_BAND), 2 * (1 + COST_BAND),
                                   extra=_table1_dong_extra)),
    _c("ds-table1-adaptive-p1", "DS", "Table I", "DS with eq. (9) costs about as much as P_up = 1.", DS_TABLE1_PAGE,
       _cost_claim(ADAPTIVE, DS_FULL, "within", 1 - COST_BAND, 1 + COST_BAND,
                   extra=_table1_adaptive_extra)),
    _c("ds-table1-adaptive-half", "DS", "Table I", "DS with eq. (9) costs more than P_up = 0.5.", DS_TABLE1_PAGE,
       _cost_claim(ADAPTIVE, DS_HALF, "higher")),
    _c("ds-cost-per-step", "DS", "Table I", "A DS step (P_up = 0.5) costs no more than a PGD-AT step: both "
       "backpropagate b' samples and pay the same attack.", DS_TABLE1_PAGE, _cost_per_step),
    _c("cat-fig1-step", "CAT", "Fig. 1", "Predictions on a sample's adversarial examples at consecutive "
       "iterations are highly similar (cosine).", CAT_FIG1_PAGE, _cat_fig1("step")),
    _c("cat-fig1-epoch", "CAT", "Fig. 1", "Predictions on a sample's adversarial examples one epoch apart (the "
       "typical staleness of a CAT weight) are highly similar (cosine).", CAT_FIG1_PAGE, _cat_fig1("epoch")),
    *[_c(f"cat-table{t}-{m.split('_')[0]}", "CAT", f"Table {t}",
         f"CAT reaches a given {m.split('_')[0]} accuracy faster than AT on {'MNIST' if t == 1 else 'CIFAR-10'}.",
         CAT_TABLES_PAGE, _cat_table(ds, m), ds)
      for t, ds in ((1, "mnist"), (2, "cifar10")) for m in ("clean_acc", "robust_acc")],
    _c("cat-competitive", "CAT", "Tables 1-2", "CAT does not hurt final robust accuracy (against AT, MNIST).",
       CAT_TABLES_PAGE, _final_claim(CAT_TIMED, AT_TIMED, "robust_acc", "not_worse"), "mnist"),
    _c("cat-competitive-cifar10", "CAT", "Tables 1-2", "CAT does not hurt final robust accuracy (against AT, "
       "CIFAR-10).", CAT_TABLES_PAGE, _final_claim(CAT_TIMED, AT_TIMED, "robust_acc", "not_worse"), "cifar10"),
    _c("cat-weights-robust", "CAT", "Table 1 (control)", "CAT's speed-up comes from its weights: CAT reaches robust "
       "accuracy levels faster than its class-balanced uniform control (MNIST).", CAT_TABLES_PAGE,
       _cat_table("mnist", "robust_acc", UNIFORM_TIMED), "mnist"),
    _c("cat-fig2-3-small", "CAT", "Figs. 2-3", "Convergence is faster at an intermediate sampling number than at "
       "the smallest.", CAT_FIG2_3_PAGE, _cat_fig2_3("small")),
    _c("cat-fig2-3-large", "CAT", "Figs. 2-3", "Convergence is faster at an intermediate sampling number than at "
       "the largest.", CAT_FIG2_3_PAGE, _cat_fig2_3("large")),
    *[_c(f"new-prescreen-sooner-{round(100 * f)}", "ours", "prescreen", f"prescreen reaches {f:.0%} of PGD-AT's "
         "final robust accuracy sooner than PGD-AT in wall time (CIFAR-10).", WHICH_PAGE, _sooner(PRESCREEN, f))
      for f in PRESCREEN_FRACTIONS],
    _c("new-prescreen-passes", "ours", "prescreen", "prescreen reaches PGD-AT's final robust accuracy in fewer "
       "sample passes than PGD-AT (CIFAR-10).", WHICH_PAGE, _sooner(PRESCREEN, 1.0, "f2b")),
    _c("new-prescreen-final", "ours", "prescreen", "prescreen does not hurt final robust accuracy (against PGD-AT, "
       "CIFAR-10).", WHICH_PAGE, _final_claim(PRESCREEN, ROBUST, "robust_acc", "not_worse")),
    _c("new-ds-warmup-clean", "ours", "DS warm-up", f"DS with P_up = 0.5 after {WARMUP_EPOCHS} warm-up epochs at "
       "P_up = 1 improves clean accuracy over PGD-AT (CIFAR-10).", DS_FIG4_5_PAGE,
       _final_claim(DS_WARM, ROBUST, "clean_acc", "higher"), "cifar10"),
    _c("new-ds-warmup-robust", "ours", "DS warm-up", f"DS with P_up = 0.5 after {WARMUP_EPOCHS} warm-up epochs at "
       "P_up = 1 does not hurt robust accuracy (against PGD-AT, CIFAR-10).", DS_FIG4_5_PAGE,
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
