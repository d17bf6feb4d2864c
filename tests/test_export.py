"""The ledger and the final numbers as CSV files: built from the verdicts and the runs, and the committed
files are what the committed runs give (so they cannot drift from the book)."""

from __future__ import annotations

import csv
import importlib.util
import io
import math
import subprocess
import sys
from pathlib import Path

import pytest

from advsel.repro import export
from advsel.repro.inference import Interval
from advsel.repro.scope import Family, Scope
from advsel.repro.verdicts import POINTS, RATIO_S, Claim, Verdict, compare, holm_over_figures, per_run, verdict_of

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"


def _script():
    spec = importlib.util.spec_from_file_location("export_results", REPO / "scripts" / "export_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _claim(**kw) -> Claim:
    return Claim(kw.pop("id", "c"), "DS", "Fig. 3", "A beats B.", "ds_fig3_p_up", lambda s: None, **kw)


def _run(seed: int, value: float) -> dict:
    return {"config": {"seed": seed, "method": "robust"}, "epochs": [{"clean_acc": value, "train_loss": 1.0}]}


def test_ledger_row_reads_the_interval_as_the_headline_does() -> None:
    c = compare(("A", [_run(0, 0.50), _run(1, 0.52), _run(2, 0.55)]),
                ("B", [_run(0, 0.40), _run(1, 0.41), _run(2, 0.45)]), per_run(lambda r: r["epochs"][-1]["clean_acc"]),
                "higher")
    v = verdict_of(c, "final clean accuracy")
    row = export.ledger_row(_claim(), v)
    iv = c.interval
    assert row["estimate"] == round(100 * iv.estimate, export.DIGITS)
    assert (row["interval_low"], row["interval_high"]) == (round(100 * iv.lo, 4), round(100 * iv.hi, 4))
    assert row["reads_as"] == "accuracy points" and row["interval"] == "paired 95%"
    assert (row["side_a"], row["n_a"], row["side_b"], row["n_b"]) == ("A", 3, "B", 3)
    assert f"difference {row['estimate']:+.1f} points" in row["headline"] and row["verdict"] == v.label


def test_ledger_row_of_a_ratio_and_of_a_verdict_without_interval() -> None:
    iv = Interval(math.log(2.0), math.log(1.5), math.log(2.5), 0.1, 3.2, (3, 3), "Welch", 0.95)
    v = Verdict("reproduced", "s", {"interval": iv, "scale": RATIO_S, "sides": ("X", "Y"), "outcome": "claimed"},
                headline="h")
    row = export.ledger_row(_claim(), v)
    assert (row["estimate"], row["interval_low"], row["interval_high"]) == (2.0, 1.5, 2.5)
    assert row["reads_as"] == "ratio" and row["df"] == 3.2
    bare = export.ledger_row(_claim(), Verdict("not testable at this scale", "why", headline="collapsed"))
    assert bare["headline"] == "collapsed" and "estimate" not in bare
    df = export.ledger_rows([(_claim(), v), (_claim(id="d"), Verdict("inconclusive", "s"))])
    assert list(df.columns) == list(export.LEDGER_COLUMNS) and POINTS.reads_as == "accuracy points"
    text = export.csv_text(df)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[1]["estimate"] == "" and rows[1]["n_a"] == "" and rows[0]["n_a"] == "3" and "\r" not in text


def test_final_row_means_sds_and_evaluation() -> None:
    def result(seed: int, clean: float, robust: float, aa: float | None) -> dict:
        fe = {"n": 2000, "clean_acc": clean, "robust_acc": robust,
              "attack": {"name": "pgd", "eps": 0.3, "alpha": 0.075, "steps": 20, "restarts": 2}}
        if aa is not None:
            fe["autoattack"] = {"n": 500, "robust_acc": aa, "version": "standard"}
        return {"config": {"seed": seed, "method": "robust"}, "final_eval": fe, "test_size": 500,
                "epochs": [{"clean_acc": clean, "train_loss": 1.0}]}

    runs = [result(0, 0.9, 0.7, 0.6), result(1, 0.8, 0.5, None)]
    scope = Scope("cpu", "mnist", seeds=(0, 1), loader=None)
    scope = scope.replace(loader=lambda config: runs[config.seed])
    row = export.final_row(scope, Family.method("robust"))
    assert row["seeds"] == "0 1" and row["collapsed_seeds"] == "" and row["n_test"] == 2000
    assert row["status"] == "trained"
    assert row["clean_acc_mean_pct"] == 85.0 and row["robust_acc_mean_pct"] == 60.0
    assert row["robust_acc_sd_pct"] == round(100 * math.sqrt(0.02), export.DIGITS)
    assert (row["autoattack_acc_mean_pct"], row["autoattack_acc_sd_pct"], row["autoattack_seeds"]) == (60.0, None, "0")
    assert row["attack"] == "PGD-20 (eps 0.3, alpha 0.075, 2 restarts)" and row["source"] == "final_eval"
    at_chance = [{"clean_acc": 0.1, "train_loss": 2.3026}] * 3  # ln 10: the run collapsed
    runs[1]["epochs"] = at_chance
    assert export.final_row(scope, Family.method("robust"))["status"] == "1 of 2 seeds collapsed (at chance)"
    runs[0]["epochs"] = at_chance
    assert export.final_row(scope, Family.method("robust"))["status"] == ("every seed collapsed (at chance): "
                                                                          "not a result")
    runs[1]["final_eval"]["n"] = 1000
    with pytest.raises(ValueError, match="differ in test samples"):
        export.final_row(scope, Family.method("robust"))


def test_committed_csv_files_are_what_the_committed_runs_give(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVSEL_RUNS", str(RESULTS / "runs"))
    monkeypatch.setenv("ADVSEL_CACHED_ONLY", "1")
    texts = _script().tables()
    for name, text in texts.items():
        assert (RESULTS / name).read_bytes() == text.encode("utf-8"), (
            f"results/{name} is stale: run python scripts/export_results.py")


@pytest.mark.slow
def test_script_writes_and_checks(tmp_path: Path) -> None:
    run = [sys.executable, str(REPO / "scripts" / "export_results.py")]
    ok = subprocess.run([*run, "--check"], capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (tmp_path / "ledger.csv").write_text("stale\n")
    bad = subprocess.run([*run, "--check", "--out", str(tmp_path)], capture_output=True, text=True)
    assert bad.returncode == 1 and "ledger.csv differs" in bad.stdout
    wrote = subprocess.run([*run, "--out", str(tmp_path)], capture_output=True, text=True)
    assert wrote.returncode == 0 and "wrote" in wrote.stdout
    assert (tmp_path / "ledger.csv").read_bytes() == (RESULTS / "ledger.csv").read_bytes()
    missing = subprocess.run([*run, "--runs", str(tmp_path / "none")], capture_output=True, text=True)
    assert missing.returncode == 2 and "--runs" in missing.stderr and "Traceback" not in missing.stderr


def test_ledger_row_carries_the_holm_p_values_of_its_figure() -> None:
    c = compare(("A", [_run(0, 0.50), _run(1, 0.52), _run(2, 0.55)]),
                ("B", [_run(0, 0.40), _run(1, 0.41), _run(2, 0.45)]), per_run(lambda r: r["epochs"][-1]["clean_acc"]),
                "higher")
    v = verdict_of(c, "final clean accuracy")
    holm_over_figures([(_claim(), v)])
    row = export.ledger_row(_claim(), v)
    assert row["holm_rows"] == 1 and 0 < row["p_claimed"] < 0.025 and row["p_opposite"] > 0.9
    assert "holm_rows" in export.LEDGER_COLUMNS
