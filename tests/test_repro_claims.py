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
                               "implementation check", "not run")
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
    assert len(set(ids)) == len(ids) == 49
    # the former compound claims are split: Fig. 3 robust (P_up 0.5 and 0.75), Fig. 3 small (0.25 x 2), Figs. 4/5/9/10
    assert [c.id for c in claims.claims_for("ds_fig3_p_up")] == [
        "ds-fig3-clean", "ds-fig3-robust-0.5", "ds-fig3-robust-0.75",
        "ds-fig3-small-0.25-clean", "ds-fig3-small-0.25-robust", "new-ds-warmup-p1-clean", "new-ds-warmup-p1-robust"]
    assert [c.id for c in claims.claims_for("ds_fig4_5_accuracy")] == [
        "ds-fig4-ds", "ds-fig4-eq9", "ds-fig4-ds-standard", "ds-fig4-eq9-standard", "ds-fig5-ds", "ds-fig5-eq9",
        "new-ds-warmup-clean", "new-ds-warmup-standard", "new-ds-warmup-robust"]
    assert {"cat-fig1-step", "cat-fig1-epoch", "cat-table2-clean", "cat-table2-robust", "new-ds-cost-per-step",
            "cat-weights-clean", "cat-weights-robust"} <= set(ids)
    assert all(c.paper == "ours" for c in claims.CLAIMS if c.id.startswith("new-"))


def test_a_former_compound_claim_gives_two_rows_with_their_own_verdicts() -> None:
    fams = {"ds:1.0": finals([0.505, 0.51, 0.515]), "ds:0.5": finals([0.508, 0.51, 0.512]),
            "ds:0.75": finals([0.40, 0.41, 0.42])}
    s = world(fams)
    assert one("ds-fig3-robust-0.5", s).verdict == "reproduced"  # within ±2 points
    assert one("ds-fig3-robust-0.75", s).verdict == "not reproduced"  # 10 points below


def test_compare_gives_the_numbers_and_verdict_of_the_words() -> None:
    def runs(accs: list[float | None]) -> list[Result]:
        return [{"config": {"seed": i}, "epochs": [{"epoch": 1, "clean_acc": a, "train_loss": 1.0}]}
                for i, a in enumerate(accs)]
    final = verdicts.per_run(lambda r: r["epochs"][-1]["clean_acc"])
    c = verdicts.compare(("A", runs([0.88, 0.91, 0.95])), ("B", runs([0.87, 0.90, 0.92])), final, "higher")
    assert (c.outcome, c.interval.n, c.untestable) == ("undecided", (3, 3), None) and c.seeds_needed > 3
    assert c.interval.method == "paired"  # the same seeds on both sides pair
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
    s = world({"ds:0.5": finals([0.90, 0.91, 0.93]), "ds:1.0": finals([0.85, 0.86, 0.87])})
    v = one("ds-fig3-clean", s)
    assert v.verdict == "reproduced" and v.headline == "difference +5.3 points [+3.9, +6.8], n = 3 vs 3"
    assert v.summary.startswith("final clean accuracy (last epoch, clean, n = ")
    assert "DS P_up = 0.5 91.3% ± 1.5% (n=3) vs DS P_up = 1 86.0% ± 1.0% (n=3)" in v.summary
    assert ("(paired t over seeds 95% interval, df 2.0); reproduced needs the interval of the difference above 0"
            in v.summary)
    assert v.numbers["interval"].method == "paired"
    s = world({"ds:0.5": finals([0.85, 0.86, 0.87]), "ds:1.0": finals([0.90, 0.91, 0.92])})
    assert one("ds-fig3-clean", s).verdict == "not reproduced"
    s = world({"ds:0.5": finals([0.88, 0.91, 0.95]), "ds:1.0": finals([0.87, 0.90, 0.92])})
    v = one("ds-fig3-clean", s)
    assert v.verdict == "inconclusive" and v.numbers["seeds_needed"] > 3
    assert f"about {v.numbers['seeds_needed']} seeds per side would decide it" in v.summary


def test_not_testable_with_one_seed_and_with_collapsed_runs() -> None:
    v = one("ds-fig3-clean", world({"ds:0.5": finals([0.9]), "ds:1.0": finals([0.8])}, seeds=(0,)))
    assert v.verdict == "not testable at this scale" and v.headline == "one seed has no interval (n = 1 vs 1)"
    fams = {"ds:0.5": collapsing((0, 1)), "ds:1.0": collapsing(())}
    v = one("ds-fig3-clean", world(fams))
    assert v.verdict == "not testable at this scale"
    assert v.headline == "collapsed runs: DS P_up = 0.5 seeds 0, 1"
    v = one("ds-fig3-small-0.25-clean", world(fams))  # P_up 0.25 is not run at the cpu profile
    assert v.verdict == "not run" and "P_up = 0.25" in v.headline


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
    assert "DS warm-up (3 epochs at P_up = 1, then 0.5)" in clean.summary and "PGD-AT" in clean.summary
    assert one("new-ds-warmup-robust", s).verdict == "reproduced"  # robust = clean here: 8 points above
    assert [c.id for c in claims.claims_for("ds_fig4_5_accuracy")][-3:] == ["new-ds-warmup-clean",
                                                                           "new-ds-warmup-standard",
                                                                           "new-ds-warmup-robust"]
    assert {c.paper for c in claims.CLAIMS if c.id.startswith("new-ds-warmup")} == {"ours"}


def counted(train_backward: list[float], p_up: float | None = None, steps: int = 5, b: int = 100,
            n_steps: int = 10, seconds: float = 100.0) -> Callable[[Config], Result]:
    """Results whose passes follow the pass model: PGD-``steps`` on b', DS's scoring pass over 2b' (``p_up`` set)
    or PGD-AT's b' training pass (``p_up`` None); the training backward passes per step are train_backward[seed]."""
    def make(c: Config) -> Result:
        tb = train_backward[c.seed] * n_steps
        tf = (2 * b * n_steps + tb) if p_up is not None else tb
        af = steps * b * n_steps
        ep = {"epoch": 1, "attack_forward": af, "attack_backward": af, "train_forward": tf, "train_backward": tb,
              "forward_passes": af + tf, "backward_passes": af + tb, "steps": n_steps, "time_attack_s": 1.0,
              "time_train_s": 1.0, "clean_acc": 0.1, "robust_acc": 0.1, "train_loss": 2.303}
        return {"config": {**c.to_dict(), "steps": steps, "batch_size": b}, "train_time_s": seconds,
                "epochs": [ep, {**ep, "epoch": 2}, {**ep, "epoch": 3}]}
    return make


def test_cost_claims_count_passes_and_keep_collapsed_runs() -> None:
    """Pass counts do not depend on the weights: collapsed runs (these are at chance) still count."""
    fams = {"ds:1.0": counted([200, 200, 200], 1.0), "ds-adaptive": counted([195, 190, 198], 0.9)}
    v = one("ds-table1-adaptive-p1", world(fams))
    assert v.verdict == "reproduced" and "sample passes F + 2B at PGD-20" in v.summary
    assert "wall-time ratio 1.000 (shown, not deciding" in v.summary
    far = one("ds-table1-adaptive-p1", world({**fams, "ds-adaptive": counted([20, 22, 21], 0.1)}))
    assert far.verdict == "not reproduced"


def test_table1_rows_fixed_by_construction_are_accounting_checks() -> None:
    fams = {"ds:0.5": counted([100] * 3, 0.5), "ds:1.0": counted([200] * 3, 1.0)}
    v = one("ds-table1-ds", world(fams))
    assert (v.verdict, v.passed) == ("implementation check", True) and v.headline.startswith("0.956 by construction")
    assert "not a finding" in v.summary and "0.979" in v.summary
    off = one("ds-table1-ds", world({**fams, "ds:0.5": counted([150] * 3, 0.5)}))
    assert (off.verdict, off.passed) == ("implementation check", False)
    step = one("new-ds-cost-per-step", world({"ds:0.5": counted([100] * 3, 0.5), "robust": counted([100] * 3)}))
    assert (step.verdict, step.passed) == ("implementation check", True) and "1.111x" in step.headline


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
    assert one("ds-fig3-small-0.25-clean", one_seed).verdict == "not run"  # P_up 0.25: not at the cpu profile


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


def test_cat_fig2_3_is_not_run_at_the_cpu_profile() -> None:
    s = world(sampling_times({100: [4, 4.2, 3.8], 400: [10, 12, 11]}))
    v = one("cat-fig2-3-small", s)
    assert v.verdict == "not run" and "not run at the cpu profile" in v.headline


def test_cat_fig2_3_inner_against_each_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scope_module, "SAMPLING_PROFILES", ("cpu",))
    monkeypatch.setattr(claims, "SAMPLING_PROFILES", ("cpu",))
    reach = {25: [10, 11, 9], 100: [4, 4.2, 3.8], 400: [10, 12, 11]}
    s = world(sampling_times(reach))
    small, large = one("cat-fig2-3-small", s), one("cat-fig2-3-large", s)
    # the end points run with the first seed only (budget): no interval, but the times are reported
    assert small.verdict == large.verdict == "not testable at this scale"
    assert small.headline == "one seed has no interval (n = 3 vs 1)"
    assert small.numbers["fastest"] == 100 and small.numbers["level"] == 0.4
    assert "N = 100" in small.summary and "N = 25" in small.summary


def test_holm_keeps_a_row_decided_only_if_its_figure_allows() -> None:
    shift = [[(40, 60), (55, 45)], [(38, 62), (57, 43)], [(42, 58), (56, 44)]]
    rows = claims.evaluate_claims(world({"ds:0.5": counts(shift), "warmup:0.5": counts(shift)}),
                                  "ds_fig7_selected_counts")[:2]
    assert all("Holm over the 2 tested rows of DS Fig. 7" in v.summary for _, v in rows)
    assert all(v.numbers["holm"]["claimed"]["rejected"] for _, v in rows)
    early, late = (claims._ds_fig7(i, k) for i, k in ((0, "higher"), (-1, "lower")))
    weak = [[(43, 57), (57, 43)], [(46, 54), (54, 46)], [(42, 58), (58, 42)]]  # t = 5.3 on 2 df each
    s = world({"ds:0.5": counts(weak)})
    alone = late(s)
    assert alone.verdict == "reproduced" and early(s).verdict == "reproduced"  # each on its own: p = 0.017
    two = [(claims.CLAIMS[0], early(s)), (claims.CLAIMS[0], alone)]  # two rows of one figure
    verdicts.holm_over_figures(two)
    assert two[1][1].verdict == "inconclusive" and "inconclusive after Holm" in two[1][1].headline


def test_evaluate_claims_of_one_page() -> None:
    shift = [[(40, 60), (55, 45)]] * 3
    s = world({"ds:0.5": counts(shift), "warmup:0.5": counts(shift)})
    ((c1, v1), (c2, v2), (c3, v3)) = claims.evaluate_claims(s, "ds_fig7_selected_counts")
    assert c3.id == "new-ds-warmup-late" and c3.paper == "ours"
    assert (c1.id, c2.id) == ("ds-fig7-early", "ds-fig7-late") and v1.verdict == "reproduced"


def test_a_claim_naming_a_page_outside_the_registry_fails_when_made() -> None:
    with pytest.raises(ValueError, match="page='ds_fig3_pup' is not one of the book's pages"):
        verdicts.Claim("x", "DS", "Fig. 3", "a claim", "ds_fig3_pup", lambda scope: verdicts.not_testable("-"))
