"""advsel.repro tables, figures' data and pages on hand-made results: the tables print the verdicts' numbers."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from advsel.repro import equal_cost, figures, inference, pages, speedup, stats, tables, verdicts


def fake(seed: int, times: list[float], robust: list[float], clean: list[float] | None = None) -> dict:
    clean = clean or robust
    evals = [{"step": 10 * (i + 1), "epoch": i // 4 + 1, "train_time_s": t, "forward_passes": 100 * (i + 1),
              "backward_passes": 100 * (i + 1), "clean_acc": c, "robust_acc": r}
             for i, (t, r, c) in enumerate(zip(times, robust, clean, strict=True))]
    return {"config": {"seed": seed}, "evals": evals,
            "epochs": [{"epoch": 1, "clean_acc": clean[-1], "robust_acc": robust[-1]}]}


def test_budget_table_and_verdict_share_their_numbers() -> None:
    runs = {"a": [fake(0, [1, 2], [0.1, 0.2]), fake(1, [1, 4], [0.1, 0.4])], "b": [fake(0, [1, 5], [0.5, 0.5])]}
    budget = equal_cost.common_budget(runs)
    table = tables.budget_table(runs, [budget])
    assert list(table.index.get_level_values("method")) == ["a", "b"]
    assert table.loc[(3.0, "a"), "seeds"] == 2
    assert table.loc[(3.0, "a"), "robust_acc mean"] == 15.0 and table.loc[(3.0, "b"), "robust_acc mean"] == 50.0
    sentence = equal_cost.budget_verdict(runs, budget, "a")
    assert sentence == ("Within 3.0 s of training, robust accuracy ranks b 50.0% > a 15.0%; a is 35.0 points lower "
                        "than b (a single run on a side, no interval).")
    runs2 = {"a": [fake(0, [1, 2], [0.1, 0.6]), fake(1, [1, 2], [0.1, 0.62])],
             "b": [fake(0, [1, 2], [0.5, 0.5]), fake(1, [1, 2], [0.5, 0.51])]}
    assert "(95% interval [" in equal_cost.budget_verdict(runs2, 2.0, "a") and "excludes zero" in \
        equal_cost.budget_verdict(runs2, 2.0, "a")
    assert equal_cost.budget_verdict(runs, 0.5, "a") == "a has no evaluation within this budget (a, b: no " \
        "evaluation yet within this budget)."
    with pytest.raises(ValueError, match="x="):
        tables.budget_table(runs, [1.0], x="minutes")


def test_time_grid_only_inside_each_runs_span() -> None:
    g = figures.time_grid([fake(0, [0.0, 2.0], [0.0, 0.2]), fake(1, [0.0, 1.0], [0.0, 0.4])], "robust_acc", points=3)
    assert list(g["n"]) == [2, 2, 1]
    assert g["mean"].iloc[1] == pytest.approx((10 + 40) / 2)  # percent, each run interpolated at t = 1


def test_speedup_table_prints_the_verdicts_ratio() -> None:
    at = [fake(s, [1.0, 2.0, 3.0], [0.2, 0.4, 0.6]) for s in (0, 1)]
    cat = [fake(s, [1.0, 2.0, 3.0], [0.4, 0.6, 0.6]) for s in (0, 1)]
    t = tables.speedup_table(at, cat, [0.4, 0.6, 0.9], "robust_acc", {0.6: (3.0, 1.0)}, "h")
    assert t.loc[40.0, "speed-up AT/CAT"] == 2.0
    assert t.loc[60.0, "paper speed-up"] == 3.0
    assert t.loc[90.0, "AT reached"] == "0/2" and math.isnan(t.loc[90.0, "speed-up AT/CAT"])
    levels, rows = speedup.speedups(at, cat, "robust_acc")
    full = tables.cat_table(at, cat, "mnist").loc[("robust", "relative")]
    assert list(full.index) == [round(100 * lv, 1) for lv in levels]
    assert list(full["speed-up AT/CAT"]) == [round(r.ratio, 2) for r in rows]


def test_time_to_level_table_matches_the_verdicts_time() -> None:
    fast = [fake(s, [1.0, 2.0, 3.0], [0.2, 0.6, 0.6]) for s in (0, 1)]
    slow = [fake(0, [1.0, 2.0, 3.0], [0.2, 0.4, 0.6]), fake(1, [1.0, 2.0, 4.0], [0.2, 0.4, 0.5])]
    t = tables.time_to_level_table({25: fast, 50: slow}, 0.6)
    assert list(t["time (s)"]) == [speedup.time_to_level(fast, 0.6), 3.0]
    assert list(t["reached"]) == ["2/2", "1/2"] and speedup.time_to_level(slow, 0.6) is None
    assert t.loc[25, "passes (F + 2B)"] == 600  # 200 forward + 2 x 200 backward at the second evaluation


def test_final_and_cost_tables_use_the_verdicts_means() -> None:
    rs = [fake(s, [1.0], [r]) for s, r in enumerate((0.4, 0.5, 0.6))]
    for r in rs:
        r["config"] |= {"eps": 0.3, "eval_alpha": 0.075, "eval_steps": 10, "eval_restarts": 1, "test_size": 500}
    t = tables.final_table({"DS": rs})
    assert t.loc["DS", ("evaluation", "")] == "last epoch, PGD-10, n = 500" and t.loc["DS", ("collapsed", "")] == 0
    fe = {"n": 1000, "attack": {"name": "pgd", "eps": 0.3, "alpha": 0.01, "steps": 20, "restarts": 10},
          "clean_acc": 0.9, "robust_acc": 0.7, "autoattack": {"n": 1000, "version": "standard", "robust_acc": 0.6}}
    with_fe = tables.final_table({"DS": [{**r, "final_eval": fe} for r in rs]})
    assert with_fe.loc["DS", ("robust_acc", "mean")] == 70.0 and with_fe.loc["DS", ("autoattack_acc", "mean")] == 60.0
    assert with_fe.loc["DS", ("evaluation", "")] == ("final evaluation, PGD-20 x10 restarts, n = 1,000; "
                                                     "final evaluation, AutoAttack, n = 1,000")
    mean, sd = inference.mean_sd(stats.final(rs, "robust_acc"))
    assert t.loc["DS", ("robust_acc", "mean")] == round(100 * mean, 2) == 50.0
    assert t.loc["DS", ("robust_acc", "std")] == round(100 * sd, 2) and t.loc["DS", ("robust_acc", "count")] == 3
    assert math.isnan(tables.final_table({"one": rs[:1]}).loc["one", ("clean_acc", "std")])  # no sd with one seed
    ep = {"forward_passes": 10, "backward_passes": 5, "train_backward": 3, "attack_forward": 6, "attack_backward": 2,
          "train_forward": 4, "time_attack_s": 1.5, "time_train_s": 0.5}
    runs = {"ref": [{"train_time_s": t, "epochs": [ep]} for t in (2.0, 4.0)], "half": [{"train_time_s": 1.5,
                                                                                        "epochs": [ep]}]}
    c = tables.cost_table(runs, "ref", {"ref": 10.0, "half": 4.0})
    assert c.loc["ref", "time (s)"] == 3.0 and c.loc["half", "time ratio"] == 0.5
    assert c.loc["half", "paper ratio"] == 0.4 and c.loc["ref", "F + 2B"] == 20


def test_epoch_and_end_tables() -> None:
    rs = [{"config": {"seed": s}, "epochs": [{"epoch": 1, "clean_acc": a, "p_up": 1.0}, {"epoch": 2, "clean_acc": a,
                                                                                          "p_up": 0.5}]}
          for s, a in enumerate((0.5, 0.6))]
    t = tables.epoch_table(rs, ["p_up", "clean_acc"])
    assert list(t.columns) == ["p_up", "clean_acc"] and t.loc[2, "clean_acc"] == 55.0 and t.loc[2, "p_up"] == 0.5
    e = tables.end_table({"AT": [fake(0, [2.0], [0.5])], "CAT": [fake(0, [1.0], [0.4])]})
    assert e.loc["CAT", "time ratio"] == 0.5 and e.loc["AT", "passes (F + 2B)"] == 300


def test_ledger_links_badges_escape_and_counts() -> None:
    claim = SimpleNamespace(paper="DS", item="Fig. 3", text="a < b", page="ds_fig3_p_up")
    verdict = verdicts.Verdict("inconclusive", "x & y", headline="+1 [-1, 3]")
    df = tables.ledger_table([(claim, verdict)], title=lambda p: "T")
    assert df.loc[0, "page"] == '<a href="ds_fig3_p_up.html">T</a>'
    assert df.loc[0, "claim"] == "a &lt; b"
    assert df.loc[0, "numbers"] == "+1 [-1, 3]<details><summary>details</summary>x &amp; y</details>"
    assert df.loc[0, "verdict"].startswith('<span style="background:#9a6700') and ">inconclusive</span>" in \
        df.loc[0, "verdict"]
    assert tables.ledger_table([(claim, verdict)]).loc[0, "page"].endswith(">ds_fig3_p_up</a>")
    counts = tables.verdict_counts([(claim, verdict)], verdicts.VERDICTS)
    assert counts.loc["inconclusive", "DS"] == 1 and counts.loc["reproduced", "total"] == 0
    assert counts.loc["all claims", "total"] == 1
    smoke = verdicts.Verdict("reproduced", "s", smoke=True)
    assert "smoke run, not a finding: reproduced" in pages.badge(smoke) and "dashed" in pages.badge(smoke)
    failing = verdicts.Verdict("implementation check", "s", passed=False)
    assert "#cf222e" in pages.badge(failing) and "FAILS" in pages.badge(failing)


def test_page_titles_come_from_the_folder_given(tmp_path: Path) -> None:
    (tmp_path / "p.py").write_text("# %% [markdown]\n# # The title: here\n#\n# text\n")
    assert pages.page_title("p", tmp_path) == "The title: here"
    assert pages.titles(tmp_path)("missing") == "missing"
    assert pages.page_link("p") == "p.html"


def test_rerun_box_lists_every_parameter_and_papermill_commands() -> None:
    params = pages.check_parameters("ds_fig3_p_up", profile="cpu", dataset="mnist", device="auto", seeds=[0, 1])
    box = pages.rerun_commands("ds_fig3_p_up", params)
    for name in ("profile", "dataset", "device", "seeds"):
        assert f"| `{name}` |" in box
    assert "| `seeds` | list of int | distinct non-negative ints, at least one | `[0, 1]` |" in box
    assert "jupytext --to ipynb notebooks/ds_fig3_p_up.py -o ds_fig3_p_up.ipynb" in box
    assert ('papermill -k python3 ds_fig3_p_up.ipynb ds_fig3_p_up-cpu.ipynb -p profile cpu -p dataset mnist '
            '-p device auto -y "seeds: [0, 1]"') in box
    # the paper-profile command stays on the page's dataset (an MNIST page at the paper's scale)
    assert '-p profile paper -p dataset mnist -p device cuda -y "seeds: [0, 1]"' in box
    cifar = pages.rerun_commands("ds_fig3_p_up", {**params, "dataset": "cifar10"})
    assert '-p profile paper -p dataset cifar10 -p device cuda' in cifar and "-p dataset mnist" not in cifar
    cat = pages.rerun_commands("cat_tables_time_to_accuracy", {"seeds": [0], "cifar_seeds": [0, 1]})
    assert "-p dataset" not in cat and '-y "cifar_seeds: [0, 1]"' in cat


@pytest.mark.parametrize(("values", "message"), [
    ({"seeds": "[0]"}, r"parameter `seeds` of page 'ds_fig3_p_up' must be a list of int .*got the str '\[0\]': "
                       r"papermill's -p passes text; pass a list with -y"),
    ({"seeds": [0, 1.5]}, r"`seeds` .* whose 1.5 is a float"),
    ({"seeds": [True]}, r"`seeds` .* whose True is a bool"),
    ({"seeds": []}, r"`seeds` .* empty list"),
    ({"seeds": [0, 0]}, r"`seeds` .* a seed appears twice"),
    ({"seeds": [-1]}, r"`seeds` .* non-negative"),
    ({"profile": "fast"}, r"`profile` .* must be a str \(smoke, cpu, paper, gpu .*got 'fast'"),
    ({"dataset": "svhn"}, r"`dataset` .* \(mnist, cifar10\); got 'svhn'"),
    ({"device": "gpu"}, r"`device` .* \(auto, cpu, cuda .*got 'gpu'"),
    ({"device": 0}, r"`device` .* got int 0"),
])
def test_parameter_errors_name_the_parameter(values: dict, message: str) -> None:
    ok = {"profile": "cpu", "dataset": "mnist", "device": "auto", "seeds": [0, 1, 2]}
    with pytest.raises(pages.ParameterError, match=message):
        pages.check_parameters("ds_fig3_p_up", **{**ok, **values})


def test_parameter_names_are_checked_too() -> None:
    with pytest.raises(pages.ParameterError, match="takes the parameters profile, dataset, device, seeds; unknown: "
                                                    "seed; missing: seeds"):
        pages.check_parameters("ds_fig3_p_up", profile="cpu", dataset="mnist", device="auto", seed=[0])
    with pytest.raises(pages.ParameterError, match="page 'nope' is unknown"):
        pages.check_parameters("nope")
    assert pages.check_parameters("usage", profile="smoke", device="cpu") == {"profile": "smoke", "device": "cpu"}
    assert pages.check_parameters("ds_fig7_selected_counts", profile="cpu", dataset="mnist", device="auto",
                                  seeds=(2, 0))["seeds"] == [2, 0]


def test_intro_states_the_tests_constants() -> None:
    intro = (Path(__file__).resolve().parents[1] / "book" / "intro.md").read_text()
    s, i = stats, inference
    for fact in (f"within {100 * i.CLOSE_BAND:.0f} accuracy points", f"CLOSE_BAND = {i.CLOSE_BAND}",
                 f"within {100 * i.COST_BAND:.0f} % of the claimed ratio", f"COST_BAND = {i.COST_BAND}",
                 f"at or above {i.SIMILAR_COSINE}", f"last {s.COLLAPSE_LAST} epochs",
                 f"1/C plus the larger of {s.COLLAPSE_MARGIN}",
                 f"within {s.COLLAPSE_LOSS_TOL} of ln C", f"at least {s.PLATEAU_EPOCHS} epochs",
                 f"{100 * i.LEVEL:.0f} %", "Welch", *verdicts.VERDICTS, "smoke run, not a finding"):
        assert fact in intro, fact
    assert f"within {100 * i.CLOSE_BAND:.0f} accuracy points" in pages.test_description()


def test_summary_box_names_verdicts_setting_collapse_and_smoke() -> None:
    base = {"model": "small-cnn", "epochs": 3, "batch_size": 100, "steps": 7, "eps": 0.3, "alpha": 0.1,
            "eval_steps": 10, "eval_alpha": 0.075, "eval_restarts": 1, "profile": "cpu", "dataset": "mnist",
            "train_size": 4000, "test_size": 500}
    dead = {"config": {**base, "seed": 1}, "epochs": [{"epoch": e, "clean_acc": 0.1, "train_loss": 2.3}
                                                     for e in (1, 2, 3)]}
    ok = {"config": {**base, "seed": 0}, "epochs": [{"epoch": e, "clean_acc": 0.9, "train_loss": 0.5}
                                                   for e in (1, 2, 3)]}
    claim = SimpleNamespace(item="Fig. 3", text="x beats y.")
    box = pages.summary_box([(claim, verdicts.Verdict("reproduced", "s", headline="+3 [1, 5]"))],
                            {"P_up = 0.1": [ok, dead]}, "DS", ["a note"])
    assert box.startswith("```{admonition} At a glance\n:class: note\n")
    assert "- Fig. 3: x beats y. <span" in box and "+3 [1, 5]" in box
    assert "mnist (4,000 training samples), model `small-cnn`, 3 epochs, b' = 100, training PGD-7" in box
    assert "seeds [0, 1]; accuracies: last epoch's evaluation, PGD-10 (eps 0.3, alpha 0.075, 1 restart), n = 500" in box
    assert "**Collapsed runs.** collapsed" in box and "P_up = 0.1 seed 1" in box
    assert "epochs 3 (paper: 200)" in box and "model small-cnn (paper: resnet18)" in box and "a note." in box
    smoke = pages.summary_box([(claim, verdicts.Verdict("reproduced", "s", smoke=True))], {"a": [ok]}, None)
    assert ":class: warning" in smoke and "**Smoke run.**" in smoke and "Deviations" not in smoke


def test_provenance_line() -> None:
    r = {"config": {"seed": 1, "profile": "cpu", "dataset": "mnist", "model": "small-cnn"}, "data_source": "files",
         "train_size": 10, "test_size": 5, "device": "cpu", "hardware": {"processor": "x86", "cpu_threads": 2,
                                                                          "torch": "2"},
         "advsel_version": "0.1", "git_commit": "0123456789abcdef"}
    line = pages.numbers_from([r, {**r, "config": {**r["config"], "seed": 0}}], "Table 1")
    assert line == ("Numbers from (Table 1): profile `cpu`, dataset `mnist` (files), model `small-cnn`, 10 training / "
                    "5 test samples, seeds [0, 1]; ran on cpu (x86, 2 threads, torch 2), advsel 0.1 at commit "
                    "`0123456789`")
    later = {**r, "config": {**r["config"], "seed": 3}, "git_commit": "fedcba9876543210-dirty"}
    assert pages.provenance([r, later, {**r, "config": {**r["config"], "seed": 0}}, later]).endswith(
        "advsel 0.1 at commits `0123456789` (seeds 0, 1), `fedcba9876-dirty` (seed 3)")


def test_autoattack_note_checks_autoattack_at_most_pgd() -> None:
    from advsel.repro import pages as pg

    def run(seed: int, pgd: float, aa: float | None) -> dict:
        fe = {"n": 2000, "n_asked": 2000, "clean_acc": 0.4, "robust_acc": pgd,
              "attack": {"name": "pgd", "eps": 8 / 255, "alpha": 2 / 255, "steps": 20, "restarts": 2}}
        if aa is not None:
            fe["autoattack"] = {"n": 500, "n_asked": 500, "version": "standard", "eps": 8 / 255, "robust_acc": aa}
        return {"config": {"seed": seed, "test_size": 500}, "epochs": [], "final_eval": fe}

    runs = {"PGD-AT": [run(0, 0.20, 0.15), run(1, 0.21, None)], "DS": [run(0, 0.10, 0.12)], "none": [run(0, .2, None)]}
    assert {k: [r["config"]["seed"] for r in rs] for k, rs in pg.autoattack_runs(runs).items()} == \
        {"PGD-AT": [0], "DS": [0]}
    note = pg.autoattack_note(runs)
    assert "it is in 1 of 2 runs" in note and "Higher: DS seed 0 (2.0 points" in note
    assert pg.autoattack_note({"none": [run(0, 0.2, None)]}).startswith("*No run on this page")
