"""The book's numbers (stats, inference, costs, speedup, equal_cost) and scope on hand-made results (no training)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from scipy.stats import t as student_t

from advsel.config import make_config
from advsel.repro import costs, equal_cost, inference, speedup, stats
from advsel.repro import scope as scope_module
from advsel.repro.scope import Family, Scope, book_families


def run_(seed: int, times: list[float], robust: list[float], clean: list[float] | None = None) -> dict[str, Any]:
    """A result with one evaluation per time (passes 100 per evaluation, 4 evaluations per epoch)."""
    clean = clean or robust
    evals = [{"step": 10 * (i + 1), "epoch": i // 4 + 1, "train_time_s": t, "forward_passes": 100 * (i + 1),
              "backward_passes": 100 * (i + 1), "clean_acc": c, "robust_acc": r}
             for i, (t, r, c) in enumerate(zip(times, robust, clean, strict=True))]
    return {"config": {"seed": seed}, "evals": evals, "epochs": [{"epoch": 1, "clean_acc": clean[-1],
                                                                   "robust_acc": robust[-1]}]}


def with_epochs(**per_epoch: list[Any]) -> dict[str, Any]:
    """A result whose epochs carry the given per-epoch records."""
    n = len(next(iter(per_epoch.values())))
    return {"config": {"seed": 0}, "epochs": [{"epoch": i + 1, **{k: v[i] for k, v in per_epoch.items()}}
                                              for i in range(n)]}


# ---------------------------------------------------------------------------- seeds
def test_mean_sd_and_welch_difference() -> None:
    assert inference.mean_sd([1.0, 3.0]) == (2.0, pytest.approx(math.sqrt(2)))
    assert inference.mean_sd([0.4]) == (0.4, 0.0)
    d, se = inference.difference([1.0, 3.0], [0.0, 0.0])
    assert d == 2.0 and se == pytest.approx(1.0)  # sqrt(2 / 2 + 0 / 2)
    assert inference.difference([0.5], [0.25]) == (0.25, 0.0)


def test_final_and_per_epoch_read_the_records() -> None:
    rs = [with_epochs(clean_acc=[0.1, 0.7], p_up=[1.0, 0.5]), with_epochs(clean_acc=[0.2, 0.9], p_up=[1.0, 0.4])]
    assert stats.final(rs, "clean_acc") == [0.7, 0.9]
    assert stats.per_epoch(rs, "p_up") == [[1.0, 0.5], [1.0, 0.4]]
    assert stats.selected_counts([with_epochs(selected_clean=[10, 30], selected_adv=[40, 20])], -1) == [(30, 20)]


def test_epoch_means_skip_nan_and_missing_records() -> None:
    rs = [with_epochs(a=[1.0, math.nan], b=[2.0, 4.0]), with_epochs(a=[3.0, 5.0], b=[6.0, 8.0])]
    means = stats.epoch_means(rs, ["a", "b", "never"])
    assert means == {1: {"a": 2.0, "b": 4.0}, 2: {"a": 5.0, "b": 6.0}}
    all_nan = stats.epoch_means([with_epochs(a=[math.nan])], ["a"])
    assert math.isnan(all_nan[1]["a"])


def test_first_last_thirds_skip_nan_epochs_and_empty_runs() -> None:
    rs = [with_epochs(m=[1.0, 3.0, math.nan, 5.0, 7.0, 9.0]),  # thirds of 2 epochs: [1, 3] and [7, 9]
          with_epochs(m=[math.nan, math.nan, 1.0, 1.0, 1.0, 1.0])]  # no value in the first third: left out
    assert stats.first_last_thirds(rs, "m") == ([2.0], [8.0])


def test_adaptive_driver_follows_the_config() -> None:
    assert stats.adaptive_driver({"adaptive_accuracy": "train"}) == "train_acc"
    assert stats.adaptive_driver({"adaptive_accuracy": "robust"}) == "val_robust_acc"
    assert stats.adaptive_driver({"adaptive_accuracy": "clean"}) == "val_clean_acc"


def test_similarity_records_and_gap_check() -> None:
    m = {"cosine": {"mean": 0.9, "q10": 0.5}, "asr_before": 0.2, "asr_after": 0.3}
    r = {"config": {"seed": 1}, "epochs": [{"epoch": 1, "similarity_step": m}, {"epoch": 2}]}
    assert stats.similarity_records({"CAT": [r]}, "step") == [
        {"method": "CAT", "seed": 1, "epoch": 1, "mean": 0.9, "q10": 0.5, "asr_before": 0.2, "asr_after": 0.3}]
    assert stats.similarity_records({"CAT": [r]}, "epoch") == []
    with pytest.raises(ValueError, match="gap"):
        stats.similarity_records({"CAT": [r]}, "week")


# ---------------------------------------------------------------------------- cost
def test_total_cost_charges_the_pretraining_and_cost_split_sums_phases() -> None:
    ep = {"forward_passes": 10, "backward_passes": 5, "train_backward": 3, "attack_forward": 6, "attack_backward": 2,
          "train_forward": 4, "time_attack_s": 1.5, "time_train_s": 0.5}
    r = {"train_time_s": 2.0, "epochs": [ep, ep], "pretrain": {"train_time_s": 7.0, "forward_passes": 100,
                                                                "backward_passes": 50}}
    assert costs.total_cost(r) == {"train_time_s": 9.0, "forward_passes": 120, "backward_passes": 60,
                                   "train_backward": 6}
    assert costs.total_costs([r, {**r, "pretrain": None}]) == [9.0, 2.0]
    split = costs.cost_split({**r, "pretrain": None})
    assert split == {"attack_forward": 12, "attack_backward": 4, "train_forward": 8, "train_backward": 6,
                     "time_attack_s": 3.0, "time_train_s": 1.0}


def test_cost_split_charges_the_pretraining_record() -> None:
    ep = {"attack_forward": 6, "attack_backward": 2, "train_forward": 4, "train_backward": 3, "time_attack_s": 1.5,
          "time_train_s": 0.5}
    pre = {"key": "abc", "train_time_s": 7.0, "forward_passes": 100, "backward_passes": 50, "attack_forward": 60,
           "attack_backward": 20, "train_forward": 40, "train_backward": 30, "time_attack_s": 5.0, "time_train_s": 2.0}
    split = costs.cost_split({"epochs": [ep], "pretrain": pre})
    assert split == {"attack_forward": 66, "attack_backward": 22, "train_forward": 44, "train_backward": 33,
                     "time_attack_s": 6.5, "time_train_s": 2.5}
    totals_only = {k: pre[k] for k in ("key", "train_time_s", "forward_passes", "backward_passes")}
    with pytest.raises(ValueError, match="run abc"):  # a record without the split: no reading of the run cache
        costs.cost_split({"epochs": [ep], "pretrain": totals_only})


def test_cost_axes() -> None:
    e = {"train_time_s": 1.5, "step": 3, "forward_passes": 10, "backward_passes": 4}
    assert (costs.cost(e), costs.cost(e, "step"), costs.cost(e, "f2b")) == (1.5, 3, 18)
    with pytest.raises(ValueError, match="x="):
        costs.cost(e, "minutes")


# ---------------------------------------------------------------------------- time to a level
def test_level_stats_average_over_the_runs_that_reached() -> None:
    rs = [run_(0, [1.0, 2.0, 3.0], [0.2, 0.5, 0.6]), run_(1, [1.0, 2.0, 4.0], [0.1, 0.2, 0.6])]
    s = speedup.level_stats(rs, 0.5)
    assert (s.reached, s.runs, s.all_reached) == (2, 2, True)
    assert s.mean() == 3.0  # 2 s and 4 s
    assert s.mean("f2b") == (600 + 900) / 2  # 200 + 2 * 200 and 300 + 2 * 300 passes
    assert speedup.time_to_level(rs, 0.5) == 3.0
    never = speedup.level_stats(rs, 0.9)
    assert never.reached == 0 and never.mean() is None
    partial = [*rs, run_(2, [1.0], [0.3])]
    assert speedup.level_stats(partial, 0.5).mean() == 3.0  # the table's mean over those that reached it
    assert speedup.time_to_level(partial, 0.5) is None  # the verdict's: some run never does


def test_relative_levels_and_speedups() -> None:
    at = [run_(s, [1.0, 2.0, 3.0, 4.0], [0.2, 0.4, 0.6, 0.8]) for s in (0, 1)]
    cat = [run_(s, [1.0, 2.0, 3.0, 4.0], [0.4, 0.6, 0.8, 0.8]) for s in (0, 1)]
    assert speedup.best_mean(at, "robust_acc") == 0.8
    lvs, rows = speedup.speedups(at, cat, "robust_acc")
    assert lvs == [0.4, 0.56, 0.72]
    assert [r.ratio for r in rows] == [2.0, 1.5, pytest.approx(4 / 3)]
    assert speedup.sampling_level({25: at, 50: cat}) == 0.64
    short = [run_(0, [1.0, 2.0], [0.2, 0.3]), at[1]]  # one AT run never reaches 0.4
    assert speedup.speedup_rows(short, cat, [0.4], "robust_acc")[0].ratio is None


# ---------------------------------------------------------------------------- equal budgets
def test_accuracy_at_time_last_and_interpolated() -> None:
    r = run_(0, [1.0, 2.0, 4.0], [0.1, 0.3, 0.5])
    assert math.isnan(equal_cost.accuracy_at_time(r, 0.5))
    assert equal_cost.accuracy_at_time(r, 1.0) == 0.1
    assert equal_cost.accuracy_at_time(r, 3.0) == 0.3  # last evaluation at or before the budget
    assert equal_cost.accuracy_at_time(r, 3.0, interpolate=True) == pytest.approx(0.4)
    assert equal_cost.accuracy_at_time(r, 99.0, interpolate=True) == 0.5  # after the end: the final value
    assert equal_cost.accuracy_at_time(r, 450, x="f2b") == 0.1  # 300, then 600 passes (F + 2B)
    with pytest.raises(ValueError, match="metric"):
        equal_cost.accuracy_at_time(r, 1.0, "loss")
    with pytest.raises(ValueError, match="x="):
        equal_cost.accuracy_at_time(r, 1.0, x="minutes")


def test_common_budget_and_at_budget() -> None:
    runs = {"a": [run_(0, [1, 2], [0.1, 0.2]), run_(1, [1, 4], [0.1, 0.3])], "b": [run_(0, [2, 5], [0.4, 0.6])]}
    assert equal_cost.common_budget(runs) == 3.0
    assert equal_cost.at_budget(runs, 3.0) == {"a": [0.2, 0.1], "b": [0.4]}
    assert equal_cost.at_budget(runs, 1.0) == {"a": [0.1, 0.1], "b": []}  # b has no evaluation yet


def test_budget_ranking_and_its_sentence() -> None:
    runs = {"AT": [run_(s, [1.0, 2.0], [0.3, 0.40 + 0.01 * s]) for s in (0, 1, 2)],
            "new": [run_(s, [1.0, 2.0], [0.3, 0.50 + 0.01 * s]) for s in (0, 1, 2)],
            "late": [run_(0, [3.0], [0.9])]}
    ranking = equal_cost.budget_ranking(runs, 2.0)
    assert ranking.ranked == ["new", "AT"] and ranking.missing == ["late"] and ranking.collapsed == []
    assert ranking.means["new"] == pytest.approx(0.51)
    iv = ranking.interval("new", "AT")
    assert iv.estimate == pytest.approx(0.1) and iv.lo > 0 and iv.n == (3, 3)
    assert equal_cost.budget_verdict(runs, 2.0, "new") == (
        "Within 2.0 s of training, robust accuracy ranks new 51.0% > AT 41.0%; new is 10.0 points higher than AT "
        f"(95% interval [{100 * iv.lo:+.1f}, {100 * iv.hi:+.1f}], excludes zero) (late: no evaluation yet within "
        "this budget).")
    single = equal_cost.budget_ranking({**runs, "AT": runs["AT"][:1]}, 2.0)
    assert single.interval("new", "AT") is None
    assert equal_cost.budget_verdict(runs, 2.0, "late") == "late has no evaluation within this budget (late: no " \
        "evaluation yet within this budget)."


# ---------------------------------------------------------------------------- scope
def test_family_values_and_names() -> None:
    assert Family.ds(1) == Family("ds", 1.0) and Family.ds(1).name == "ds:1.0"
    assert str(Family.timed("cat")) == "timed:cat" and Family.method("robust").name == "robust"
    assert Family.sampling(25, "robust").name == "sampling:robust@25" and Family.driver("clean").name == "driver:clean"
    for bad in (("ds", "0.5"), ("robust", 1.0), ("bogus", None), ("sampling", 2.5), ("sampling", ("ds", 25)),
                ("driver", "test"), ("timed", "standard")):
        with pytest.raises(ValueError, match="run family"):
            Family(*bad)


def test_scope_configs_are_the_books() -> None:
    s = Scope(seeds=[0, 1])
    assert s.seeds == (0, 1)
    robust = s.configs(Family.method("robust"))
    assert [c.key() for c in robust] == [make_config("cpu", "mnist", method="robust", seed=i).key() for i in (0, 1)]
    (ds,) = s.replace(seeds=(2,)).configs(Family.ds(0.5))
    assert (ds.method, ds.p_up, ds.seed, ds.min_eps_probe, ds.similarity_probe) == ("ds", 0.5, 2, 32, 0)
    timed = s.configs(Family.timed("cat"))[0]
    assert (timed.method, timed.eval_every, timed.similarity_probe) == ("cat", 20, 200)  # 4000 / 100 / 2
    assert s.configs(Family.sampling(timed.batch_size))[0].key() == timed.key()  # sampling:b' is timed:cat
    big, at = s.configs(Family.sampling(400))[0], s.configs(Family.sampling(400, "robust"))[0]
    assert (big.batch_size, big.eval_every, big.lr) == (400, 5, pytest.approx(4 * timed.lr))  # lr linear in b'
    assert (at.method, at.batch_size, at.lr) == ("robust", 400, big.lr)
    assert Scope("smoke").configs(Family.ds(0.5))[0].min_eps_probe == 8
    # extra points run with the first seed only; Dong gets as many steps as PGD-AT
    assert [c.seed for c in s.configs(Family.ds(0.25))] == [0] and len(s.configs(Family.ds(1.0))) == 2
    warm = s.configs(Family.warmup(0.5))  # every seed: compared with PGD-AT
    assert [(c.p_up, c.p_up_warmup_epochs, c.seed) for c in warm] == [(0.5, 3, 0), (0.5, 3, 1)]
    assert Scope("smoke").configs(Family.warmup(0.5))[0].p_up_warmup_epochs < make_config("smoke", "mnist").epochs
    (drv,) = s.configs(Family.driver("robust"))
    assert (drv.method, drv.adaptive_accuracy, drv.validation_size) == ("ds-adaptive", "robust", 500)
    assert s.configs(Family.driver("train"))[0].key() == s.configs(Family.method("ds-adaptive"))[0].key()
    assert s.configs(Family.method("dong"))[0].dong_steps == "pgd-at"
    cifar = s.replace(dataset="cifar10")  # a CIFAR-10 timed family is the method's own
    assert cifar.configs(Family.timed("cat"))[0].key() == cifar.configs(Family.method("cat"))[0].key()
    assert cifar.configs(Family.timed("ds"))[0].key() == cifar.configs(Family.ds(0.5))[0].key()


def test_timed_results_label_the_timed_families() -> None:
    s = Scope("cpu", "cifar10", loader=lambda c: {"config": c.to_dict()})
    runs = s.timed_results(["robust", "ds", "prescreen"])
    assert list(runs) == ["PGD-AT", "DS", "prescreen"]
    assert [r["config"]["method"] for r in runs["DS"]] == ["ds"] * 3
    assert [r["config"]["seed"] for r in runs["prescreen"]] == [0, 1, 2]


def test_sampling_numbers_and_book_families() -> None:
    assert Scope("smoke").sampling_numbers() == [50]  # the profile's b' only
    assert Scope("cpu").sampling_numbers() == [100]  # CAT Figs. 2-3 are not run at the cpu profile
    assert Scope("paper").sampling_numbers() == [25, 100, 400]
    fams = book_families("cpu")
    cifar = {f for s, f in fams if s.dataset == "cifar10"}
    assert {Family.method(m) for m in ("standard", "robust", "ds-adaptive", "random", "dong")} <= cifar
    assert {Family.ds(0.5), Family.ds(1.0), Family.warmup(0.5), Family.driver("robust")} <= cifar
    mnist = {f for s, f in fams if s.dataset == "mnist"}
    assert Family.timed("cat-uniform") in mnist and not any(f.kind == "sampling" for f in mnist)
    assert {Family.ablation(a) for a in scope_module.ABLATIONS} <= cifar and Family.ds(0.25) not in cifar
    assert {Family.ds(0.25), Family.ds(0.75)} <= {f for s, f in book_families("smoke")}
    assert {s.dataset: s.seeds for s, _ in fams} == {"cifar10": (0, 1, 2), "mnist": (0, 1, 2, 3)}
    assert {s.seeds for s, _ in book_families("cpu", seeds=(5,), mnist_seeds=(6, 7))} == {(5,), (6, 7)}
    keys = [c.key() for s, f in fams for c in s.configs(f)]
    assert len(keys) == len(set(keys))  # no run is computed twice


def test_final_spec_autoattack_on_every_seed_of_the_robust_verdicts_families() -> None:
    for seed in (0, 1, 2):
        spec = scope_module.final_spec("cpu", "cifar10", Family.ds(0.5), seed)
        assert (spec.autoattack_n, spec.autoattack_version) == (500, "apgd")
    assert scope_module.final_spec("cpu", "mnist", Family.timed("cat"), 2).autoattack_n == 500
    assert scope_module.final_spec("cpu", "cifar10", Family.method("standard"), 0).autoattack_n == 0
    spec = scope_module.final_spec("cpu", "cifar10", Family.ds(0.25), 0)
    assert (spec.n, spec.steps, spec.restarts, spec.autoattack_n) == (2000, 20, 2, 0)


def test_results_go_through_the_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    monkeypatch.setattr(scope_module, "load",
                        lambda c, final=None, progress=False: seen.append((c, final)) or {"seed": c.seed})
    assert Scope().results(Family.ds(0.5)) == [{"seed": 0}, {"seed": 1}, {"seed": 2}]
    assert [c.p_up for c, _ in seen] == [0.5, 0.5, 0.5]
    assert [f.n for _, f in seen] == [2000] * 3
    seen.clear()
    Scope(dataset="cifar10").results(Family.timed("robust"))  # the canonical family's final evaluation
    assert [f.autoattack_n for _, f in seen] == [500, 500, 500]
    own = Scope(seeds=(4,), loader=lambda c: {"own": c.method})
    assert own.results(Family.method("dong")) == [{"own": "dong"}]
    assert own.replace(dataset="cifar10").results(Family.method("robust")) == [{"own": "robust"}]


def test_convergence_criterion() -> None:
    def run(losses: list[float], epochs: int | None = None) -> dict:
        return {"config": {"epochs": epochs or len(losses), "test_size": 500, "seed": 0},
                "epochs": [{"train_loss": x, "clean_acc": 0.5} for x in losses]}
    assert stats.converged(run([2.2, 1.9, 1.80, 1.79, 1.785]))
    falling = run([2.2, 1.9, 1.80, 1.75, 1.70])  # -0.05 per epoch over the last three
    assert not stats.converged(falling) and "still falling (-0.050 per epoch" in stats.convergence_problems(falling)[0]
    drift = run([2.2, 1.9, 1.80, 1.85, 1.86])  # back up towards ln 10
    assert not stats.converged(drift) and "drifting back towards ln 10" in stats.convergence_problems(drift)[-1]
    assert not stats.converged(run([2.2, 1.9], epochs=5))  # the schedule did not complete
    assert stats.unconverged({"a": [falling]}) == [("a", 0)]


# ---------------------------------------------------------------------------- intervals
@pytest.mark.parametrize(("n", "q975"), [(2, 12.706205), (3, 4.302653), (4, 3.182446), (5, 2.776445),
                                         (6, 2.570582), (11, 2.228139), (31, 2.042272)])  # printed t tables, df n - 1
def test_one_sample_interval_uses_the_t_quantile(n: int, q975: float) -> None:
    xs = [float(i % 2) for i in range(n)]
    iv = inference.one_sample_interval(xs)
    m, s = inference.mean_sd(xs)
    assert iv.df == n - 1 and (iv.hi - m) / (s / math.sqrt(n)) == pytest.approx(q975, abs=1e-6)
    assert m - iv.lo == pytest.approx(iv.hi - m)


def test_welch_interval_by_hand() -> None:
    iv = inference.welch_interval([1.0, 2.0, 3.0], [0.0, 0.0, 0.5, 1.5])
    va, vb = 1.0 / 3, inference.mean_sd([0.0, 0.0, 0.5, 1.5])[1] ** 2 / 4
    df = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 3)
    half = student_t.ppf(0.975, df) * math.sqrt(va + vb)
    assert iv.estimate == pytest.approx(1.5) and iv.df == pytest.approx(df) and iv.n == (3, 4)
    assert (iv.lo, iv.hi) == (pytest.approx(1.5 - half), pytest.approx(1.5 + half)) and iv.method == "Welch"
    flat = inference.welch_interval([0.5, 0.5], [0.25, 0.25])  # no spread: a point, pooled df
    assert (flat.lo, flat.hi, flat.df) == (0.25, 0.25, 2.0)
    with pytest.raises(ValueError, match="two values per side"):
        inference.welch_interval([0.5], [0.25, 0.3])


def test_one_sample_and_paired_intervals() -> None:
    iv = inference.one_sample_interval([1.0, 2.0, 3.0])
    assert iv.estimate == 2.0 and iv.df == 2.0 and iv.hi - iv.estimate == pytest.approx(4.302653 / math.sqrt(3), 1e-6)
    p = inference.paired_interval([3.0, 5.0, 7.0], [2.0, 3.0, 4.0])  # differences 1, 2, 3
    assert (p.estimate, p.lo, p.hi, p.method) == (2.0, iv.lo, iv.hi, "paired")
    with pytest.raises(ValueError, match="equal lengths"):
        inference.paired_interval([1.0, 2.0], [1.0])


def test_classify_each_kind_and_seeds_needed() -> None:
    iv = inference.Interval(0.03, 0.01, 0.05, 0.0, 4.0, (3, 3), "Welch")
    assert [inference.classify(iv, k) for k in ("higher", "lower")] == ["claimed", "opposite"]
    assert inference.classify(iv, "within", -0.06, 0.06) == "claimed"
    assert inference.classify(iv, "within", -0.02, 0.02) == "undecided"
    assert inference.classify(iv, "within", -0.005, 0.005) == "opposite"
    assert inference.classify(iv, "at_least", -0.02) == "claimed"
    assert inference.classify(iv, "at_least", 0.06) == "opposite"
    assert inference.classify(iv, "at_most", high=0.02) == "undecided"
    assert inference.classify(iv, "at_most", high=0.0) == "opposite"
    with pytest.raises(ValueError, match="kind"):
        inference.classify(iv, "bigger")
    a, b = [0.9, 0.93, 0.96], [0.88, 0.9, 0.92]
    iv = inference.welch_interval(a, b)
    assert inference.classify(iv, "higher") == "undecided"
    n = inference.seeds_needed(iv, [inference.mean_sd(a)[1], inference.mean_sd(b)[1]], "higher")
    assert n is not None and n > 3
    bigger = inference.welch_interval(a * n, b * n)  # the same means; the spreads shrink slightly with more copies
    assert inference.classify(bigger, "higher") == "claimed"
    same = inference.welch_interval([0.5, 0.6], [0.5, 0.6])
    assert inference.seeds_needed(same, [0.07, 0.07], "higher") is None  # no difference: no number of seeds decides


# ---------------------------------------------------------------------------- collapse
def test_collapse_needs_chance_accuracy_and_loss_near_ln_c() -> None:
    dead = with_epochs(clean_acc=[0.3, 0.1, 0.1], train_loss=[2.0, 2.31, 2.30])
    assert stats.chance_epochs(dead) == [2, 3] and stats.collapsed(dead)
    learning = with_epochs(clean_acc=[0.1, 0.1, 0.5], train_loss=[2.3, 2.3, 2.0])  # left chance at the end
    assert not stats.collapsed(learning)
    hard = with_epochs(clean_acc=[0.3, 0.31, 0.33], train_loss=[2.3, 2.29, 2.28])  # high loss, above chance
    assert stats.chance_epochs(hard) == [] and not stats.collapsed(hard)
    guessing = with_epochs(clean_acc=[0.1, 0.1, 0.1], train_loss=[1.5, 1.4, 1.3])  # at chance, loss far from ln C
    assert not stats.collapsed(guessing)
    short = with_epochs(clean_acc=[0.1], train_loss=[2.3])  # one epoch: cannot tell
    assert not stats.collapsed(short)
    plateau = with_epochs(clean_acc=[0.1, 0.11, 0.1, 0.6, 0.8], train_loss=[2.31, 2.3, 2.3, 1.5, 1.0])
    assert not stats.collapsed(plateau)
    report = stats.collapse_report({"dead": [dead], "plateau": [plateau], "fine": [learning]})
    assert [(c.label, c.collapsed, c.epochs) for c in report] == [("dead", True, (2, 3)),
                                                                   ("plateau", False, (1, 2, 3))]
    assert stats.collapsed_seeds([dead, learning]) == [0]
    assert stats.num_classes({"config": {"dataset": "cifar10"}}) == 10 and stats.num_classes({"num_classes": 100,
                                                                                             "config": {}}) == 100


# ---------------------------------------------------------------------------- final evaluation
def test_final_accuracies_prefer_final_eval() -> None:
    old = {"config": {"seed": 0, "eps": 0.3, "eval_eps": None, "eval_alpha": 0.075, "eval_steps": 10,
                      "eval_restarts": 1, "test_size": 500}, "test_size": 500,
           "epochs": [{"epoch": 1, "clean_acc": 0.9, "robust_acc": 0.5}]}
    new = {**old, "final_eval": {"n": 10000, "attack": {"name": "pgd", "eps": 0.3, "alpha": 0.01, "steps": 20,
                                                        "restarts": 10}, "clean_acc": 0.95, "robust_acc": 0.45,
                                 "autoattack": {"n": 1000, "version": "standard", "robust_acc": 0.4}}}
    assert stats.final([old, new], "robust_acc") == [0.5, 0.45]
    assert stats.final([new], "clean_acc") == [0.95] and stats.final([new], "autoattack_acc") == [0.4]
    with pytest.raises(ValueError, match="AutoAttack"):
        stats.final([old], "autoattack_acc")
    assert stats.has_autoattack([new]) and not stats.has_autoattack([old, new])
    assert stats.evaluation_label([old]) == ("last epoch's evaluation, PGD-10 (eps 0.3, alpha 0.075, 1 restart), "
                                             "n = 500 test samples")
    assert stats.evaluation_label([new]) == ("final evaluation, PGD-20 (eps 0.3, alpha 0.01, 10 restarts), "
                                             "n = 10,000 test samples")
    assert stats.evaluation_short([old, new]) == "last epoch, PGD-10, n = 500; final evaluation, PGD-20 x10 " \
        "restarts, n = 10,000"
    assert stats.evaluation_short([new], "clean_acc") == "final evaluation, clean, n = 10,000"
    assert stats.evaluation_label([new], "autoattack_acc") == ("final evaluation, AutoAttack standard (eps 0.3), "
                                                               "n = 1,000 test samples")


# ---------------------------------------------------------------------------- claim statistics
def test_per_step_cost_and_log_times() -> None:
    r = {"train_time_s": 8.0, "epochs": [{"steps": 2, "forward_passes": 10, "backward_passes": 5},
                                         {"steps": 2, "forward_passes": 10, "backward_passes": 5}]}
    assert costs.per_step(r) == {"time_s": 2.0, "f2b": 10.0, "steps": 4}
    assert costs.log_per_step([r]) == [pytest.approx(math.log(2.0))]
    assert costs.ds_step_units(20, 1.0) == 68 and costs.ds_step_units(20, 0.5) == 65
    assert costs.ds_step_units(20, 1.0, scoring_pass=False) == 66 and costs.ds_step_units(20, 0.5, False) == 64
    rs = [run_(0, [1.0, 2.0, 4.0], [0.2, 0.5, 0.8]), run_(1, [1.0, 2.0], [0.2, 0.4])]
    assert speedup.run_times_to_level(rs, 0.5) == [2.0, None]
    assert speedup.mean_log_times(rs, [0.2, 0.5], "robust_acc") == [pytest.approx(math.log(2.0) / 2), None]
    assert speedup.common_levels([rs[:1], rs], [0.2, 0.5], "robust_acc") == [0.2]
    sel = [with_epochs(selected_clean=[40, 60], selected_adv=[60, 40])]
    assert stats.selection_lead(sel, 0) == [20] and stats.selection_lead(sel, -1) == [-20]
    assert stats.thirds_growth([with_epochs(m=[1.0, 2.0, 3.0])], "m") == [2.0]


def test_at_chance_allows_two_standard_errors_of_the_test_subset() -> None:
    near = {"clean_acc": 0.122, "train_loss": 2.303}  # DS P_up 0.25 after a warm-up epoch, CIFAR-10, n = 500
    assert stats.at_chance(near, 10, 500)  # 2 SE of 10 % on 500 samples: 2.7 points
    assert not stats.at_chance(near, 10)  # without a test size: the fixed 2-point margin
    assert not stats.at_chance(near, 10, 10_000)  # 2 SE = 0.6 points: the 2-point margin rules
    assert not stats.at_chance({"clean_acc": 0.122, "train_loss": 2.0}, 10, 500)  # the loss is not ln C
