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
from .scope import P_UP_SWEEP, SAMPLING_PROFILES, WARMUP_EPOCHS, Family, Scope
from .stats import Result
from .verdicts import (
    RAW,
    Claim,
    Scale,
    Verdict,
    holm_over_figures,
    judge,
    label_seeds,
    not_run,
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
STANDARD = Family.method("standard")
NAMES = {DS_HALF: "DS P_up = 0.5", DS_FULL: "DS P_up = 1", ROBUST: "PGD-AT", ADAPTIVE: "DS eq. (9)",
         STANDARD: "standard training", DS_WARM: f"DS warm-up ({WARMUP_EPOCHS} epochs at P_up = 1, then 0.5)",
         RANDOM: "random", DONG: "Dong et al.", AT_TIMED: "AT", CAT_TIMED: "CAT",
         UNIFORM_TIMED: "class-balanced uniform", PRESCREEN: "prescreen"}
PRESCREEN_FRACTIONS = (1.0, 0.9)  # levels: shares of PGD-AT's lowest final robust accuracy over its seeds
ABOVE_CHANCE = 0.10  # CAT Tables: a time-to-accuracy level counts only this far above chance (1 / classes)


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
        if metric == "robust_acc":
            value, ev = stats.robust_value, stats.robust_source(a[1] + b[1])
        else:
            value, ev = (lambda r: stats.final_value(r, metric)), stats.evaluation_short(a[1] + b[1], metric)
        return judge(a, b, per_run(value), k, f"final {_metric_name(metric)} accuracy ({ev})", low=low, high=high)
    return evaluate


# ------------------------------------------------------------------------ DS
def _follows_eq9(rs: Sequence[Result], key: str, floor: float) -> bool:
    """Each epoch's P_up is eq. (9) with the floor applied to the previous epoch's P_up and driving accuracy."""
    return all(abs(b["p_up"] - adaptive_p_up(a["p_up"], a[key], floor)) < 1e-9
               for r in rs for a, b in zip(r["epochs"], r["epochs"][1:], strict=False))


def _swept(p_up: float, evaluate: Callable[[Scope], Verdict]) -> Callable[[Scope], Verdict]:
    """``evaluate``, or ``not run`` at a profile whose P_up sweep leaves ``p_up`` out (:meth:`Scope.p_up_sweep`)."""
    def run(scope: Scope) -> Verdict:
        if p_up not in scope.p_up_sweep():
            return not_run(f"P_up = {p_up:g} is not run at the {scope.profile} profile: one seed would give no "
                           "interval, and the rerun's hour goes to the stall ablation")
        return evaluate(scope)
    return run


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


def _ds_fig7(epoch_index: int, kind: str, family: Family = DS_HALF) -> Callable[[Scope], Verdict]:
    def evaluate(scope: Scope) -> Verdict:
        rs = scope.results(family)
        if len(rs[0]["epochs"]) < 2:
            return not_testable("one epoch: no early and late epochs to compare")
        which = "first" if epoch_index == 0 else "last"
        return judge((name(family), rs), None, per_run(lambda r: stats.selection_lead([r], epoch_index)[0]), kind,
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


PAPER_ATTACK_STEPS = 20  # DS Table I was measured with PGD-20 training; its cost rows count passes at that attack


def _wall_ratio(scope: Scope, fa: Family, fb: Family) -> str:
    """The ratio of geometric-mean training times, labelled as shown only (wall time on a shared machine)."""
    ta, tb = (statistics.fmean(costs.log_total_costs(scope.results(f))) for f in (fa, fb))
    return f"wall-time ratio {math.exp(ta - tb):.3f} (shown, not deciding: two jobs shared two cores)"


def _count_claim(fa: Family, fb: Family, kind: str, low: float | None = None,
                 high: float | None = None) -> Callable[[Scope], Verdict]:
    """Sample passes F + 2B (pre-training included) of ``fa`` over ``fb`` had both trained with the papers' PGD-20
    attack (:func:`~advsel.repro.costs.passes_at`), on log passes; bounds are ratios.  Counts do not depend on the
    weights, so collapsed runs count; the wall-time ratio is shown beside."""
    lg = (lambda x: None if x is None else math.log(x))  # noqa: E731

    def evaluate(scope: Scope) -> Verdict:
        v = judge(_side(scope, fa), _side(scope, fb),
                  per_run(lambda r: math.log(costs.passes_at(r, PAPER_ATTACK_STEPS))), kind,
                  f"sample passes F + 2B at PGD-{PAPER_ATTACK_STEPS} (pre-training included)", low=lg(low),
                  high=lg(high), scale=Scale("ratio", " passes"), keep_collapsed=True)
        v.summary += "; " + _wall_ratio(scope, fa, fb)
        return v
    return evaluate


def _accounting(fa: Family, fb: Family, predicted: Callable[[Scope], float], how: str,
                paper_ratio: float) -> Callable[[Scope], Verdict]:
    """A cost ratio our protocol fixes by construction: ``fa`` over ``fb`` in sample passes at PGD-20 (mean over
    seeds) against the ratio the pass accounting ``predicted`` gives (``how`` says why); an implementation check
    that passes when they agree to 0.1 %, never a reproduction.  The paper's ratio is shown beside."""
    def evaluate(scope: Scope) -> Verdict:
        pa, pb = ([costs.passes_at(r, PAPER_ATTACK_STEPS) for r in scope.results(f)] for f in (fa, fb))
        ratio = statistics.fmean(pa) / statistics.fmean(pb)
        want = predicted(scope)
        ok = abs(ratio / want - 1) < 1e-3
        summary = (f"accounting check (fixed by construction, not a finding): {name(fa)} / {name(fb)} in sample "
                   f"passes F + 2B at PGD-{PAPER_ATTACK_STEPS} = {ratio:.3f}, predicted {want:.3f} ({how}); the "
                   f"paper's Table I time ratio: {paper_ratio:.3f}; " + _wall_ratio(scope, fa, fb))
        return Verdict("implementation check", summary, {"ratio": ratio, "predicted": want, "paper": paper_ratio},
                       passed=ok, headline=f"{ratio:.3f} by construction (predicted {want:.3f}); paper "
                                           f"{paper_ratio:.3f}")
    return evaluate


def _ds_half_predicted(scope: Scope) -> float:
    joint = scope.base().ds_forward == "joint"
    units = [costs.ds_step_units(PAPER_ATTACK_STEPS, p, scoring_pass=True) for p in (0.5, 1.0)]
    return 1.0 if joint else units[0] / units[1]


def _dong_predicted(scope: Scope) -> float:
    """Dong et al. = its PGD-AT pre-training + a subset run of PGD-AT's steps: twice PGD-AT's passes, over DS
    P_up = 1's (PGD-AT's step: 3 x steps + 3 units per sample; DS P_up = 1's: ds_step_units)."""
    at = 3 * PAPER_ATTACK_STEPS + 3
    return 2 * at / costs.ds_step_units(PAPER_ATTACK_STEPS, 1.0, scoring_pass=scope.base().ds_forward != "joint")


def _cost_per_step(scope: Scope) -> Verdict:
    """Ours: the counters agree with the pass model (:func:`~advsel.repro.costs.ds_step_units`) per step."""
    ds, rob = scope.results(DS_HALF), scope.results(ROBUST)
    c = ds[0]["config"]
    b, steps = c["batch_size"], c["steps"]
    want_ds = costs.ds_step_units(steps, 0.5, scoring_pass=c.get("ds_forward", "reforward") != "joint") * b
    want_at = (3 * steps + 3) * b
    got_ds, got_at = (statistics.fmean(costs.per_step(r)["f2b"] for r in rs) for rs in (ds, rob))
    ok = abs(got_ds - want_ds) < 1e-6 * want_ds and abs(got_at - want_at) < 1e-6 * want_at
    ratio = got_ds / got_at
    summary = (f"sample passes F + 2B per step: DS P_up = 0.5 {got_ds:,.0f} (pass model {want_ds:,.0f}), PGD-AT "
               f"{got_at:,.0f} (pass model {want_at:,.0f}); a DS step costs {ratio:.3f}x a PGD-AT step at PGD-"
               f"{steps} ({costs.ds_step_units(PAPER_ATTACK_STEPS, 0.5) / (3 * PAPER_ATTACK_STEPS + 3):.3f}x at "
               f"PGD-{PAPER_ATTACK_STEPS}): the scoring pass over 2b' is what DS adds; "
               + _wall_ratio(scope, DS_HALF, ROBUST).replace("wall-time ratio", "wall-time ratio per run"))
    return Verdict("implementation check", summary, {"ratio": ratio, "f2b": (got_ds, got_at)}, passed=ok,
                   headline=f"a DS step costs {ratio:.3f}x a PGD-AT step in passes, as the pass model says")


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
        chance = 1 / stats.num_classes(usable[0][0])
        low_levels = [lv for lv in common if lv < chance + ABOVE_CHANCE]
        if low_levels:
            return not_testable(f"the accuracy levels {', '.join(pct(lv) for lv in low_levels)} lie within "
                                f"{ABOVE_CHANCE * 100:.0f} points of chance ({pct(chance)}): a run that barely "
                                "learns reaches them by its first evaluation", levels=common)
        printed = paper.paper_speedups(dataset, metric)
        fractions = ", ".join(f"{f:.0%}" for f in speedup.SPEEDUP_FRACTIONS)
        dropped = [lv for lv in lvs if lv not in common]
        what = (f"time to {_metric_name(metric)} accuracy levels " + ", ".join(pct(lv) for lv in common)
                + f" ({fractions} of the lower best mean accuracy"
                + (f"; {', '.join(pct(lv) for lv in dropped)} left out, not reached by every run" if dropped else "")
                + "), AT over CAT in sample passes F + 2B to each level (per-epoch evaluations), geometric mean "
                  "over the levels")
        if not common:
            return not_testable("no accuracy level was reached by every run of both methods")
        v = judge((name(base), at), ("CAT", cat), lambda a, b: (speedup.mean_log_times(a, common, metric, "f2b"),
                                                                  speedup.mean_log_times(b, common, metric, "f2b")),
                  "higher", what.replace("AT over CAT", f"{name(base)} over CAT"), scale=Scale("ratio", " passes"))
        wall = [statistics.fmean(x for x in speedup.mean_log_times(rs, common, metric) if x is not None)
                for rs in (at, cat)]
        v.summary += (f"; wall-time ratio {math.exp(wall[0] - wall[1]):.3f} (shown, not deciding: two jobs shared "
                      "two cores)")
        if base != AT_TIMED:
            return v
        v.summary += f"; the paper's speed-ups on this table's {_metric_name(metric)} rows: median " \
                     f"{statistics.median(printed):.2f}x ({min(printed):.2f}x to {max(printed):.2f}x)"
        return v
    return evaluate


def _cat_fig2_3(end: str) -> Callable[[Scope], Verdict]:
    def evaluate(scope: Scope) -> Verdict:
        numbers = scope.sampling_numbers()
        if scope.profile not in SAMPLING_PROFILES:
            return not_run(f"not run at the {scope.profile} profile: three sampling numbers of CAT and PGD-AT would "
                           "take a quarter of the rerun's hour (they run at the paper and gpu profiles)")
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
         _swept(p, _final_claim(Family.ds(p), DS_HALF, m, "no_gain"))) for p in P_UP_SWEEP if p < 0.5
      for m in ("clean_acc", "robust_acc")],
    _c("ds-fig4-ds", "DS", "Fig. 4", "DS with P_up = 0.5 improves clean accuracy over PGD-AT.", DS_FIG4_5_PAGE,
       _final_claim(DS_HALF, ROBUST, "clean_acc", "higher")),
    _c("ds-fig4-eq9", "DS", "Fig. 4", "DS with P_up by eq. (9) improves clean accuracy over PGD-AT.", DS_FIG4_5_PAGE,
       _final_claim(ADAPTIVE, ROBUST, "clean_acc", "higher")),
    _c("ds-fig4-ds-standard", "DS", "Fig. 4", "DS with P_up = 0.5 improves clean accuracy over standard training.",
       DS_FIG4_5_PAGE, _final_claim(DS_HALF, STANDARD, "clean_acc", "higher")),
    _c("ds-fig4-eq9-standard", "DS", "Fig. 4", "DS with P_up by eq. (9) improves clean accuracy over standard "
       "training.", DS_FIG4_5_PAGE, _final_claim(ADAPTIVE, STANDARD, "clean_acc", "higher")),
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
    _c("ds-table1-ds", "DS", "Table I", "DS with P_up = 0.5 trains faster than with P_up = 1 (Table I's 'Robust "
       "with P_up = 1' read as DS with P_up = 1 in every row).", DS_TABLE1_PAGE,
       _accounting(DS_HALF, DS_FULL, _ds_half_predicted, "only the backward passes of the selected share are saved "
                   "(reforward); with the joint forward nothing is", paper.ds_table1_ratio("p_up=0.5"))),
    _c("ds-table1-dong", "DS", "Table I", "Dong et al.'s method (with its pre-training) costs about twice DS with "
       "P_up = 1.", DS_TABLE1_PAGE,
       _accounting(DONG, DS_FULL, _dong_predicted, "its PGD-AT pre-training plus a subset run of as many steps as "
                   "PGD-AT (dong_steps = pgd-at)", paper.ds_table1_ratio("dong"))),
    _c("ds-table1-adaptive-p1", "DS", "Table I", "DS with eq. (9) costs about as much as P_up = 1.", DS_TABLE1_PAGE,
       _count_claim(ADAPTIVE, DS_FULL, "within", 1 - COST_BAND, 1 + COST_BAND)),
    _c("ds-table1-adaptive-half", "DS", "Table I", "DS with eq. (9) costs more than P_up = 0.5.", DS_TABLE1_PAGE,
       _count_claim(ADAPTIVE, DS_HALF, "higher")),
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
    *[_c(f"cat-weights-{m.split('_')[0]}", "CAT", "Table 1 (control)", f"CAT's speed-up comes from its weights: CAT "
         f"reaches {m.split('_')[0]} accuracy levels faster than its class-balanced uniform control (MNIST).",
         CAT_TABLES_PAGE, _cat_table("mnist", m, UNIFORM_TIMED), "mnist") for m in ("clean_acc", "robust_acc")],
    _c("cat-fig2-3-small", "CAT", "Figs. 2-3", "Convergence is faster at an intermediate sampling number than at "
       "the smallest.", CAT_FIG2_3_PAGE, _cat_fig2_3("small")),
    _c("cat-fig2-3-large", "CAT", "Figs. 2-3", "Convergence is faster at an intermediate sampling number than at "
       "the largest.", CAT_FIG2_3_PAGE, _cat_fig2_3("large")),
    _c("new-ds-cost-per-step", "ours", "DS cost per step", "Our pass counters agree with the pass model: a DS step "
       "(P_up = 0.5) pays PGD-AT's attack plus a scoring pass over the 2b'.", DS_TABLE1_PAGE, _cost_per_step,
       "cifar10"),
    *[_c(f"new-prescreen-sooner-{round(100 * f)}", "ours", "prescreen", f"prescreen reaches {f:.0%} of PGD-AT's "
         "final robust accuracy in fewer sample passes than PGD-AT (CIFAR-10).", WHICH_PAGE,
         _sooner(PRESCREEN, f, "f2b")) for f in PRESCREEN_FRACTIONS],
    _c("new-prescreen-final", "ours", "prescreen", "prescreen does not hurt final robust accuracy (against PGD-AT, "
       "CIFAR-10).", WHICH_PAGE, _final_claim(PRESCREEN, ROBUST, "robust_acc", "not_worse")),
    *[_c(f"new-ds-warmup-{key}", "ours", f"DS warm-up ({item})", f"DS with P_up = 0.5 after {WARMUP_EPOCHS} warm-up "
         f"epochs at P_up = 1 {text} (CIFAR-10).", page, evaluate, "cifar10")
      for key, item, text, page, evaluate in (
          ("p1-clean", "Fig. 3", "beats P_up = 1 in clean accuracy", DS_FIG3_PAGE,
           _final_claim(DS_WARM, DS_FULL, "clean_acc", "higher")),
          ("p1-robust", "Fig. 3", "stays close to P_up = 1 in robust accuracy", DS_FIG3_PAGE,
           _final_claim(DS_WARM, DS_FULL, "robust_acc", "close")),
          ("clean", "Figs. 4-5", "improves clean accuracy over PGD-AT", DS_FIG4_5_PAGE,
           _final_claim(DS_WARM, ROBUST, "clean_acc", "higher")),
          ("standard", "Figs. 4-5", "improves clean accuracy over standard training", DS_FIG4_5_PAGE,
           _final_claim(DS_WARM, STANDARD, "clean_acc", "higher")),
          ("robust", "Figs. 4-5", "does not hurt robust accuracy (against PGD-AT)", DS_FIG4_5_PAGE,
           _final_claim(DS_WARM, ROBUST, "robust_acc", "not_worse")),
          ("late", "Fig. 7", "selects more clean than adversarial samples in the last epoch", DS_FIG7_PAGE,
           _ds_fig7(-1, "lower", DS_WARM)),
          *[(f"{key}-{m.split('_')[0]}", "Figs. 9-10", f"beats {who} in {m.split('_')[0]} accuracy",
             DS_FIG9_10_PAGE, _final_claim(DS_WARM, fam, m, "higher"))
            for m in ("clean_acc", "robust_acc") for key, who, fam in (("random", "random selection", RANDOM),
                                                                       ("dong", "Dong et al.'s subset", DONG))])],
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
    rows = [(c, c.run(scope, seeds_for.get(c.dataset) if c.dataset else None)) for c in chosen]
    holm_over_figures(rows)
    return rows
