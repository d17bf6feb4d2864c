"""Provenance: a result records the commit of advsel's own checkout only, or $ADVSEL_GIT_COMMIT, or None."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from advsel.provenance import COMMIT_VARIABLE, PACKAGE, git_commit, own_checkout

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                          capture_output=True, text=True)
    return done.stdout.strip()


def package_in(folder: Path) -> Path:
    """A copy of a package folder (one module) at ``folder/advsel``."""
    pkg = folder / "advsel"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    return pkg


@pytest.fixture
def no_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(COMMIT_VARIABLE, raising=False)


def test_advsels_own_checkout_records_its_commit(tmp_path: Path, no_variable: None,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = package_in(tmp_path / "repo")
    git(tmp_path / "repo", "init", "-q")
    git(tmp_path / "repo", "add", ".")
    git(tmp_path / "repo", "commit", "-qm", "x")
    head = git(tmp_path / "repo", "rev-parse", "HEAD")
    assert own_checkout(pkg) and git_commit(pkg) == head
    (pkg / "__init__.py").write_text("x = 1\n")
    assert git_commit(pkg) == head + "-dirty"
    monkeypatch.setenv(COMMIT_VARIABLE, "f" * 40)
    assert git_commit(pkg) == head + "-dirty", "the checkout's own commit wins over the variable"


def test_a_copy_inside_another_repository_records_none_or_the_variable(tmp_path: Path, no_variable: None,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other"
    pkg = package_in(other / "vendor")
    git(other, "init", "-q")
    git(other, "add", ".")
    git(other, "commit", "-qm", "x")  # the copy is even tracked there: still not advsel's own checkout
    assert not own_checkout(pkg) and git_commit(pkg) is None
    monkeypatch.setenv(COMMIT_VARIABLE, "0123abc")
    assert git_commit(pkg) == "0123abc"


def test_an_untracked_package_at_a_repositorys_top_records_none(tmp_path: Path, no_variable: None) -> None:
    pkg = package_in(tmp_path / "repo")
    git(tmp_path / "repo", "init", "-q")
    (tmp_path / "repo" / "other.txt").write_text("x")
    git(tmp_path / "repo", "add", "other.txt")
    git(tmp_path / "repo", "commit", "-qm", "x")
    assert not own_checkout(pkg) and git_commit(pkg) is None


def test_a_copy_without_git_records_the_variable(tmp_path: Path, no_variable: None,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = package_in(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # no repository above tmp_path either
    assert git_commit(pkg) is None
    monkeypatch.setenv(COMMIT_VARIABLE, "  0123abc\n")
    assert git_commit(pkg) == "0123abc"


def test_this_checkout_records_its_commit() -> None:
    if not (PACKAGE.parent / ".git").exists():
        pytest.skip("advsel runs from a copy without its .git")
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", git_commit() or "")
