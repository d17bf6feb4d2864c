"""Models with their input normalisation inside, so every attack works on [0, 1] inputs.

Registry by name: ``small-cnn`` (fast runs), ``madry-cnn`` (Madry et al.'s MNIST CNN),
``resnet18`` (the CIFAR form used by both papers: 3x3 stem, no max-pool) and
``preact-resnet18`` (Dong et al.).  ``width`` multiplies every channel count.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from .data import MEAN_STD
from .runs import atomic_torch_save


class Normalize(nn.Module):
    """(x - mean) / std with per-channel constants stored as buffers."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _ch(base: int, width: float) -> int:
    return max(1, int(round(base * width)))


def small_cnn(in_ch: int, num_classes: int, width: float, image_size: int) -> nn.Module:
    """Two conv blocks with BatchNorm and a linear head: seconds per epoch on a CPU."""
    c1, c2 = _ch(16, width), _ch(32, width)
    feat = c2 * (image_size // 4) ** 2
    return nn.Sequential(
        nn.Conv2d(in_ch, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 3, padding=1, bias=False), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(feat, _ch(100, width)), nn.ReLU(), nn.Linear(_ch(100, width), num_classes),
    )


def madry_cnn(in_ch: int, num_classes: int, width: float, image_size: int) -> nn.Module:
    """Madry et al. (2018) MNIST network: conv 32-5x5, pool, conv 64-5x5, pool, fc 1024."""
    c1, c2, h = _ch(32, width), _ch(64, width), _ch(1024, width)
    feat = c2 * (image_size // 4) ** 2
    return nn.Sequential(
        nn.Conv2d(in_ch, c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(feat, h), nn.ReLU(), nn.Linear(h, num_classes),
    )


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class PreActBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        sc = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        return self.conv2(F.relu(self.bn2(out))) + sc


class ResNet18(nn.Module):
    """ResNet-18 in its CIFAR form (3x3 stem, no max-pool); ``preact`` for PreAct ResNet-18."""

    def __init__(self, in_ch: int, num_classes: int, width: float = 1.0, preact: bool = False) -> None:
        super().__init__()
        block = PreActBlock if preact else BasicBlock
        chans = [_ch(c, width) for c in (64, 128, 256, 512)]
        self.preact = preact
        self.conv1 = nn.Conv2d(in_ch, chans[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(chans[0]) if not preact else nn.Identity()
        layers, cin = [], chans[0]
        for i, c in enumerate(chans):
            for s in (1 if i == 0 else 2, 1):
                layers.append(block(cin, c, s))
                cin = c
        self.layers = nn.Sequential(*layers)
        self.bn_final = nn.BatchNorm2d(cin) if preact else nn.Identity()
        self.linear = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)
        if not self.preact:
            out = F.relu(self.bn1(out))
        out = self.layers(out)
        if self.preact:
            out = F.relu(self.bn_final(out))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


Builder = Callable[[int, int, float, int], nn.Module]
REGISTRY: dict[str, Builder] = {
    "small-cnn": small_cnn,
    "madry-cnn": madry_cnn,
    "resnet18": lambda c, k, w, s: ResNet18(c, k, w, preact=False),
    "preact-resnet18": lambda c, k, w, s: ResNet18(c, k, w, preact=True),
}


def build_model(name: str, image_shape: Sequence[int], num_classes: int, mean: Sequence[float],
                std: Sequence[float], width: float = 1.0) -> nn.Module:
    """A registered model preceded by its :class:`Normalize` layer."""
    if name not in REGISTRY:
        raise ValueError(f"model={name!r} is not allowed; choose one of: {', '.join(REGISTRY)}")
    c, h, _ = image_shape
    return nn.Sequential(Normalize(mean, std), REGISTRY[name](c, num_classes, width, h))


MODEL_FORMAT = "advsel-model/1"


def save_model(model: nn.Module, path: str | os.PathLike[str], *, config: dict[str, Any] | None,
               image_shape: Sequence[int], num_classes: int, extra: dict[str, Any] | None = None) -> Path:
    """Write ``model``'s weights with what is needed to rebuild it, atomically.

    The file holds only tensors and plain Python values, so :func:`load_model` reads it
    with ``torch.load(..., weights_only=True)``.  ``config`` is the run's
    ``Config.to_dict()`` (None for a user's own model, which :func:`load_model` then needs
    to be given).  Weights are stored contiguous and on the CPU, whatever the training
    device and memory format.
    """
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    blob = {"format": MODEL_FORMAT, "config": config, "image_shape": list(image_shape),
            "num_classes": int(num_classes), "state_dict": state, **(extra or {})}
    atomic_torch_save(blob, Path(path))
    return Path(path)


def load_model(path: str | os.PathLike[str], model: nn.Module | None = None,
               map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Load a model file written by :func:`save_model` (weights only: no code runs from the file).

    Returns the model in eval mode and the file's metadata (``config``, ``image_shape``,
    ``num_classes`` ...).  ``model``: the network to load the weights into; needed when the
    file holds a user's own model (no ``config``), optional otherwise.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    hint = "write one with advsel.models.save_model or `python -m advsel train --save-model`"
    try:
        blob = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - not a torch file, or one that needs code to load
        raise ValueError(f"{path} is not an advsel model file (torch.load(..., weights_only=True) cannot read it: "
                         f"{type(e).__name__}); {hint}") from e
    if not isinstance(blob, dict) or blob.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path} is not an advsel model file (expected format {MODEL_FORMAT!r}); {hint}")
    meta = {k: v for k, v in blob.items() if k != "state_dict"}
    if model is None:
        cfg = blob.get("config")
        if cfg is None:
            raise ValueError(f"{path} holds a user's own model (no advsel config): pass model=<your nn.Module>")
        model = build_model(cfg["model"], blob["image_shape"], blob["num_classes"], *MEAN_STD[cfg["dataset"]],
                            width=cfg["width"])
    try:
        model.load_state_dict(blob["state_dict"])
    except RuntimeError as e:
        raise ValueError(f"the weights in {path} do not fit the given model ({type(model).__name__}): "
                         f"{' '.join(str(e).split())[:400]}") from e
    return model.to(map_location).eval(), meta
