"""Tiny synthetic data and configs for the CAT / Dong / analysis tests (no fixtures from conftest needed)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from advsel.attacks import eval_mode
from advsel.config import Config, make_config
from advsel.data import TensorData

REPO = Path(__file__).resolve().parents[1]


def make_data(n_train: int = 200, n_test: int = 100, size: int = 8, num_classes: int = 10,
              seed: int = 0, shape: tuple[int, int, int] | None = None, name: str = "mnist") -> TensorData:
    """Learnable images (default 1 x size x size) named ``mnist``: class c brightens the c-th pixel band,
    plus uint8 noise.

    Labels cycle through the classes, so every class has ``n // num_classes`` samples.
    """
    g = torch.Generator().manual_seed(seed)
    shape = shape or (1, size, size)

    def split(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(n) % num_classes
        x = torch.randint(0, 120, (n, *shape), generator=g).float()
        flat = x.view(n, -1)
        band = flat.shape[1] // num_classes
        for c in range(num_classes):
            flat[y == c, c * band:(c + 1) * band] += 120
        return x.clamp(0, 255).to(torch.uint8), y

    xtr, ytr = split(n_train)
    xte, yte = split(n_test)
    return TensorData(name, xtr, ytr, xte, yte, source="synthetic (tests)", num_classes=num_classes)


def smoke(**overrides: Any) -> Config:
    """The ``smoke`` MNIST profile (200 train, 100 test, b' = 50, PGD-2) on the CPU, with overrides."""
    overrides.setdefault("device", "cpu")
    return make_config("smoke", "mnist", **overrides)


def real_data_dir() -> Path:
    """``$ADVSEL_DATA`` or the shared data folder beside the checkout."""
    return Path(os.environ.get("ADVSEL_DATA") or REPO.parent / "shared" / "data")


def has_real_mnist() -> bool:
    return (real_data_dir() / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()


def own_labels(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Labels the model gets right on clean inputs, so the attacks have robust samples to work on."""
    with torch.no_grad(), eval_mode(model):
        return model(x).argmax(1)


class PoisonWeights:
    """An observer that fills every parameter with NaN after the first step of epoch ``at`` (1-based):
    a diverged model, whose next step's loss is NaN."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_step(self, trainer: Any, *args: Any) -> None:
        if trainer.step == (self.at - 1) * trainer.sampler.steps_per_epoch:
            with torch.no_grad():
                for p in trainer.model.parameters():
                    p.fill_(float("nan"))
