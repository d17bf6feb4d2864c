"""The pages' tables, figures and readings (advsel.repro.tables / figures / readings) on hand-made results:
each sentence states the numbers of its table, and each branch of a sentence is reached."""

from __future__ import annotations

import math
from types import SimpleNamespace

import matplotlib
import pandas as pd
import pytest

from advsel.repro import figures, readings, speedup, stats, tables, verdicts

matplotlib.use("Agg")


def run(seed: int, times: list[float], robust: list[float], clean: list[float] | None = None, **config) -> dict:
    """A result with one evaluation per epoch (100 forward and backward passes each) and matching epoch records."""
    clean = clean or robust
    evals = [{"step": 10 * (i + 1), "epoch": i + 1, "train_time_s": t, "forward_passes": 100 * (i + 1),
              "backward_passes": 100 * (i + 1), "clean_acc": c, "robust_acc": r}
             for i, (t, r, c) in enumerate(zip(times, robust, clean, strict=True))]
    epochs = [{"epoch": i + 1, "clean_acc": c, "robust_acc": r, "train_loss": 0.5, "steps": 10,
               "forward_passes": 100, "backward_passes": 100, "attack_forward": 60, "attack_backward": 60,
               "train_forward": 40, "train_backward": 40, "time_attack_s": 0.75, "time_train_s": 0.25}
              for i, (r, c) in enumerate(zip(robust, clean, strict=True))]
    return {"config": {"seed": seed, "batch_size": 10, **config}, "evals": evals, "epochs": epochs,
            "train_time_s": times[-1], "train_size": 100}


def test_run_state_and_growth_name_collapse_and_plateau() -> None:
    ok = run(0, [1, 2, 3], [0.3, 0.4, 0.5], [0.6, 0.7, 0.8])
    dead = run(1, [1, 2, 3], [0.0, 0.0, 0.0], [0.1, 0.1, 0.1])
    for e in dead["epochs"]:
        e["train_loss"] = math.log(10)
    plateau = run(2, [1, 2, 3, 4], [0.0, 0.0, 0.0, 0.4], [0.1, 0.1, 0.1, 0.8])
    for e in plateau["epochs"][:3]:
        e["train_loss"] = math.log(10)
    assert readings.run_state(ok) == "seed 0 did not collapse (final clean 80.0%, robust 50.0%)"
    assert readings.run_state(dead).startswith("seed 1 collapsed (final clean 10.0%")
    assert readings.run_state(plateau).startswith("seed 2 on a plateau at chance in epochs 1, 2, 3 (")
    assert readings.run_growth(ok, "robust_acc") == f"seed 0 {stats.thirds_growth([ok], 'robust_acc')[0]:+.4g}"
    assert readings.run_growth(dead, "robust_acc").startswith("seed 1 (collapsed) ")
    assert readings.run_growth(ok, "missing") == "seed 0 no value in a third"


def test_rows_per_paper_counts_ours_apart() -> None:
    ev = [(SimpleNamespace(paper=p), None) for p in ("DS", "DS", "CAT", "ours")]
    assert readings.rows_per_paper(ev) == "2 from DS, 1 from CAT, 1 of our own"


def similarity_runs(same: list[float], base: list[float | None]) -> list[dict]:
    """One run per seed with a ``similarity_step`` record per epoch: same-sample mean ``same``, baseline ``base``."""
    out = []
    for seed, (s, b) in enumerate(zip(same, base, strict=True)):
        probe = {"cosine": {"mean": s}, "same_class_pairs": 4 if b is not None else 0}
        if b is not None:
            probe["cosine_same_class"] = {"mean": b, "q25": b - 0.1, "q75": b + 0.1}
        out.append({"config": {"seed": seed}, "epochs": [{"epoch": 1, "steps": 5, "similarity_step": probe},
                                                          {"epoch": 2, "steps": 5}]})
    return out


def test_similarity_baseline_frame_and_sentence() -> None:
    rs = similarity_runs([0.99, 0.98, 0.985], [0.95, 0.93, 0.94])
    base = tables.similarity_baseline_frame(rs, "step")
    assert list(base["same sample"]) == [0.99, 0.98, 0.985] and list(base["pairs"]) == [4, 4, 4]
    assert math.isnan(base.loc[0, "base_q10"]) and base.loc[0, "base_q25"] == pytest.approx(0.85)
    assert tables.similarity_run_means(base) == ([0.99, 0.98, 0.985], [0.95, 0.93, 0.94])
    text = readings.similarity_baseline_sentence(base, "Steps")
    assert text.startswith("Steps: the same sample's predictions have a mean cosine of 0.9850; two different "
                           "samples of the same class, at the same iteration, 0.9400 (4 pairs")
    assert "the same-sample cosine is above the baseline" in text and "The baseline itself is at or above" in text
    one = tables.similarity_baseline_frame(similarity_runs([0.9], [0.5]), "step")
    assert "One run: no interval" in readings.similarity_baseline_sentence(one, "x")
    assert "The baseline is below the threshold" in readings.similarity_baseline_sentence(one, "x")
    none = tables.similarity_baseline_frame(similarity_runs([0.9], [None]), "step")
    assert readings.similarity_baseline_sentence(none, "x") == "x: no probe class had two samples, so there is no " \
        "baseline."
    assert tables.similarity_baseline_frame(rs, "epoch").empty
    summary = pd.DataFrame({"method": ["CAT"] * 2, "seed": [0, 1], "epoch": [1, 1], "mean": [0.99, 0.98]})
    joined = tables.similarity_with_baseline(summary, tables.similarity_baseline_frame(rs[:2], "step"))
    assert joined.loc[("CAT", 1), "baseline mean"] == pytest.approx(0.94) and joined.loc[("CAT", 1), "mean"] == 0.985


def test_gain_rank_frame_and_sentence() -> None:
    rs = [{"config": {"seed": s}, "epochs": [{"epoch": 1, "steps": 10},
                                             {"epoch": 2, "steps": 10, "gain_spearman": rho, "gain_spearman_pairs": 6,
                                              "gain_spearman_gap_steps": 9.0}]}
          for s, rho in ((0, 0.8), (1, 0.6))]
    gains = tables.gain_rank_frame(rs)
    assert list(gains["spearman"]) == [0.8, 0.6] and list(gains["epoch"]) == [2, 2]
    assert tables.per_epoch_means(gains).loc[2, "spearman"] == pytest.approx(0.7)
    text = readings.gain_rank_sentence(gains)
    assert text.startswith("Over 2 run(s), the Spearman correlation of a sample's eq. (3) gain at one draw with its "
                           "gain at the next averages 0.700, over 6 pairs per epoch on average, the two draws 9.0 "
                           "iterations apart on average (an epoch has 10).")
    assert "95% t interval of the per-run means: [" in text
    assert readings.gain_rank_sentence(tables.gain_rank_frame(rs[:0])).startswith("No sample was drawn twice")


def sampling(times: dict[str, dict[int, float]], seeds: dict[int, tuple[int, ...]]) -> dict:
    """{method: {N: runs}} reaching robust accuracy 0.5 after ``times[method][N]`` seconds, lr linear in N."""
    return {m: {n: [run(s, [t, t + 1], [0.5, 0.6], lr=0.001 * n, batch_size=n, epochs=1) for s in seeds[n]]
                for n, t in ts.items()} for m, ts in times.items()}


def test_sampling_tables_and_sentences() -> None:
    by_method = sampling({"CAT": {100: 2.0, 400: 1.0}, "PGD-AT": {100: 3.0, 400: 1.5}}, {100: (0, 1), 400: (0,)})
    setup = tables.sampling_setup_table(by_method)
    assert list(setup.index) == [("CAT", 100), ("CAT", 400), ("PGD-AT", 100), ("PGD-AT", 400)]
    assert setup.loc[("CAT", 100), "seeds"] == "0, 1" and setup.loc[("CAT", 400), "lr / N"] == pytest.approx(0.001)
    text = readings.sampling_setup_sentence(setup, 100)
    assert text.startswith("Sampling numbers: 100, 400. The learning rate is linear in N in every run: lr / N = "
                           "0.001, i.e. lr = 0.1 x N / 100")
    assert "seeds 0, 1: CAT N = 100, PGD-AT N = 100; seed 0: CAT N = 400, PGD-AT N = 400" in text
    setup.loc[("CAT", 400), "lr / N"] = 0.002
    assert "**not** one linear rule" in readings.sampling_setup_sentence(setup, 100)
    shape = tables.sampling_shape_table(by_method, 0.5)
    assert list(shape["CAT time (s)"]) == [2.0, 1.0] and list(shape["CAT / PGD-AT"]) == [0.667, 0.667]
    assert list(shape["CAT / CAT at N = 100"]) == [1.0, 0.5]
    text = readings.sampling_shape_sentence(shape, by_method)
    assert text.startswith("Time to the robust level, fastest first: CAT: N = 400 (1 s) < N = 100 (2 s); PGD-AT: "
                           "N = 400 (1.5 s) < N = 100 (3 s). Both methods order the sampling numbers the same way")
    assert text.endswith("N = 400 ran with one seed: those times have no interval, so neither ordering is "
                         "established, and timing noise alone can swap close values.")
    apart = sampling({"CAT": {100: 1.0, 400: 2.0}, "PGD-AT": {100: 3.0, 400: 1.5}}, {100: (0, 1), 400: (0, 1)})
    assert "order the sampling numbers differently." in readings.sampling_shape_sentence(
        tables.sampling_shape_table(apart, 0.5), apart)
    levels = tables.time_to_level_by_method(by_method, 0.5, "robust_acc")
    assert levels.loc[("PGD-AT", 400), "time (s)"] == 1.5 and levels.loc[("CAT", 100), "reached"] == "2/2"
    evaluated = [(SimpleNamespace(id="a"), verdicts.not_testable("one seed")),
                 (SimpleNamespace(id="b"), verdicts.Verdict("reproduced", "s"))]
    assert readings.untestable_note(evaluated, [400]) == (
        "Not testable at this scale: `a` (one seed). N = 400 ran with one seed, which has no interval; the measured "
        "times are still shown above.")
    assert readings.untestable_note(evaluated[1:], [400]) == ""


def test_which_selection_tables_and_advice() -> None:
    runs = {"PGD-AT": [run(0, [1, 2], [0.2, 0.4]), run(1, [1, 2], [0.2, 0.41])],
            "prescreen": [run(0, [0.5, 1], [0.3, 0.5]), run(1, [0.5, 1], [0.3, 0.52])]}
    costs = tables.step_cost_table(runs, "PGD-AT")
    assert costs.loc["prescreen", "time ratio"] == 0.5 and costs.loc["PGD-AT", "attack share of time (%)"] == 75.0
    assert costs.loc["PGD-AT", "attack share of F + 2B (%)"] == 60.0
    levels = tables.reference_levels(runs, "PGD-AT", "robust_acc", (1.0, 0.9))
    assert levels == {"90% of PGD-AT's lowest final": pytest.approx(0.36), "PGD-AT's lowest final": 0.4,
                      "PGD-AT's final mean": pytest.approx(0.405)}
    t = tables.level_ratio_table(runs, 0.4, "robust_acc", "PGD-AT")
    assert t.loc["prescreen", "time / PGD-AT"] == 0.5 and t.loc["prescreen", "passes / PGD-AT"] == 1.0
    both = tables.level_ratio_tables(runs, levels, "robust_acc", "PGD-AT")
    assert list(both.index.get_level_values("level").unique()) == ["36.0% (90% of PGD-AT's lowest final)",
                                                                    "40.0% (PGD-AT's lowest final)",
                                                                    "40.5% (PGD-AT's final mean)"]
    advice = readings.advice(runs, 2.0, 0.4, "PGD-AT", "prescreen")
    assert advice.startswith("Within 2.0 s of training (the time the fastest-finishing method needed), prescreen has "
                             "the highest robust accuracy, 51.0%, 10.5 points above PGD-AT (95% interval [")
    assert "That lead is distinguishable from zero; wall time on a shared two-core machine is shown here, not " \
           "advice" in advice and "use prescreen" not in advice
    assert "To reach PGD-AT's final robust accuracy (the lowest over its " \
           "seeds, 40.0%), prescreen was the fastest method all of whose runs got there (1.0 s, 0.50 x PGD-AT's " \
           "2.0 s)." in advice
    assert readings.fastest_to_level(runs, 0.9, "PGD-AT", "prescreen").startswith("No method had every run reach")
    assert readings.budget_lead({"PGD-AT": runs["PGD-AT"]}, 2.0) == ""
    text = readings.prescreen_pass_model({"steps": 10, "attack_share": 0.5, "unattacked": "clean"})
    assert "3K + 3 = 33 forward-pass equivalents" in text and "= 19, 0.58 x PGD-AT's" in text


def test_driver_costs_and_match() -> None:
    def ds(seed: int, p_up: float, time: float, **config) -> dict:
        r = run(seed, [time], [0.5], **config)
        r["epochs"][0]["p_up"] = p_up
        return r

    by_driver = {"train": [ds(0, 0.9, 2.0, adaptive_accuracy="train"), ds(1, 0.9, 2.0)],
                 "clean": [ds(0, 0.5, 1.0, validation_size=500, adaptive_accuracy="clean")]}
    reference = [ds(0, 1.0, 2.0), ds(1, 1.0, 2.0)]
    cost = tables.driver_cost_table(by_driver, reference, 0.998)
    assert cost.loc["train", "time ratio"] == 1.0 and cost.loc["clean", "time ratio"] == 0.5
    assert cost.loc["clean", "seeds"] == "0" and cost.loc["train", "mean P_up"] == 0.9
    text = readings.driver_match(cost, 0.998, 0.95, ["clean"])
    assert text.startswith("The eq. (9) driver that matches DS Table I, i.e. whose total training time relative to DS "
                           "P_up = 1 is closest to the paper's 0.998, is **`train`** (1.000; `clean` 0.500). In "
                           "sample passes F + 2B per step")
    assert text.endswith("ours: `train` 0.90, `clean` 0.50. The `clean` driver has one seed: no interval, a reading "
                         "rather than a verdict.")
    assert readings.driver_label("clean", by_driver["clean"]) == "clean accuracy on a 500-sample validation split"
    assert readings.driver_label("train", by_driver["train"]) == "train accuracy on the scored 2b' training samples"
    note = readings.drivers_note(by_driver, {"p_up_floor": 0.1, "adaptive_accuracy": "train"})
    assert note.endswith("the ledger's row checks the `train` driver (record `train_acc`), and the page adds `clean` "
                         "(record `val_clean_acc`, seed 0)")
    assert tables.p_up_by_driver(by_driver).loc[1].to_dict() == {"train": 0.9, "clean": 0.5}


def test_cat_tables_control_schedule_and_autoattack() -> None:
    at = [run(s, [1, 2, 3], [0.2, 0.4, 0.6]) for s in (0, 1)]
    cat = [run(s, [1, 2, 3], [0.4, 0.6, 0.6]) for s in (0, 1)]
    control = [run(s, [1, 2, 3], [0.2, 0.2, 0.6]) for s in (0, 1)]
    t = tables.control_table({"AT": at, "CAT": cat, "uniform": control}, "AT", "CAT", "uniform", "robust_acc")
    levels, rows = speedup.speedups(control, cat, "robust_acc")
    assert list(t["speed-up uniform/CAT"]) == [round(r.ratio, 2) for r in rows]
    assert [c for c in t.columns if "passes" in c] == []
    printed = tables.cat_paper_tables({"mnist": "T1", "cifar10": "T2"})
    assert printed.loc[("T2", "robust", 60), "speed-up"] == pytest.approx(7.50 / 2.37)
    runs = {"AT": [{**r, "evals": r["evals"] * 2} for r in at], "CAT": cat}
    for r in runs["AT"]:
        r["config"]["epochs"] = 3
    assert readings.schedule("Table 1", runs) == ("Table 1: AT, CAT with 2 seeds [0, 1], 3 epochs of 10 iterations, "
                                                  "evaluated twice per epoch (every 5 iterations)")
    fe = {"n": 100, "clean_acc": 0.5, "robust_acc": 0.3, "attack": {"name": "pgd", "eps": 0.3, "alpha": 0.1,
                                                                    "steps": 20, "restarts": 1},
          "autoattack": {"n": 50, "version": "standard", "robust_acc": 0.2}}
    assert readings.autoattack_seeds({"AT": [{**at[0], "final_eval": fe}]}).startswith(
        "AutoAttack, for the runs that have one (seed 0): final evaluation, AutoAttack")


def test_figures_draw_on_hand_made_results() -> None:
    import matplotlib.pyplot as plt

    runs = {"PGD-AT": [run(0, [1, 2], [0.2, 0.4]), run(1, [1, 2], [0.2, 0.41])], "DS": [run(0, [0.5, 1], [0.3, 0.5])]}
    figs = [figures.cost_curves(runs), figures.cost_curves_by_dataset({"mnist": runs}, {"mnist": "Table 1"}),
            figures.level_bars(tables.time_to_level_table(runs, 0.4), "to 40%")]
    by_method = sampling({"CAT": {100: 2.0, 400: 1.0}, "PGD-AT": {100: 3.0, 400: 1.5}}, {100: (0,), 400: (0,)})
    figs += [figures.sampling_panels(by_method, "step", log=True),
             figures.level_bars_by_method(tables.time_to_level_by_method(by_method, 0.5, "robust_acc"), [100, 400],
                                          "t")]
    rs = similarity_runs([0.99, 0.98], [0.95, 0.93])
    empty = tables.similarity_frame({"CAT": rs}, "epoch")
    fig = figures.similarity_panels(empty, tables.similarity_baseline_frame(rs, "epoch"), "one epoch apart", "none")
    assert [t.get_text() for ax in fig.axes for t in ax.texts] == ["none", "none"]
    figs.append(fig)
    gains = tables.gain_rank_frame(rs)
    fig = figures.gain_rank_panels(gains)
    assert fig.axes[0].texts[0].get_text() == "no sample drawn twice with a gain on both draws"
    figs.append(fig)
    fig, ax = plt.subplots()
    g = figures.points(ax, {0.5: runs["PGD-AT"]}, "robust_acc", "after warm-up")
    assert g.loc[0.5, "mean"] == 40.5 and ax.get_legend_handles_labels()[1] == ["after warm-up"]
    for r in runs["DS"]:
        r["config"]["adaptive_accuracy"] = "train"
        for e in r["epochs"]:
            e["train_acc"] = 0.7
    figures.driving_accuracy(ax, {"DS eq. (9), train accuracy on the scored 2b'": runs["DS"]})
    assert "train_acc (train accuracy on the scored 2b')" in ax.get_legend_handles_labels()[1]
    for f in [*figs, fig]:
        plt.close(f)
