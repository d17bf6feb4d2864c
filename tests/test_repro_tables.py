"""advsel.repro tables, figures' data and pages on hand-made results: the tables print the verdicts' numbers."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from advsel.repro import claims, figures, pages, stats, tables


def fake(seed: int, times: list[float], robust: list[float], clean: list[float] | None = None) -> dict:
    clean = clean or robust
    evals = [{"step": 10 * (i + 1), "epoch": i // 4 + 1, "train_time_s": t, "forward_passes": 100 * (i + 1),
              "backward_passes": 100 * (i + 1), "clean_acc": c, "robust_acc": r}
             for i, (t, r, c) in enumerate(zip(times, robust, clean, strict=True))]
    return {"config": {"seed": seed}, "evals": evals,
            "epochs": [{"epoch": 1, "clean_acc": clean[-1], "robust_acc": robust[-1]}]}


def test_budget_table_and_verdict_share_their_numbers() -> None:
    runs = {"a": [fake(0, [1, 2], [0.1, 0.2]), fake(1, [1, 4], [0.1, 0.4])], "b": [fake(0, [1, 5], [0.5, 0.5])]}
    budget = stats.common_budget(runs)
    table = tables.budget_table(runs, [budget])
    assert list(table.index.get_level_values("method")) == ["a", "b"]
    assert table.loc[(3.0, "a"), "seeds"] == 2
    assert table.loc[(3.0, "a"), "robust_acc mean"] == 15.0 and table.loc[(3.0, "b"), "robust_acc mean"] == 50.0
    sentence = claims.budget_verdict(runs, budget, "a")
    assert sentence == ("Within 3.0 s of training, robust accuracy ranks b 50.0% > a 15.0%; a is 35.0 points lower "
                        "than b (a single run each, no error estimate).")
    assert claims.budget_verdict(runs, 0.5, "a") == "a has no evaluation within this budget (a, b: no evaluation yet " \
        "within this budget)."
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
    levels, rows = stats.speedups(at, cat, "robust_acc")
    full = tables.cat_table(at, cat, "mnist").loc[("robust", "relative")]
    assert list(full.index) == [round(100 * lv, 1) for lv in levels]
    assert list(full["speed-up AT/CAT"]) == [round(r.ratio, 2) for r in rows]


def test_time_to_level_table_matches_the_verdicts_time() -> None:
    fast = [fake(s, [1.0, 2.0, 3.0], [0.2, 0.6, 0.6]) for s in (0, 1)]
    slow = [fake(0, [1.0, 2.0, 3.0], [0.2, 0.4, 0.6]), fake(1, [1.0, 2.0, 4.0], [0.2, 0.4, 0.5])]
    t = tables.time_to_level_table({25: fast, 50: slow}, 0.6)
    assert list(t["time (s)"]) == [stats.time_to_level(fast, 0.6), 3.0]
    assert list(t["reached"]) == ["2/2", "1/2"] and stats.time_to_level(slow, 0.6) is None
    assert t.loc[25, "passes (F + 2B)"] == 600  # 200 forward + 2 x 200 backward at the second evaluation


def test_final_and_cost_tables_use_the_verdicts_means() -> None:
    rs = [fake(s, [1.0], [r]) for s, r in enumerate((0.4, 0.5, 0.6))]
    t = tables.final_table({"DS": rs})
    mean, sd = stats.mean_sd(stats.final(rs, "robust_acc"))
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


def test_ledger_links_escape_and_counts() -> None:
    claim = SimpleNamespace(paper="DS", item="Fig. 3", text="a < b", page="ds_fig3_p_up")
    verdict = SimpleNamespace(verdict="partly", summary="x & y")
    df = tables.ledger_table([(claim, verdict)], title=lambda p: "T")
    assert df.loc[0, "our figure"] == '<a href="ds_fig3_p_up.html">T</a>'
    assert df.loc[0, "claim"] == "a &lt; b" and df.loc[0, "numbers"] == "x &amp; y"
    assert tables.ledger_table([(claim, verdict)]).loc[0, "our figure"].endswith(">ds_fig3_p_up</a>")
    counts = tables.verdict_counts([(claim, verdict)], ("reproduced", "partly"))
    assert counts.loc["partly", "DS"] == 1 and counts.loc["reproduced", "total"] == 0
    assert counts.loc["all claims", "total"] == 1


def test_page_titles_come_from_the_folder_given(tmp_path: Path) -> None:
    (tmp_path / "p.py").write_text("# %% [markdown]\n# # The title: here\n#\n# text\n")
    assert pages.page_title("p", tmp_path) == "The title: here"
    assert pages.titles(tmp_path)("missing") == "missing"
    assert pages.page_link("p") == "p.html"
    cmds = pages.rerun_commands("p", None)
    assert "jupytext --to ipynb notebooks/p.py -o p.ipynb" in cmds and "-p dataset" not in cmds
    assert "-p profile paper -p dataset cifar10 -p device cuda" in pages.rerun_commands("p")


def test_provenance_line() -> None:
    r = {"config": {"seed": 1, "profile": "cpu", "dataset": "mnist", "model": "small-cnn"}, "data_source": "files",
         "train_size": 10, "test_size": 5, "device": "cpu", "hardware": {"processor": "x86", "cpu_threads": 2,
                                                                          "torch": "2"},
         "advsel_version": "0.1", "git_commit": "0123456789abcdef"}
    line = pages.numbers_from([r, {**r, "config": {**r["config"], "seed": 0}}], "Table 1")
    assert line == ("Numbers from (Table 1): profile `cpu`, dataset `mnist` (files), model `small-cnn`, 10 training / "
                    "5 test samples, seeds [0, 1]; ran on cpu (x86, 2 threads, torch 2), advsel 0.1 at commit "
                    "`0123456789`")
