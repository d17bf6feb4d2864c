"""The files a user installs and cites by: LICENSE and CITATION.cff agree with pyproject.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

import advsel

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_license_file_is_the_declared_license() -> None:
    assert _pyproject()["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_citation_matches_the_package() -> None:
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    assert cff["version"] == _pyproject()["version"] == advsel.__version__
    assert cff["license"] == _pyproject()["license"]
    titles = {r["title"] for r in cff["references"]}
    assert titles == {"Adversarial training with informed data selection", "Case-aware adversarial training"}
