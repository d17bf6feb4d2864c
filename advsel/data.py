"""Data sets held as tensors and indexed directly.

MNIST and CIFAR-10 come through torchvision's own data sets and file formats: the
official files when present under the data folder (or torchvision's download when the
caller allows it).  For CIFAR-10 without the official files, ``cifar10-jpeg.zip`` (a
JPEG re-encoded copy, not pixel-identical) is read instead and every result says so.

Images stay ``uint8`` (N, C, H, W), optionally resident on the GPU; a batch is indexed,
converted to float in [0, 1] and, for CIFAR, augmented on the whole batch at once.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image  # what torchvision's ImageFolder decodes with; torchvision.io's decoders are deprecated

from .runs import atomic_torch_save

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
MEAN_STD = {
    "mnist": ((0.1307,), (0.3081,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
}


class DataError(FileNotFoundError):
    """The data files are missing or unreadable; the message says where we looked."""


@dataclass
class TensorData:
    """A data set as tensors: images uint8 (N, C, H, W), labels int64 (N,)."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    source: str
    num_classes: int = 10

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    def to(self, device: torch.device | str) -> TensorData:
        """A copy with all tensors on ``device`` (e.g. resident on the GPU)."""
        return TensorData(self.name, self.x_train.to(device), self.y_train.to(device), self.x_test.to(device),
                          self.y_test.to(device), self.source, self.num_classes)


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The data folder: ``root`` if given, else ``$ADVSEL_DATA``, else ``./data``."""
    return Path(root or os.environ.get("ADVSEL_DATA") or "data")


def load(name: str, root: str | os.PathLike[str] | None = None, download: bool = False) -> TensorData:
    """Load ``mnist`` or ``cifar10`` as tensors on the CPU."""
    if name == "mnist":
        return _load_mnist(data_root(root), download)
    if name == "cifar10":
        return _load_cifar10(data_root(root), download)
    raise ValueError(f"dataset={name!r} is not allowed; choose one of: mnist, cifar10")


def _load_mnist(root: Path, download: bool) -> TensorData:
    from torchvision.datasets import MNIST  # 2 s to import: only when a data set is read

    try:
        train = MNIST(str(root), train=True, download=download)
        test = MNIST(str(root), train=False, download=download)
    except RuntimeError as e:
        raise DataError(
            f"MNIST not found in {root}/MNIST/raw (looked for train-images-idx3-ubyte and the other IDX files): {e}. "
            "Set ADVSEL_DATA to a folder holding MNIST/raw, or pass --download to let torchvision fetch it."
        ) from None
    return TensorData("mnist", train.data.unsqueeze(1).contiguous(), train.targets.long(),
                      test.data.unsqueeze(1).contiguous(), test.targets.long(),
                      source=f"torchvision MNIST (official IDX files) at {root}/MNIST")


def _load_cifar10(root: Path, download: bool) -> TensorData:
    from torchvision.datasets import CIFAR10  # 2 s to import: only when a data set is read

    official = root / "cifar-10-batches-py"
    zip_path = root / "cifar10-jpeg.zip"
    if official.is_dir() or download or not zip_path.is_file():
        try:
            train = CIFAR10(str(root), train=True, download=download)
            test = CIFAR10(str(root), train=False, download=download)
        except RuntimeError as e:
            raise DataError(
                f"CIFAR-10 not found in {root}: looked for {official} (official python batches) and {zip_path} "
                f"(JPEG copy): {e}. Set ADVSEL_DATA to a folder holding one of them, or pass --download."
            ) from None

        def to_tensor(ds: CIFAR10) -> tuple[torch.Tensor, torch.Tensor]:
            return torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous(), torch.tensor(ds.targets)

        xtr, ytr = to_tensor(train)
        xte, yte = to_tensor(test)
        return TensorData("cifar10", xtr, ytr, xte, yte, source=f"torchvision CIFAR10 (official batches) at {official}")
    xtr, ytr, xte, yte = _read_cifar10_jpeg_zip(zip_path)
    return TensorData("cifar10", xtr, ytr, xte, yte,
                      source=f"cifar10-jpeg.zip at {zip_path} (JPEG re-encoded CIFAR-10, not pixel-identical)")


def _read_cifar10_jpeg_zip(path: Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Decode the ImageFolder-layout zip (train/<class>/N.jpg, test/<class>/N.jpg).

    Decoding takes a while, so the tensors are kept in ``$ADVSEL_CACHE``
    (default ``.cache``) as a ``.pt`` file keyed by the zip's size and mtime.
    """
    st = path.stat()
    cache = Path(os.environ.get("ADVSEL_CACHE", ".cache")) / f"cifar10-jpeg-{st.st_size}-{int(st.st_mtime)}.pt"
    if cache.is_file():
        try:
            return torch.load(cache)
        except Exception:  # a partial cache file: decode again
            pass
    splits: dict[str, tuple[list[torch.Tensor], list[int]]] = {"train": ([], []), "test": ([], [])}
    with zipfile.ZipFile(path) as zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            parts = info.filename.split("/")
            if len(parts) != 3 or not parts[2].lower().endswith(".jpg") or parts[0] not in splits:
                continue
            label = CIFAR10_CLASSES.index(parts[1])
            with Image.open(io.BytesIO(zf.read(info))) as img:
                pixels = np.asarray(img.convert("RGB"))
            splits[parts[0]][0].append(torch.from_numpy(pixels.copy()).permute(2, 0, 1))
            splits[parts[0]][1].append(label)
    out = []
    for split in ("train", "test"):
        imgs, labels = splits[split]
        if not imgs:
            raise DataError(f"{path} holds no {split}/<class>/*.jpg images")
        out += [torch.stack(imgs), torch.tensor(labels)]
    atomic_torch_save(tuple(out), cache)
    return tuple(out)  # type: ignore[return-value]


def balanced_subset(labels: torch.Tensor, size: int | None, seed: int, num_classes: int = 10) -> torch.Tensor:
    """Seeded, class-balanced indices of ``size`` samples (all, in order, when None).

    Each class gets ``size // num_classes``; the remainder goes one each to the lowest
    class numbers.  Raises ValueError when a class has too few samples.
    """
    n = len(labels)
    if size is None or size == n:
        return torch.arange(n)
    if size > n:
        raise ValueError(f"train_size/test_size={size} is larger than the {n} samples available")
    g = torch.Generator().manual_seed(seed)
    per, extra = divmod(size, num_classes)
    chosen = []
    for c in range(num_classes):
        idx = (labels == c).nonzero().flatten()
        want = per + (1 if c < extra else 0)
        if want > len(idx):
            raise ValueError(f"class {c} has {len(idx)} samples, fewer than the {want} "
                             f"a balanced subset of {size} needs")
        chosen.append(idx[torch.randperm(len(idx), generator=g)[:want]])
    return torch.cat(chosen).sort().values


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 images to float in [0, 1]."""
    return x.float().div_(255)


def augment_batch(x: torch.Tensor, pad: int = 4, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random crop with zero padding ``pad`` and random horizontal flip, on a whole batch.

    ``x`` is float (B, C, H, W); one crop offset and one flip decision per image.
    Random numbers are drawn on the CPU (from ``generator``) so runs are seeded the same
    way on every device.
    """
    b, _, h, w = x.shape
    dev = x.device
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=generator).to(dev)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=generator).to(dev)
    flip = (torch.rand(b, generator=generator) < 0.5).to(dev)
    rows = (dy[:, None] + torch.arange(h, device=dev))[:, None, :, None]  # (B, 1, H, 1)
    cols = torch.arange(w, device=dev).expand(b, w)
    cols = torch.where(flip[:, None], cols.flip(1), cols) + dx[:, None]
    cols = cols[:, None, None, :]  # (B, 1, 1, W)
    bidx = torch.arange(b, device=dev)[:, None, None, None]
    cidx = torch.arange(x.shape[1], device=dev)[None, :, None, None]
    return padded[bidx, cidx, rows, cols]
