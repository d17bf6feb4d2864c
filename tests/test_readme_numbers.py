"""The README's findings are the committed results': every number it quotes from the ledger or the final
accuracies equals the row of results/ledger.csv or results/final_numbers.csv (itself checked against the
runs by test_export), to the digits the README prints."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NUMBER = r"([+-]?\d+(?:\.\d+)?)"


def _rows(name: str) -> list[dict[str, str]]:
    with open(REPO / "results" / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


LEDGER = {r["claim_id"]: r for r in _rows("ledger.csv")}
FINAL = {f"{r['dataset']} {r['family']}": r for r in _rows("final_numbers.csv")}
README = re.sub(r"\s+", " ", (REPO / "README.md").read_text())


def interval(claim: str) -> list[float]:
    r = LEDGER[claim]
    return [float(r["estimate"]), float(r["interval_low"]), float(r["interval_high"])]


def accuracies(family: str, *columns: str) -> list[float]:
    return [float(FINAL[family][f"{c}_mean_pct"]) for c in columns]


def final_eval(dataset: str, method: str, seed: int, *keys: str) -> list[float]:
    """In %, the final evaluation of the committed run of ``method`` on ``dataset`` with ``seed``."""
    runs = [json.loads(p.read_text()) for p in (REPO / "results" / "runs").glob(f"{dataset}-{method}-*.json")]
    (run,) = [r for r in runs if r["config"]["method"] == method and r["config"]["seed"] == seed]
    return [100 * run["final_eval"][k] for k in keys]


# (README text with {} for each number, the values it must show)
QUOTES = [
    ("against PGD-AT (-13.7 points [-15.6, -11.8])".replace("-13.7 points [-15.6, -11.8]", "{} points [{}, {}]"),
     interval("ds-fig4-eq9")),
    ("reaches {} % clean / {} % PGD-20 x 2 against PGD-AT's {} % / {} %",
     accuracies("cifar10 warmup:0.5", "clean_acc", "robust_acc") + accuracies("cifar10 robust", "clean_acc",
                                                                                "robust_acc")),
    ("its clean gain is {} points [{}, {}]", interval("new-ds-warmup-clean")),
    ("and its robust loss {} points [{}, {}]", interval("new-ds-warmup-robust")),
    ("DS with eq. (9) costs {}x [{}, {}] of P_up = 1's sample passes", interval("ds-table1-adaptive-p1")),
    ("\"CAT does not hurt robust accuracy\" is inconclusive ({} points [{}, {}];", interval("cat-competitive")),
    ("2.17x [0.71, 6.62] clean".replace("2.17x [0.71, 6.62]", "{}x [{}, {}]"), interval("cat-table1-clean")),
    ("consecutive iterations (cosine {} [{}, {}]", interval("cat-fig1-step")),
    ("one epoch apart ({} [{}, {}])", interval("cat-fig1-epoch")),
    ("(seed 3: {} % clean, {} % PGD-20 x 2", final_eval("mnist", "robust", 3, "clean_acc", "robust_acc")),
    ("(CAT over the control {}x [{}, {}] clean)", interval("cat-weights-clean")),
    ("Standard training reaches {} % clean", accuracies("cifar10 standard", "clean_acc")),
    ("PGD-AT's AutoAttack (APGD-CE + APGD-T) accuracy is {} %", accuracies("cifar10 robust", "autoattack_acc")),
    ("DS at P_up = 0.5 ({} points [{}, {}])", interval("ds-fig5-ds")),
    ("DS with eq. (9) ({} [{}, {}])", interval("ds-fig5-eq9")),
    ("and `prescreen` ({} [{}, {}];", interval("new-prescreen-final")),
    ("(ratio {}, interval [{}, {}]; about {} seeds per side would decide it)",
     [*interval("new-prescreen-sooner-100"), float(LEDGER["new-prescreen-sooner-100"]["seeds_needed"])]),
]


@pytest.mark.parametrize(("template", "values"), QUOTES, ids=[t for t, _ in QUOTES])
def test_readme_quotes_the_committed_numbers(template: str, values: list[float]) -> None:
    pattern = re.escape(template).replace(r"\{\}", NUMBER)
    m = re.search(pattern, README)
    assert m, f"README.md no longer says {template!r}"
    for shown, value in zip(m.groups(), values, strict=True):
        digits = len(shown.split(".")[1]) if "." in shown else 0
        assert abs(float(shown) - value) <= 0.5 * 10 ** -digits + 1e-9, (
            f"README.md: {m.group(0)!r} shows {shown}, the committed results give {value}")


def test_readme_verdict_counts_are_the_ledgers() -> None:
    counts = Counter(r["verdict"].split(":")[0] for r in LEDGER.values())
    papers = Counter("ours" if r["paper"] == "ours" else "papers" for r in LEDGER.values())
    m = re.search(rf"of {NUMBER} ledger rows \({NUMBER} on the papers' claims, {NUMBER} on ours\), "
                  rf"\*\*{NUMBER} reproduced\*\*", README)
    assert m and [int(g) for g in m.groups()] == [len(LEDGER), papers["papers"], papers["ours"],
                                                   counts["reproduced"]]
    for verdict in ("not reproduced", "inconclusive", "not testable at this scale", "not run"):
        assert f"**{counts[verdict]} {verdict}**" in README, verdict
    assert f"{counts['implementation check']} implementation checks" in README
    assert "is **inconclusive** (ratio" in README
    assert LEDGER["new-prescreen-sooner-100"]["verdict"] == "inconclusive"
    for claim in ("ds-fig4-eq9", "ds-fig5-ds", "ds-fig5-eq9", "new-prescreen-final"):  # the advice's decided rows
        assert LEDGER[claim]["verdict"] == "not reproduced", claim
