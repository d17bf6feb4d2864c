"""The book's results and a user's runs apart: the book reads the repository's results/runs explicitly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from advsel import experiments
from advsel.config import config_from_dict
from advsel.repro import scope as scope_module
from advsel.repro.scope import REPOSITORY_RUNS, Family, Scope, book_runs
from advsel.runs import default_cache_dir, result_path


def test_the_book_reads_the_repositorys_results_whatever_the_working_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ADVSEL_RUNS")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert REPOSITORY_RUNS == repo / "results" / "runs"
    assert book_runs() == REPOSITORY_RUNS, "the book: results/runs of the repository"
    assert default_cache_dir() == tmp_path / "xdg" / "advsel" / "runs", "ad-hoc runs: the user's cache"
    monkeypatch.setenv("ADVSEL_RUNS", str(tmp_path / "mine"))  # the tests' and the smoke build's override
    assert book_runs() == tmp_path / "mine"


def test_the_pages_load_their_runs_from_the_book_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[Any] = []
    monkeypatch.setattr(experiments, "run", lambda config, cache_dir=None, **kw: asked.append(cache_dir) or {})
    monkeypatch.delenv("ADVSEL_RUNS")
    Scope("smoke", seeds=(0,)).results(Family.method("robust"))
    assert asked == [REPOSITORY_RUNS]


def test_a_committed_result_is_read_from_results_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One of the book's committed runs, found from another working folder with ADVSEL_CACHED_ONLY=1 (nothing
    trained)."""
    committed = sorted(REPOSITORY_RUNS.glob("mnist-robust-*.json"))
    if not committed:
        pytest.skip("no committed results")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ADVSEL_RUNS")
    monkeypatch.setenv("ADVSEL_CACHED_ONLY", "1")
    stored = json.loads(committed[0].read_text())
    config = config_from_dict(stored["config"])
    assert result_path(config, REPOSITORY_RUNS) == committed[0], "one-process names are unchanged"
    assert scope_module.load(config)["epochs"] == stored["epochs"]


def test_a_scope_shows_its_runs_progress_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[bool] = []
    monkeypatch.setattr(experiments, "run", lambda config, cache_dir, progress, final: shown.append(progress))
    scope = Scope("smoke", "mnist", seeds=(0,))
    scope.results(Family.method("robust"))
    scope.replace(progress=True).results(Family.method("robust"))
    assert shown == [False, True]
