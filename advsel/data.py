"""Data sets held as tensors and indexed directly.

MNIST and CIFAR-10 are read from their official files in torchvision's folder layout
(``MNIST/raw/*-ubyte``, ``cifar-10-batches-py/``) by advsel itself, so reading needs no
torchvision, whose PyPI builds need the CUDA build of torch; torchvision is imported
only to download the files when the caller allows it (``download=True``).  For
CIFAR-10 without the official files, ``cifar10-jpeg.zip`` (a JPEG re-encoded copy, not
pixel-identical) is read instead and every result says so.

Images stay ``uint8`` (N, C, H, W), optionally resident on the GPU; a batch is indexed,
converted to float in [0, 1] and, for CIFAR, augmented on the whole batch at once.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image  # what torchvision's ImageFolder decodes with

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


MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
CIFAR10_BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}


def _load_mnist(root: Path, download: bool) -> TensorData:
    raw = root / "MNIST" / "raw"
    if download and not all((raw / f).is_file() for pair in MNIST_FILES.values() for f in pair):
        _download("MNIST", root)
    try:
        (xtr, ytr), (xte, yte) = ((read_idx(raw / images).unsqueeze(1).contiguous(), read_idx(raw / labels).long())
                                  for images, labels in MNIST_FILES.values())
    except FileNotFoundError as e:
        raise DataError(
            f"MNIST not found in {raw} (looked for train-images-idx3-ubyte and the other IDX files): {e}. "
            "Set ADVSEL_DATA to a folder holding MNIST/raw, or pass --download to let torchvision fetch it."
        ) from None
    return TensorData("mnist", xtr, ytr, xte, yte, source=f"MNIST (official IDX files) at {root}/MNIST")


def _load_cifar10(root: Path, download: bool) -> TensorData:
    official = root / "cifar-10-batches-py"
    zip_path = root / "cifar10-jpeg.zip"
    if download and not official.is_dir():
        _download("CIFAR10", root)
    if official.is_dir() or not zip_path.is_file():
        try:
            (xtr, ytr), (xte, yte) = (read_cifar10_batches(official, names) for names in CIFAR10_BATCHES.values())
        except FileNotFoundError as e:
            raise DataError(
                f"CIFAR-10 not found in {root}: looked for {official} (official python batches) and {zip_path} "
                f"(JPEG copy): {e}. Set ADVSEL_DATA to a folder holding one of them, or pass --download."
            ) from None
        return TensorData("cifar10", xtr, ytr, xte, yte, source=f"CIFAR-10 (official python batches) at {official}")
    xtr, ytr, xte, yte = _read_cifar10_jpeg_zip(zip_path)
    return TensorData("cifar10", xtr, ytr, xte, yte,
                      source=f"cifar10-jpeg.zip at {zip_path} (JPEG re-encoded CIFAR-10, not pixel-identical)")


def _download(dataset: str, root: Path) -> None:
    """Let torchvision download ``dataset``'s official files into ``root`` (its usual layout)."""
    try:
        import torchvision.datasets  # optional: only for downloading; 2 s to import
    except ImportError:
        raise DataError(f"downloading {dataset} needs torchvision (pip install torchvision), which advsel uses "
                        f"only to download; or place the official files under {root} yourself") from None
    for train in (True, False):
        getattr(torchvision.datasets, dataset)(str(root), train=train, download=True)


def read_idx(path: Path) -> torch.Tensor:
    """An IDX file of unsigned bytes (MNIST's format) as a uint8 tensor of its stored shape.

    The format: two zero bytes, the type byte 0x08 (unsigned byte), the number of
    dimensions, each dimension as a big-endian 32-bit integer, then the values.
    """
    raw = path.read_bytes()
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08":
        raise DataError(f"{path} is not an IDX file of unsigned bytes (it starts with {raw[:4]!r})")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    values = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if values.size != math.prod(dims):
        raise DataError(f"{path} holds {values.size} values but its header says {' x '.join(map(str, dims))}")
    return torch.from_numpy(values.copy()).view(*dims)


def read_cifar10_batches(folder: Path, names: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 3, 32, 32) uint8 and labels of the official CIFAR-10 python batches ``names``.

    Each batch is a pickled dict with ``data`` (N x 3072: the red, green and blue planes of
    each image, row-major) and ``labels``; read as torchvision reads them (the files are
    the data set's own, unpickled like any official copy).
    """
    images, labels = [], []
    for name in names:
        with open(folder / name, "rb") as f:
            batch = pickle.load(f, encoding="latin1")
        images.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels += list(batch["labels"])
    return torch.from_numpy(np.concatenate(images)).contiguous(), torch.tensor(labels, dtype=torch.long)


def _read_cifar10_jpeg_zip(path: Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Decode the ImageFolder-layout zip (train/<class>/N.jpg, test/<class>/N.jpg).

    Decoding takes a while, so the tensors are kept in ``$ADVSEL_CACHE``
    (default ``.cache``) as a ``.pt`` file keyed by the zip's size and mtime.
    """
    st = path.stat()
    cache = Path(os.environ.get("ADVSEL_CACHE", ".cache")) / f"cifar10-jpeg-{st.st_size}-{int(st.st_mtime)}.pt"
    if cache.is_file():
        try:
            return torch.load(cache, weights_only=True)
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
