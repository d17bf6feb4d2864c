"""The claim evaluators of advsel.repro.claims on hand-made results: a Scope whose loader builds them (no training)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from advsel.config import Config
from advsel.repro import claims
from advsel.repro.scope import Scope
from advsel.selectors import adaptive_p_up

Result = dict[str, Any]


def family_of(c: Config) -> str:
    """The run family a config of the book belongs to: ``ds:0.5``, ``robust``, ``mnist:cat:100`` (timed) ..."""
    if c.eval_every:
        return f"{c.dataset}:{c.method}:{c.batch_size}"
    return f"ds:{c.p_up}" if c.method == "ds" else c.method


def world(families: dict[str, Callable[[Config], Result]]) -> Scope:
    """A cpu Scope (seeds 0, 1, 2) whose results come from ``families`` by :func:`family_of`."""
    return Scope("cpu", "mnist", "auto", (0, 1, 2), loader=lambda c: families[family_of(c)](c))


def finals(clean: list[float], robust: list[float] | None = None, **extra: Any) -> Callable[[Config], Result]:
    """Results with one epoch whose accuracies are clean[seed], robust[seed] (robust defaults to clean)."""
    robust = robust or clean

    def make(c: Config) -> Result:
        return {"config": c.to_dict(), "epochs": [{"epoch": 1, "clean_acc": clean[c.seed],
                                                   "robust_acc": robust[c.seed], **extra}]}
    return make


def costing(seconds: list[float], pretrain_s: float | None = None) -> Callable[[Config], Result]:
    """Results whose training took seconds[seed] (plus a pre-training of ``pretrain_s``)."""
    ep = {"epoch": 1, "forward_passes": 0, "backward_passes": 0, "train_backward": 100}

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


def one(claim_id: str, scope: Scope) -> claims.Verdict:
    (claim,) = [c for c in claims.CLAIMS if c.id == claim_id]
    return claim.evaluate(scope)


# ---------------------------------------------------------------------------- rules
def test_rules() -> None:
    assert claims.better([0.9, 0.92], [0.8, 0.82]) == "reproduced"
    assert claims.better([0.81, 0.9], [0.8, 0.82]) == "partly"  # ahead by less than one standard error
    assert claims.better([0.8], [0.8]) == "not reproduced"
    assert claims.all_of(["reproduced", "reproduced"]) == "reproduced"
    assert claims.all_of(["reproduced", "not reproduced"]) == "partly"
    assert claims.all_of(["not reproduced", "not reproduced"]) == "not reproduced"
    assert [claims.share(k, 2) for k in (2, 1, 0)] == ["reproduced", "partly", "not reproduced"]
    assert claims.close([0.485], [0.5]) and not claims.close([0.475], [0.5])
    assert claims.fmt([0.5, 0.7]) == "60.0% ± 14.1% (n=2)" and claims.fmt([1.5], pct=False) == "1.5 (n=1)"
    with pytest.raises(ValueError, match="verdict"):
        claims.Verdict("maybe", "")


def test_claims_name_their_pages() -> None:
    assert [c.id for c in claims.claims_for("ds_fig3_p_up")] == ["ds-fig3-clean", "ds-fig3-robust", "ds-fig3-small"]
    assert len({c.id for c in claims.CLAIMS}) == len(claims.CLAIMS) == 18


# ---------------------------------------------------------------------------- DS
def test_ds_fig3_clean_follows_the_difference() -> None:
    s = world({"ds:0.5": finals([0.90, 0.91, 0.92]), "ds:1.0": finals([0.85, 0.86, 0.87])})
    v = one("ds-fig3-clean", s)
    assert v.verdict == "reproduced"
    assert v.summary == ("clean accuracy P_up = 0.5: 91.0% ± 1.0% (n=3) vs P_up = 1: 86.0% ± 1.0% (n=3) "
                         "(difference +5.0 ± 0.8 points)")
    rest = {f"ds:{p}": finals([0.5] * 3) for p in (0.1, 0.25, 0.75)}
    s = world({"ds:0.5": finals([0.85, 0.86, 0.87]), "ds:1.0": finals([0.90, 0.91, 0.92]), **rest})
    assert one("ds-fig3-clean", s).verdict == "not reproduced"
    md = claims.verdicts_markdown(s, "ds_fig3_p_up").split("\n\n")[0]  # the page's first claim only
    assert md.startswith("**Fig. 3: P_up = 0.5 slightly beats P_up = 1 in clean accuracy.** — *not reproduced*: "
                         "clean accuracy P_up = 0.5: 86.0%") and md.endswith("points).")


def test_ds_fig3_robust_and_small() -> None:
    fams = {"ds:1.0": finals([0.5] * 3), "ds:0.5": finals([0.49] * 3), "ds:0.75": finals([0.47] * 3),
            "ds:0.1": finals([0.3, 0.31, 0.32]), "ds:0.25": finals([0.48, 0.49, 0.5])}
    assert one("ds-fig3-robust", world(fams)).verdict == "partly"  # 0.75 loses 3 points
    assert one("ds-fig3-robust", world({**fams, "ds:0.75": finals([0.485] * 3)})).verdict == "reproduced"
    small = one("ds-fig3-small", world(fams))
    assert small.verdict == "reproduced" and "(0 of 4 comparisons show a gain" in small.summary
    assert one("ds-fig3-small", world({**fams, "ds:0.1": finals([0.7, 0.71, 0.72])})).verdict == "not reproduced"


def test_ds_fig4_5_and_9_10_compare_the_methods() -> None:
    fams = {"robust": finals([0.80, 0.81, 0.82], [0.40, 0.41, 0.42]), "ds:0.5": finals([0.88, 0.89, 0.9], [0.41] * 3),
            "ds-adaptive": finals([0.80, 0.83, 0.82], [0.30] * 3), "random": finals([0.7] * 3),
            "dong": finals([0.95] * 3)}
    s = world(fams)
    assert one("ds-fig4", s).verdict == "partly"  # DS beats PGD-AT clearly, eq. (9) not beyond one error
    assert one("ds-fig5", s).verdict == "partly"  # eq. (9) loses 11 points of robust accuracy
    assert one("ds-fig9", s).verdict == "partly"  # beats random, not Dong et al.
    assert one("ds-fig9", world({**fams, "dong": finals([0.5] * 3)})).verdict == "reproduced"
    assert one("ds-fig10", world({**fams, "dong": finals([0.5] * 3)})).summary.startswith(
        "final robust accuracy: DS 41.0% ± 0.0% (n=3), random 70.0%")


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


def test_ds_fig6_checks_eq9() -> None:
    v = one("ds-fig6", world({"ds-adaptive": adaptive([0.3, 0.5, 0.8, 0.9])}))
    assert v.verdict == "reproduced"
    assert v.summary.startswith("P_up per epoch (seed 0): 1.00, 0.70, 0.35, 0.10; starts at 1: True")
    assert "reaches the floor 0.1 at epoch [4, 4, 4]" in v.summary
    assert one("ds-fig6", world({"ds-adaptive": adaptive([0.3, 0.5, 0.8], tamper=True)})).verdict == "not reproduced"
    assert one("ds-fig6", world({"ds-adaptive": adaptive([0.3])})).verdict == "not testable at this scale"


def counts(pairs: list[tuple[float, float]]) -> Callable[[Config], Result]:
    def make(c: Config) -> Result:
        return {"config": c.to_dict(), "epochs": [{"epoch": i + 1, "selected_clean": cl, "selected_adv": ad}
                                                  for i, (cl, ad) in enumerate(pairs)]}
    return make


def test_ds_fig7_first_and_last_epoch() -> None:
    assert one("ds-fig7", world({"ds:0.5": counts([(40, 60), (55, 45)])})).verdict == "reproduced"
    assert one("ds-fig7", world({"ds:0.5": counts([(40, 60), (45, 55)])})).verdict == "partly"
    assert one("ds-fig7", world({"ds:0.5": counts([(40, 60)])})).verdict == "not testable at this scale"


def min_adv(values: list[list[float]]) -> Callable[[Config], Result]:
    def make(c: Config) -> Result:
        return {"config": c.to_dict(), "epochs": [{"epoch": i + 1, "min_adv_selected": v}
                                                  for i, v in enumerate(values[c.seed])]}
    return make


def test_ds_fig8_thirds() -> None:
    grows = [[1, 1, 2, 3, 5, 5], [1, 2, 2, 3, 4, 6], [0, 1, 3, 3, 5, 6]]
    v = one("ds-fig8", world({"ds:0.5": min_adv(grows)}))
    assert v.verdict == "reproduced" and "first third of training 1.0 ± 0.5 (n=3), last third 5.2" in v.summary
    shrinks = [list(reversed(x)) for x in grows]
    assert one("ds-fig8", world({"ds:0.5": min_adv(shrinks)})).verdict == "not reproduced"
    nothing = [[math.nan] * 6] * 3
    assert one("ds-fig8", world({"ds:0.5": min_adv(nothing)})).verdict == "not testable at this scale"


def test_ds_table1_costs() -> None:
    fams = {"ds:0.5": costing([97.0, 98.0, 99.0]), "ds:1.0": costing([100.0, 100.5, 101.0]),
            "dong": costing([50.0] * 3, pretrain_s=100.0), "robust": costing([75.0] * 3),
            "ds-adaptive": costing([99.0] * 3)}
    s = world(fams)
    v = one("ds-table1-ds", s)
    assert v.verdict == "reproduced"
    assert v.summary == ("training time DS P_up = 0.5 98 s vs P_up = 1 100 s (ratio 0.975; paper 0.979); "
                         "training backward passes 100 vs 100")
    dong = one("ds-table1-dong", s)
    assert dong.verdict == "reproduced" and "ratio 2.00 (paper 39,971 / 20,200 = 1.98;" in dong.summary
    assert one("ds-table1-dong", world({**fams, "dong": costing([50.0] * 3, pretrain_s=60.0)})).verdict == "partly"
    ada = one("ds-table1-adaptive", s)
    assert ada.verdict == "reproduced" and "(paper 20,161 / 20,200 = 0.998; about = within 5%)" in ada.summary
    assert one("ds-table1-adaptive", world({**fams, "ds-adaptive": costing([96.0] * 3)})).verdict == "partly"
    assert one("ds-table1-adaptive", world({**fams, "ds-adaptive": costing([90.0] * 3)})).verdict == "not reproduced"


# ---------------------------------------------------------------------------- CAT
def similarity(step: list[float], epoch: list[float]) -> Callable[[Config], Result]:
    def probe(cos: float) -> dict[str, Any]:
        return {"cosine": {"mean": cos}, "asr_before": 0.5, "asr_after": 0.6}

    def make(c: Config) -> Result:
        eps = [{"epoch": i + 1, "similarity_step": probe(s)} for i, s in enumerate(step)]
        for e, cos in zip(eps[1:], epoch, strict=True):
            e["similarity_epoch"] = probe(cos)
        return {"config": c.to_dict(), "epochs": eps}
    return make


def test_cat_fig1_similarity_threshold() -> None:
    v = one("cat-fig1", world({"mnist:cat:100": similarity([0.95, 0.97], [0.93])}))
    assert v.verdict == "reproduced"
    assert v.summary == ("mean cosine similarity over training: consecutive iterations 0.960 (lowest epoch 0.950), "
                         "one epoch apart 0.930 (lowest epoch 0.930); attack success rate changes by 10.0 points on "
                         "average between the two")
    assert one("cat-fig1", world({"mnist:cat:100": similarity([0.95, 0.97], [0.8])})).verdict == "partly"
    assert one("cat-fig1", world({"mnist:cat:100": similarity([0.95], [])})).verdict == "partly"  # one epoch
    assert one("cat-fig1", world({"mnist:cat:100": similarity([], [])})).verdict == "not testable at this scale"


def test_cat_tables_median_speedup() -> None:
    at, fast_cat = timed([1, 2, 3, 4], [0.2, 0.4, 0.6, 0.8]), timed([1, 2, 3, 4], [0.4, 0.6, 0.8, 0.8])
    slow_cat = timed([1, 1.6, 2.5, 4], [0.3, 0.5, 0.6, 0.8])  # 1.25x, 1.2x, 1x
    fams = {"mnist:robust:100": at, "mnist:cat:100": fast_cat, "cifar10:robust:100": at,
            "cifar10:cat:100": slow_cat}
    v = one("cat-table1", world(fams))
    assert v.verdict == "reproduced" and v.numbers["ratios"] == [2.0, 1.5, pytest.approx(4 / 3)] * 2
    assert v.summary.startswith("median speed-up AT/CAT 1.50x over 6 levels (paper 1.13x; reproduced from 1.1x): "
                                "clean 40.0%: AT 2 s, CAT 1 s;")
    v2 = one("cat-table2", world(fams))  # 1.2x is not enough for CIFAR-10
    assert v2.verdict == "partly" and "1.20x over 6 levels (paper 2.55x; reproduced from 1.5x)" in v2.summary
    same = world({**fams, "mnist:cat:100": at})
    assert one("cat-table1", same).verdict == "not reproduced"
    uneven = lambda c: timed([1, 2], [0.1, 0.9 if c.seed == 0 else 0.2])(c)  # noqa: E731
    never = world({**fams, "mnist:robust:100": uneven, "mnist:cat:100": uneven})  # seeds 1, 2 reach no level
    assert one("cat-table1", never).verdict == "not testable at this scale"
    assert one("cat-competitive", world(fams)).verdict == "reproduced"
    assert one("cat-competitive", same.replace(loader=lambda c: (timed([1], [0.5]) if c.method == "cat"
                                                                  else at)(c))).verdict == "not reproduced"


def sampling_times(reach: dict[int, float]) -> dict[str, Callable[[Config], Result]]:
    """CAT per sampling number N: robust accuracy 0.1 at 1 s, then 0.5 at reach[N] seconds."""
    return {f"mnist:cat:{n}": timed([1.0, t], [0.1, 0.5]) for n, t in reach.items()}


def test_cat_fig2_3_peak_inside_the_range() -> None:
    v = one("cat-fig2-3", world(sampling_times({25: 10, 50: 6, 100: 4, 200: 6, 400: 10})))
    assert v.verdict == "reproduced" and v.numbers["level"] == 0.4
    assert v.summary.startswith("time to 40.0% robust accuracy (80% of the lowest best) by sampling number, mean "
                                "over seeds [0, 1, 2] ('never' if a seed never reaches it): 25: 10.0 s, 50: 6.0 s")
    assert one("cat-fig2-3", world(sampling_times({25: 4.2, 50: 6, 100: 4, 200: 6, 400: 10}))).verdict == "partly"
    assert one("cat-fig2-3", world(sampling_times({25: 3, 50: 6, 100: 4, 200: 6, 400: 10}))).verdict == \
        "not reproduced"


def test_evaluate_claims_of_one_page() -> None:
    s = world({"ds:0.5": counts([(40, 60), (55, 45)])})
    ((claim, verdict),) = claims.evaluate_claims(s, "ds_fig7_selected_counts")
    assert claim.id == "ds-fig7" and verdict.verdict == "reproduced"
