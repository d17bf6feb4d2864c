"""The claim evaluators of advsel.repro.claims on hand-made results: a Scope whose loader builds them (no training)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from advsel.config import Config
from advsel.p_up import adaptive_p_up
from advsel.repro import claims, equal_cost, pages, verdicts
from advsel.repro import scope as scope_module
from advsel.repro.scope import Scope
from advsel.repro.stats import Result


def family_of(c: Config) -> str:
    """The run family a config of the book belongs to: ``ds:0.5``, ``robust``, ``mnist:cat:100`` (timed) ..."""
    if c.eval_every:
        return f"{c.dataset}:{c.method}:{c.batch_size}"
    if c.method == "ds" and c.p_up_warmup_epochs:
        return f"warmup:{c.p_up}"
    return f"ds:{c.p_up}" if c.method == "ds" else c.method


def world(families: dict[str, Callable[[Config], Result]], profile: str = "cpu",
          seeds: tuple[int, ...] = (0, 1, 2)) -> Scope:
    """A Scope (seeds 0, 1, 2) whose results come from ``families`` by :func:`family_of`."""
    return Scope(profile, "mnist", "auto", seeds, loader=lambda c: families[family_of(c)](c))


def finals(clean: list[float], robust: list[float] | None = None, **extra: Any) -> Callable[[Config], Result]:
    """Results with one epoch whose accuracies are clean[seed], robust[seed] (robust defaults to clean)."""
    robust = robust or clean

    def make(c: Config) -> Result:
        return {"config": c.to_dict(), "epochs": [{"epoch": 1, "clean_acc": clean[c.seed],
                                                   "robust_acc": robust[c.seed], **extra}]}
    return make


def collapsing(seeds: tuple[int, ...], healthy: float = 0.9) -> Callable[[Config], Result]:
    """Three-epoch results: the runs of ``seeds`` end at chance (accuracy 0.1, loss ln 10), the others healthy."""
    def make(c: Config) -> Result:
        dead = c.seed in seeds
        eps = [{"epoch": i + 1, "clean_acc": 0.1 if dead and i else healthy - 0.001 * c.seed,
                "robust_acc": 0.1 if dead and i else healthy - 0.001 * c.seed - 0.2,
                "train_loss": 2.303 if dead and i else 1.0} for i in range(3)]
        return {"config": c.to_dict(), "epochs": eps}
    return make


def costing(seconds: list[float], pretrain_s: float | None = None, steps: int = 10,
            passes: tuple[int, int] = (0, 0)) -> Callable[[Config], Result]:
    """Results whose training took seconds[seed] (plus a pre-training of ``pretrain_s``) in ``steps`` steps."""
    ep = {"epoch": 1, "forward_passes": passes[0], "backward_passes": passes[1], "train_backward": 100,
          "steps": steps}

    def make(c: Config) -> Result:
        pre = {"train_time_s": pretrain_s} if pretrain_s is not None else None
        return {"config": c.to_dict(), "train_time_s": seconds[c.seed], "epochs": [ep], "pretrain": pre}
    return make


def timed(times: list[float], robust: list[float]) -> Callable[[Config], Result]:
    """Results evaluated at ``times`` with robust (= clean) accuracy ``robust``, the same for every seed."""
    def make(c: Config) -> Result:
        evals = [{"step": i + 1, "epoch": 1, "train_time_s": t, "forward_passes": 10 * (i + 1),
                  "backward_passes": 10 * (i + 1), "clean_acc": a, "robust_acc": a}
                 for i, (t, a) in enumerate(zip(times, robust, strict=True))]
        return {"config": c.to_dict(), "evals": evals, "epochs": [{"epoch": 1, "clean_acc": robust[-1],
                                                                    "robust_acc": robust[-1]}]}
    return make


def jittered(times: list[float], robust: list[float], scale: list[float]) -> Callable[[Config], Result]:
    """:func:`timed` with every time multiplied by scale[seed] (seeds differ, so intervals have a width)."""
    return lambda c: timed([t * scale[c.seed] for t in times], robust)(c)


def one(claim_id: str, scope: Scope) -> verdicts.Verdict:
    (claim,) = [c for c in claims.CLAIMS if c.id == claim_id]
    return claim.run(scope)


# ---------------------------------------------------------------------------- vocabulary
def test_verdict_vocabulary_and_labels() -> None:
    assert verdicts.VERDICTS == ("reproduced", "not reproduced", "inconclusive", "not testable at this scale",
                               "implementation check")
    with pytest.raises(ValueError, match="verdict"):
        verdicts.Verdict("partly", "")
    with pytest.raises(ValueError, match="passed"):
        verdicts.Verdict("implementation check", "")  # an implementation check says whether it passes
    with pytest.raises(ValueError, match="passed"):
        verdicts.Verdict("reproduced", "", passed=True)
    assert verdicts.Verdict("implementation check", "", passed=False).label == "implementation check: FAILS"
    assert verdicts.Verdict("inconclusive", "", smoke=True).label == "smoke run, not a finding: inconclusive"
    assert verdicts.fmt([0.5, 0.7]) == "60.0% ± 14.1% (n=2)" and verdicts.fmt([1.5], pct=False) == "1.5 (n=1)"


def test_one_row_per_sub_claim() -> None:
    ids = [c.id for c in claims.CLAIMS]
    assert len(set(ids)) == len(ids) == 39
    # the former compound claims are split: Fig. 3 robust (P_up 0.5 and 0.75), Fig. 3 small (0.25 x 2), Figs. 4/5/9/10
    assert [c.id for c in claims.claims_for("ds_fig3_p_up")] == [
        "ds-fig3-clean", "ds-fig3-robust-0.5", "ds-fig3-robust-0.75",
        "ds-fig3-small-0.25-clean", "ds-fig3-small-0.25-robust"]
    assert [c.id for c in claims.claims_for("ds_fig4_5_accuracy")] == ["ds-fig4-ds", "ds-fig4-eq9", "ds-fig5-ds",
                                                                       "ds-fig5-eq9", "new-ds-warmup-clean",
                                                                       "new-ds-warmup-robust"]
    assert {"cat-fig1-step", "cat-fig1-epoch", "cat-table2-clean", "cat-table2-robust", "ds-cost-per-step"} <= set(ids)


def test_a_former_compound_claim_gives_two_rows_with_their_own_verdicts() -> None:
    fams = {"ds:1.0": finals([0.505, 0.51, 0.515]), "ds:0.5": finals([0.508, 0.51, 0.512]),
            "ds:0.75": finals([0.40, 0.41, 0.42])}
    s = world(fams)
    assert one("ds-fig3-robust-0.5", s).verdict == "reproduced"  # within ±2 points
    v = one("ds-fig3-robust-0.75", s)  # the sweep's extra points run with the first seed only
    assert (v.verdict, v.headline) == ("not testable at this scale", "one seed has no interval (n = 1 vs 3)")


def test_compare_gives_the_numbers_and_verdict_of_the_words() -> None:
    def runs(accs: list[float | None]) -> list[Result]:
        return [{"config": {"seed": i}, "epochs": [{"epoch": 1, "clean_acc": a, "train_loss": 1.0}]}
                for i, a in enumerate(accs)]
    final = verdicts.per_run(lambda r: r["epochs"][-1]["clean_acc"])
    c = verdicts.compare(("A", runs([0.88, 0.91, 0.95])), ("B", runs([0.87, 0.90, 0.92])), final, "higher")
    assert (c.outcome, c.interval.n, c.untestable) == ("undecided", (3, 3), None) and c.seeds_needed > 3
    assert [s.values for s in c.sides] == [[0.88, 0.91, 0.95], [0.87, 0.90, 0.92]]
    v = verdicts.verdict_of(c, "final clean accuracy")
    assert v.verdict == "inconclusive" and v.numbers["interval"] is c.interval
    assert v.numbers["seeds_needed"] == c.seeds_needed and v.summary.startswith("final clean accuracy: A 91.3%")
    gaps = verdicts.compare(("A", runs([0.9, None, None])), ("B", runs([0.8, 0.8, 0.9])), final, "higher")
    assert (gaps.interval, gaps.untestable, gaps.sides[0].missing) == (None, "no value", (1, 2))
    v = verdicts.verdict_of(gaps, "x", missing="never reached the level")
    assert v.headline == "fewer than two runs with a value (never reached the level)"
    assert "A seeds 1, 2 left out (never reached the level)" in v.summary


# ---------------------------------------------------------------------------- every verdict kind is reachable
def test_reproduced_not_reproduced_inconclusive() -> None:
    s = world({"ds:0.5": finals([0.90, 0.91, 0.92]), "ds:1.0": finals([0.85, 0.86, 0.87])})
    v = one("ds-fig3-clean", s)
    assert v.verdict == "reproduced" and v.headline == "difference +5.0 points [+2.7, +7.3], n = 3 vs 3"
    assert v.summary.startswith("final clean accuracy (last epoch, clean, n = ")
    assert "DS P_up = 0.5 91.0% ± 1.0% (n=3) vs DS P_up = 1 86.0% ± 1.0% (n=3)" in v.summary
    assert "(Welch 95% interval, df 4.0); reproduced needs the interval of the difference above 0" in v.summary
    assert v.numbers["interval"].method == "Welch"
    s = world({"ds:0.5": finals([0.85, 0.86, 0.87]), "ds:1.0": finals([0.90, 0.91, 0.92])})
    assert one("ds-fig3-clean", s).verdict == "not reproduced"
    s = world({"ds:0.5": finals([0.88, 0.91, 0.95]), "ds:1.0": finals([0.87, 0.90, 0.92])})
    v = one("ds-fig3-clean", s)
    assert v.verdict == "inconclusive" and v.numbers["seeds_needed"] > 3
    assert f"about {v.numbers['seeds_needed']} seeds per side would decide it" in v.summary


def test_not_testable_with_one_seed_and_with_collapsed_runs() -> None:
    v = one("ds-fig3-clean", world({"ds:0.5": finals([0.9]), "ds:1.0": finals([0.8])}, seeds=(0,)))
    assert v.verdict == "not testable at this scale" and v.headline == "one seed has no interval (n = 1 vs 1)"
    fams = {"ds:0.25": collapsing((0, 1, 2)), "ds:0.5": collapsing(())}
    v = one("ds-fig3-small-0.25-clean", world(fams))
    assert v.verdict == "not testable at this scale"
    assert v.headline == "collapsed runs: DS P_up = 0.25 seed 0"


def test_collapsed_runs_are_left_out_when_enough_seeds_remain() -> None:
    fams = {"ds:0.5": collapsing((1,), healthy=0.95), "ds:1.0": collapsing((), healthy=0.9)}
    s = world(fams)
    v = one("ds-fig3-clean", s)
    assert v.verdict == "reproduced" and v.numbers["interval"].n == (2, 3)  # seed 1 left out
    assert "collapsed runs left out: DS P_up = 0.5 seed 1" in v.summary and "(collapsed runs left out)" in v.headline


def collapsed_costing(seconds: list[float]) -> Callable[[Config], Result]:
    """:func:`costing` results whose three epochs sit at chance (accuracy 0.1, loss ln 10): collapsed."""
    def make(c: Config) -> Result:
        r = costing(seconds)(c)
        r["epochs"] = [{**r["epochs"][0], "epoch": i + 1, "clean_acc": 0.1, "robust_acc": 0.1, "train_loss": 2.303}
                       for i in range(3)]
        return r
    return make


def test_ds_warmup_rows_compare_the_warm_up_variant_with_pgd_at() -> None:
    s = world({"warmup:0.5": finals([0.40, 0.41, 0.39]), "robust": finals([0.32, 0.31, 0.33])})
    clean = one("new-ds-warmup-clean", s)
    assert (clean.verdict, clean.numbers["interval"].n) == ("reproduced", (3, 3))
    assert "DS P_up = 0.5 after warm-up" in clean.summary and "PGD-AT" in clean.summary
    assert one("new-ds-warmup-robust", s).verdict == "reproduced"  # robust = clean here: 8 points above
    assert [c.id for c in claims.claims_for("ds_fig4_5_accuracy")][-2:] == ["new-ds-warmup-clean",
                                                                           "new-ds-warmup-robust"]
    assert {c.paper for c in claims.CLAIMS if c.id.startswith("new-ds-warmup")} == {"ours"}


def test_cost_claims_leave_collapsed_runs_out_in_either_direction() -> None:
    healthy = {"ds:0.5": costing([97.0, 98.0, 99.0]), "ds:1.0": costing([100.0, 100.5, 101.0])}
    assert one("ds-table1-ds", world(healthy)).verdict == "reproduced"
    for seconds in ([97.0, 98.0, 99.0], [110.0, 111.0, 112.0]):  # cheaper or dearer: no verdict either way
        v = one("ds-table1-ds", world({**healthy, "ds:0.5": collapsed_costing(seconds)}))
        assert v.verdict == "not testable at this scale"
        assert v.headline == "collapsed runs: DS P_up = 0.5 seeds 0, 1, 2"
    one_dead = one("ds-table1-ds", world({**healthy, "ds:0.5": lambda c: (collapsed_costing if c.seed == 1
                                                                           else costing)([97.0, 97.1, 97.2])(c)}))
    assert one_dead.verdict == "reproduced" and one_dead.numbers["interval"].n == (2, 3)
    assert "collapsed runs left out: DS P_up = 0.5 seed 1" in one_dead.summary


def test_budget_sentence_leaves_collapsed_runs_out() -> None:
    fine, dead = finals([0.2, 0.21, 0.19]), collapsed_costing([1.0, 1.0, 1.0])
    runs = {name: [make(c) for c in Scope("cpu", "cifar10").configs(claims.ROBUST)]
            for name, make in (("prescreen", fine), ("DS", dead))}
    for rs in runs.values():
        for r in rs:
            r["evals"] = [{"train_time_s": 1.0, "f2b": 1, "step": 1, **{k: r["epochs"][-1].get(k, 0.1)
                                                                          for k in ("clean_acc", "robust_acc")}}]
    text = equal_cost.budget_verdict(runs, 5.0, "prescreen")
    assert "DS: every run collapsed, left out" in text and "DS 10.0%" not in text


def adaptive(accs: list[float], tamper: bool = False) -> Callable[[Config], Result]:
    """DS eq. (9) results: P_up per epoch from the previous epoch's training accuracy (one value raised)."""
    def make(c: Config) -> Result:
        p, epochs = 1.0, []
        for i, a in enumerate(accs):
            epochs.append({"epoch": i + 1, "p_up": p, "train_acc": a})
            p = adaptive_p_up(p, a, c.p_up_floor)
        if tamper:
            epochs[-1]["p_up"] += 0.05
        return {"config": c.to_dict(), "epochs": epochs}
    return make


def test_ds_fig6_is_an_implementation_check() -> None:
    v = one("ds-fig6", world({"ds-adaptive": adaptive([0.3, 0.5, 0.8, 0.9])}))
    assert (v.verdict, v.passed, v.label) == ("implementation check", True, "implementation check: passes")
    assert v.summary.startswith("P_up per epoch (seed 0): 1.00, 0.70, 0.35, 0.10; starts at 1: True")
    assert "reaches the floor 0.1 at epoch [4, 4, 4]" in v.summary
    bad = one("ds-fig6", world({"ds-adaptive": adaptive([0.3, 0.5, 0.8], tamper=True)}))
    assert (bad.verdict, bad.passed) == ("implementation check", False)
    assert one("ds-fig6", world({"ds-adaptive": adaptive([0.3])})).verdict == "not testable at this scale"


def test_smoke_profile_marks_every_verdict() -> None:
    fams = {"ds:0.5": finals([0.9]), "ds:1.0": finals([0.8]), "ds-adaptive": adaptive([0.3])}
    s = world(fams, profile="smoke", seeds=(0,))
    evaluated = [(c, c.run(s)) for c in claims.CLAIMS if c.id in ("ds-fig3-clean", "ds-fig6")]
    assert all(v.smoke and v.label.startswith("smoke run, not a finding: ") for _, v in evaluated)
    assert "smoke run, not a finding: not testable at this scale" in pages.verdicts_markdown(evaluated)
    assert not one("ds-fig3-clean", world({"ds:0.5": finals([0.9] * 3), "ds:1.0": finals([0.8] * 3)})).smoke


# ---------------------------------------------------------------------------- DS
def test_ds_fig3_small_no_gain_band() -> None:
    no_gain = claims._final_claim(claims.DS_FULL, claims.DS_HALF, "clean_acc", "no_gain")
    s = world({"ds:0.5": finals([0.50, 0.51, 0.52]), "ds:1.0": finals([0.30, 0.31, 0.32])})
    assert no_gain(s).verdict == "reproduced"  # no gain: 20 points below
    s = world({"ds:0.5": finals([0.50, 0.51, 0.52]), "ds:1.0": finals([0.70, 0.71, 0.72])})
    assert no_gain(s).verdict == "not reproduced"  # a 20-point gain
    one_seed = world({"ds:0.5": finals([0.50, 0.51, 0.52]), "ds:0.25": finals([0.30, 0.31, 0.32])})
    assert one("ds-fig3-small-0.25-clean", one_seed).verdict == "not testable at this scale"  # P_up 0.25: seed 0


def test_ds_fig4_5_and_9_10_one_comparison_each() -> None:
    fams = {"robust": finals([0.80, 0.81, 0.82], [0.405, 0.41, 0.415]), "ds:0.5": finals([0.88, 0.89, 0.9], [0.41] * 3),
            "ds-adaptive": finals([0.80, 0.83, 0.82], [0.30, 0.31, 0.29]), "random": finals([0.7, 0.71, 0.69]),
            "dong": finals([0.95, 0.96, 0.94])}
    s = world(fams)
    assert one("ds-fig4-ds", s).verdict == "reproduced"
    assert one("ds-fig4-eq9", s).verdict == "inconclusive"  # ahead, but the interval includes zero
    assert one("ds-fig5-ds", s).verdict == "reproduced"  # does not hurt: at or above -2 points
    assert one("ds-fig5-eq9", s).verdict == "not reproduced"  # 11 points lower
    assert one("ds-fig9-random", s).verdict == "reproduced" and one("ds-fig9-dong", s).verdict == "not reproduced"
    v = one("ds-fig10-random", s)
    assert v.summary.startswith("final robust accuracy (last epoch, PGD-")
    assert "DS P_up = 0.5 41.0% ± 0.0% (n=3) vs random 70.0% ± 1.0% (n=3)" in v.summary


def counts(pairs: list[list[tuple[float, float]]]) -> Callable[[Config], Result]:
    """Per seed, (selected clean, selected adversarial) per epoch."""
    def make(c: Config) -> Result:
        return {"config": c.to_dict(), "epochs": [{"epoch": i + 1, "selected_clean": cl, "selected_adv": ad}
                                                  for i, (cl, ad) in enumerate(pairs[c.seed])]}
    return make


def test_ds_fig7_first_and_last_epoch_are_two_rows() -> None:
    shift = [[(40, 60), (55, 45)], [(38, 62), (57, 43)], [(42, 58), (56, 44)]]
    s = world({"ds:0.5": counts(shift)})
    early, late = one("ds-fig7-early", s), one("ds-fig7-late", s)
    assert early.verdict == late.verdict == "reproduced" and early.numbers["interval"].method == "one-sample"
    assert early.headline == "mean 20 [10.1, 29.9], n = 3"  # 20 ± 4.30 x 4 / sqrt(3)
    stays = [[(40, 60), (45, 55)], [(38, 62), (44, 56)], [(42, 58), (46, 54)]]
    assert one("ds-fig7-late", world({"ds:0.5": counts(stays)})).verdict == "not reproduced"
    assert one("ds-fig7-early", world({"ds:0.5": counts([[(40, 60)]] * 3)})).verdict == "not testable at this scale"


def min_adv(values: list[list[float]]) -> Callable[[Config], Result]:
    def make(c: Config) -> Result:
        return {"config": c.to_dict(), "epochs": [{"epoch": i + 1, "min_adv_selected": v}
                                                  for i, v in enumerate(values[c.seed])]}
    return make


def test_ds_fig8_growth_within_each_run() -> None:
    grows = [[1, 1, 2, 3, 5, 5], [1, 2, 2, 3, 4, 6], [0, 1, 3, 3, 5, 6]]
    v = one("ds-fig8", world({"ds:0.5": min_adv(grows)}))
    assert v.verdict == "reproduced" and v.numbers["DS P_up = 0.5"] == [4.0, 3.5, 5.0]
    shrinks = [list(reversed(x)) for x in grows]
    assert one("ds-fig8", world({"ds:0.5": min_adv(shrinks)})).verdict == "not reproduced"
    nothing = [[math.nan] * 6] * 3
    v = one("ds-fig8", world({"ds:0.5": min_adv(nothing)}))
    assert v.verdict == "not testable at this scale" and "no probed selected adversarial" in v.summary


def test_ds_table1_costs_and_cost_per_step() -> None:
    fams = {"ds:0.5": costing([97.0, 97.2, 96.8]), "ds:1.0": costing([100.0, 100.5, 101.0]),
            "dong": costing([50.0, 51.0, 49.0], pretrain_s=100.0), "robust": costing([74.0, 75.0, 76.0]),
            "ds-adaptive": costing([99.8, 100.0, 100.2])}
    s = world(fams)
    v = one("ds-table1-ds", s)
    assert v.verdict == "reproduced" and v.headline.startswith("ratio 0.965 [")
    assert "paper ratio 0.979; training backward passes 100 vs 100" in v.summary
    dong = one("ds-table1-dong", s)  # 150 / 75 = 2.00, inside [1.9, 2.1]
    assert dong.verdict == "reproduced"
    assert "paper 39,971 / 20,200 = 1.98" in dong.summary and "inside [1.9, 2.1]" in dong.summary
    assert one("ds-table1-dong", world({**fams, "dong": costing([50.0] * 3, pretrain_s=60.0)})).verdict == \
        "not reproduced"  # 110 / 75 = 1.47
    assert one("ds-table1-adaptive-p1", s).verdict == "reproduced"
    assert one("ds-table1-adaptive-half", s).verdict == "reproduced"
    assert one("ds-table1-adaptive-half", world({**fams, "ds-adaptive": costing([90.0, 91, 92])})).verdict == \
        "not reproduced"
    fams_step = {"ds:0.5": costing([10.0, 10.2, 9.8], passes=(2600, 1000)),
                 "robust": costing([8.0, 8.1, 7.9], passes=(2400, 1000))}
    step = one("ds-cost-per-step", world(fams_step))
    assert step.verdict == "not reproduced"  # 1.25 times dearer per step, beyond 1.05
    assert "sample passes per step F + 2B: 460 vs 440 (ratio 1.045, exact)" in step.summary
    same = one("ds-cost-per-step", world({"ds:0.5": costing([8.0, 8.1, 7.9], passes=(1, 1)),
                                          "robust": costing([8.0, 8.1, 7.9], passes=(1, 1))}))
    assert same.verdict == "reproduced"


# ---------------------------------------------------------------------------- CAT
def similarity(step: list[list[float]], epoch: list[list[float]]) -> Callable[[Config], Result]:
    """Per seed, the mean cosine per epoch for consecutive iterations and one epoch apart (from the 2nd epoch)."""
    def probe(cos: float) -> dict[str, Any]:
        return {"cosine": {"mean": cos}, "asr_before": 0.5, "asr_after": 0.6}

    def make(c: Config) -> Result:
        eps = [{"epoch": i + 1, "similarity_step": probe(s)} for i, s in enumerate(step[c.seed])]
        for e, cos in zip(eps[1:], epoch[c.seed], strict=True):
            e["similarity_epoch"] = probe(cos)
        return {"config": c.to_dict(), "epochs": eps}
    return make


def test_cat_fig1_two_rows_against_the_threshold() -> None:
    high = similarity([[0.95, 0.97], [0.96, 0.97], [0.95, 0.98]], [[0.93], [0.94], [0.95]])
    s = world({"mnist:cat:100": high})
    step, epoch = one("cat-fig1-step", s), one("cat-fig1-epoch", s)
    assert step.verdict == epoch.verdict == "reproduced"
    assert step.summary.startswith("mean cosine similarity of the predictions, consecutive iterations")
    low = similarity([[0.95, 0.97], [0.96, 0.97], [0.95, 0.98]], [[0.7], [0.75], [0.72]])
    assert one("cat-fig1-epoch", world({"mnist:cat:100": low})).verdict == "not reproduced"
    single = world({"mnist:cat:100": similarity([[0.95]] * 3, [[]] * 3)})
    assert one("cat-fig1-epoch", single).verdict == "not testable at this scale"
    assert one("cat-fig1-step", world({"mnist:cat:100": similarity([[]] * 3, [[]] * 3)})).verdict == \
        "not testable at this scale"


def test_cat_tables_geometric_mean_speedup_per_metric() -> None:
    at, fast = [1, 2, 3, 4], [0.2, 0.4, 0.6, 0.8]
    cat = [0.4, 0.6, 0.8, 0.8]
    fams = {"mnist:robust:100": jittered(at, fast, [1.0, 1.1, 0.9]),
            "mnist:cat:100": jittered(at, cat, [1.0, 1.05, 0.95]),
            "robust": jittered(at, fast, [1.0, 1.1, 0.9]), "cat": jittered(at, cat, [1.0, 1.05, 0.95]),
            "mnist:cat-uniform:100": jittered(at, fast, [1.0, 1.1, 0.9])}
    s = world(fams)
    v = one("cat-table1-robust", s)
    assert v.verdict == "reproduced" and v.headline.startswith("ratio 1.")
    assert "the paper's speed-ups on this table's robust rows: median 1.09x" in v.summary
    same = world({**fams, "mnist:cat:100": jittered(at, fast, [1.0, 1.05, 0.95])})
    assert one("cat-table1-clean", same).verdict == "inconclusive"
    # CAT Table 2 reads the CIFAR-10 method families (PGD-AT, CAT) with three seeds
    assert one("cat-table2-clean", s).numbers["interval"].n == (3, 3)
    # ... and a page may give it fewer
    (_, v3) = [(c, v) for c, v in claims.evaluate_claims(s, "cat_tables_time_to_accuracy",
                                                         {"cifar10": [0]}) if c.id == "cat-table2-clean"][0]
    assert v3.verdict == "not testable at this scale" and v3.headline == "one seed has no interval (n = 1 vs 1)"
    uneven = lambda c: timed([1, 2], [0.1, 0.9 if c.seed == 0 else 0.2])(c)  # noqa: E731
    never = world({**fams, "mnist:robust:100": uneven, "mnist:cat:100": uneven})  # seeds 1, 2 reach no level
    assert one("cat-table1-robust", never).verdict == "not testable at this scale"
    assert one("cat-competitive", world(fams)).verdict == "reproduced"


def sampling_times(reach: dict[int, list[float]]) -> dict[str, Callable[[Config], Result]]:
    """CAT per sampling number N: robust accuracy 0.1 at 1 s, then 0.5 at reach[N][seed] seconds."""
    return {f"mnist:cat:{n}": (lambda ts: lambda c: timed([1.0, ts[c.seed]], [0.1, 0.5])(c))(t)
            for n, t in reach.items()}


def test_cat_fig2_3_needs_three_sampling_numbers() -> None:
    """The book runs two sampling numbers (25 is cut for the budget): no inner number, no verdict."""
    s = world(sampling_times({100: [4, 4.2, 3.8], 400: [10, 12, 11]}))
    v = one("cat-fig2-3-small", s)
    assert v.verdict == "not testable at this scale" and "fewer than three sampling numbers" in v.headline


def test_cat_fig2_3_inner_against_each_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scope_module, "SAMPLING_NUMBERS", (25, 100, 400))
    reach = {25: [10, 11, 9], 100: [4, 4.2, 3.8], 400: [10, 12, 11]}
    s = world(sampling_times(reach))
    small, large = one("cat-fig2-3-small", s), one("cat-fig2-3-large", s)
    # the end points run with the first seed only (budget): no interval, but the times are reported
    assert small.verdict == large.verdict == "not testable at this scale"
    assert small.headline == "one seed has no interval (n = 3 vs 1)"
    assert small.numbers["fastest"] == 100 and small.numbers["level"] == 0.4
    assert "N = 100" in small.summary and "N = 25" in small.summary


def test_evaluate_claims_of_one_page() -> None:
    shift = [[(40, 60), (55, 45)]] * 3
    s = world({"ds:0.5": counts(shift)})
    ((c1, v1), (c2, v2)) = claims.evaluate_claims(s, "ds_fig7_selected_counts")
    assert (c1.id, c2.id) == ("ds-fig7-early", "ds-fig7-late") and v1.verdict == "reproduced"


def test_a_claim_naming_a_page_outside_the_registry_fails_when_made() -> None:
    with pytest.raises(ValueError, match="page='ds_fig3_pup' is not one of the book's pages"):
        verdicts.Claim("x", "DS", "Fig. 3", "a claim", "ds_fig3_pup", lambda scope: verdicts.not_testable("-"))
