"""Shared fixtures: tiny synthetic data sets, smoke configs, isolated caches, the real data folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _synthetic
import pytest
import torch

from advsel import experiments
from advsel.config import Config, make_config
from advsel.data import MEAN_STD, TensorData
from advsel.models import build_model

torch.set_num_threads(2)

REPO = Path(__file__).resolve().parents[1]


def make_data(n_train: int = 300, n_test: int = 100, shape: tuple[int, int, int] = (1, 8, 8),
              num_classes: int = 10, seed: int = 0, name: str = "mnist") -> TensorData:
    """A small learnable data set (see :func:`_synthetic.make_data`), 300 training samples by default."""
    return _synthetic.make_data(n_train, n_test, num_classes=num_classes, seed=seed, shape=shape, name=name)


@pytest.fixture(scope="session")
def data_factory() -> Callable[..., TensorData]:
    """:func:`make_data`, for tests that need a data set of their own."""
    return make_data


@pytest.fixture(scope="session")
def tiny_data() -> TensorData:
    """300 training and 100 test images of 1x8x8 with 10 balanced classes (named mnist)."""
    return make_data()


def smoke(**overrides: Any) -> Config:
    """The ``smoke`` MNIST profile on the CPU, with overrides."""
    overrides.setdefault("device", "cpu")
    return make_config("smoke", "mnist", **overrides)


@pytest.fixture
def smoke_config() -> Callable[..., Config]:
    return smoke


@pytest.fixture
def bn_model() -> torch.nn.Module:
    """A seeded small-cnn (with BatchNorm and Normalize) for 1x8x8 inputs, in train mode."""
    torch.manual_seed(0)
    model = build_model("small-cnn", (1, 8, 8), 10, *MEAN_STD["mnist"])
    return model.train()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes into the repository's run cache or the user's (~/.cache/advsel/runs), even one that
    unsets $ADVSEL_RUNS."""
    monkeypatch.setenv("ADVSEL_RUNS", str(tmp_path / "runs-default"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))


@pytest.fixture
def synthetic_experiments(monkeypatch: pytest.MonkeyPatch, tiny_data: TensorData) -> TensorData:
    """``advsel.experiments.dataset('mnist')`` returns the tiny synthetic data set."""
    monkeypatch.setattr(experiments, "_DATA", {"mnist": tiny_data})
    return tiny_data


def _real_data_dir() -> Path:
    return Path(os.environ.get("ADVSEL_DATA") or REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data folder ($ADVSEL_DATA, else ../shared/data); skipped with a reason when absent."""
    root = _real_data_dir()
    if not (root / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file():
        pytest.skip(f"real MNIST not found under {root}; set ADVSEL_DATA to the data folder")
    return root


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def mnist(data_dir: Path) -> TensorData:
    from advsel.data import load

    return load("mnist", data_dir)


@pytest.fixture
def child_env(tmp_path: Path) -> dict[str, str]:
    """Environment for ``python -m advsel`` in a child process: the checkout importable, caches in tmp_path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env["ADVSEL_RUNS"] = str(tmp_path / "runs-child")
    env["XDG_CACHE_HOME"] = str(tmp_path / "user-cache-child")
    env.setdefault("ADVSEL_DATA", str(_real_data_dir()))
    return env
