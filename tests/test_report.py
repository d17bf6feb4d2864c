"""advsel.report on hand-made result dictionaries (no training)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from advsel import report


def fake(seed: int, times: list[float], robust: list[float], clean: list[float] | None = None) -> dict:
    clean = clean or robust
    evals = [{"step": 10 * (i + 1), "epoch": i // 4 + 1, "train_time_s": t, "forward_passes": 100 * (i + 1),
              "backward_passes": 100 * (i + 1), "clean_acc": c, "robust_acc": r}
             for i, (t, r, c) in enumerate(zip(times, robust, clean, strict=True))]
    return {"config": {"seed": seed}, "evals": evals, "epochs": []}


def test_accuracy_at_time_last_and_interpolated() -> None:
    r = fake(0, [1.0, 2.0, 4.0], [0.1, 0.3, 0.5])
    assert math.isnan(report.accuracy_at_time(r, 0.5))
    assert report.accuracy_at_time(r, 1.0) == 0.1
    assert report.accuracy_at_time(r, 3.0) == 0.3  # last evaluation at or before the budget
    assert report.accuracy_at_time(r, 3.0, interpolate=True) == pytest.approx(0.4)
    assert report.accuracy_at_time(r, 99.0, interpolate=True) == 0.5  # after the end: the final value
    assert report.accuracy_at_time(r, 450, x="f2b") == 0.1  # 300, then 600 passes (F + 2B)
    with pytest.raises(ValueError, match="metric"):
        report.accuracy_at_time(r, 1.0, "loss")
    with pytest.raises(ValueError, match="x="):
        report.accuracy_at_time(r, 1.0, x="minutes")


def test_common_budget_is_the_fastest_methods_mean_end() -> None:
    runs = {"a": [fake(0, [1, 2], [0, 0]), fake(1, [1, 4], [0, 0])], "b": [fake(0, [1, 5], [0, 0])]}
    assert report.common_budget(runs) == 3.0
    table = report.budget_table(runs, [3.0])
    assert list(table.index.get_level_values("method")) == ["a", "b"]
    assert table.loc[(3.0, "a"), "seeds"] == 2


def test_time_grid_only_inside_each_runs_span() -> None:
    g = report.time_grid([fake(0, [0.0, 2.0], [0.0, 0.2]), fake(1, [0.0, 1.0], [0.0, 0.4])], "robust_acc", points=3)
    assert list(g["n"]) == [2, 2, 1]
    assert g["mean"].iloc[1] == pytest.approx((10 + 40) / 2)  # percent, each run interpolated at t = 1


def test_level_and_speedup_tables() -> None:
    at = [fake(s, [1.0, 2.0, 3.0], [0.2, 0.4, 0.6]) for s in (0, 1)]
    cat = [fake(s, [1.0, 2.0, 3.0], [0.4, 0.6, 0.6]) for s in (0, 1)]
    t = report.speedup_table(at, cat, [0.4, 0.6, 0.9], "robust_acc", {0.6: (3.0, 1.0)}, "h")
    assert t.loc[40.0, "speed-up AT/CAT"] == 2.0
    assert t.loc[60.0, "paper speed-up"] == 3.0
    assert t.loc[90.0, "AT reached"] == "0/2" and math.isnan(t.loc[90.0, "speed-up AT/CAT"])
    tt = report.time_to_level_table({25: at, 50: cat}, 0.6)
    assert list(tt["time (s)"]) == [3.0, 2.0]


def test_ledger_links_escape_and_counts() -> None:
    claim = SimpleNamespace(paper="DS", item="Fig. 3", text="a < b", page="ds_fig3_p_up")
    verdict = SimpleNamespace(verdict="partly", summary="x & y")
    df = report.ledger_table([(claim, verdict)], title=lambda p: "T")
    assert df.loc[0, "our figure"] == '<a href="ds_fig3_p_up.html">T</a>'
    assert df.loc[0, "claim"] == "a &lt; b" and df.loc[0, "numbers"] == "x &amp; y"
    counts = report.verdict_counts([(claim, verdict)], ("reproduced", "partly"))
    assert counts.loc["partly", "DS"] == 1 and counts.loc["reproduced", "total"] == 0
    assert counts.loc["all claims", "total"] == 1
