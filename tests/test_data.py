"""Data: MNIST and CIFAR-10 loading, missing files, balanced subsets, batch augmentation."""

from __future__ import annotations

import importlib.util
import io
import pickle
import struct
import sys
import zipfile
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from advsel.data import (
    CIFAR10_CLASSES,
    DataError,
    TensorData,
    augment_batch,
    balanced_subset,
    data_root,
    load,
    read_idx,
    to_float,
)

HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None


# ------------------------------------------------------------------ MNIST / CIFAR-10 files


def test_mnist_loads_as_uint8_tensors(mnist: TensorData, data_dir: Path) -> None:
    assert mnist.name == "mnist"
    assert mnist.x_train.shape == (60000, 1, 28, 28) and mnist.x_test.shape == (10000, 1, 28, 28)
    assert mnist.x_train.dtype == torch.uint8 and mnist.x_test.dtype == torch.uint8
    assert mnist.y_train.shape == (60000,) and mnist.y_test.shape == (10000,)
    assert mnist.y_train.dtype == torch.int64
    assert torch.bincount(mnist.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert torch.bincount(mnist.y_test, minlength=10).sum() == 10000 and int(mnist.y_test.max()) == 9
    assert int(mnist.x_train.max()) == 255 and int(mnist.x_train.min()) == 0
    assert mnist.image_shape == (1, 28, 28)
    assert "MNIST" in mnist.source and str(data_dir) in mnist.source


def test_data_root_prefers_the_argument_then_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ADVSEL_DATA", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("ADVSEL_DATA")
    assert data_root() == Path("data")


def test_missing_mnist_says_where_it_looked_and_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load("mnist", tmp_path)
    msg = str(info.value)
    assert f"{tmp_path}/MNIST/raw" in msg
    assert "ADVSEL_DATA" in msg and "--download" in msg


def test_missing_cifar10_says_where_it_looked_and_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load("cifar10", tmp_path)
    msg = str(info.value)
    assert str(tmp_path / "cifar-10-batches-py") in msg and str(tmp_path / "cifar10-jpeg.zip") in msg
    assert "ADVSEL_DATA" in msg and "--download" in msg


def _write_idx(path: Path, values: torch.Tensor) -> None:
    dims = values.shape
    path.write_bytes(b"\x00\x00\x08" + bytes([len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
                     + values.numpy().tobytes())


def test_idx_files_are_read_with_their_stored_shape(tmp_path: Path) -> None:
    values = torch.randint(0, 256, (3, 4, 5), dtype=torch.uint8)
    _write_idx(tmp_path / "x-idx3-ubyte", values)
    assert torch.equal(read_idx(tmp_path / "x-idx3-ubyte"), values)


def test_a_file_that_is_not_idx_or_is_cut_short_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "png").write_bytes(b"\x89PNG....")
    with pytest.raises(DataError, match="is not an IDX file of unsigned bytes"):
        read_idx(tmp_path / "png")
    _write_idx(tmp_path / "short", torch.zeros(2, 3, dtype=torch.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-1])
    with pytest.raises(DataError, match="holds 5 values but its header says 2 x 3"):
        read_idx(tmp_path / "short")


@pytest.mark.slow
@pytest.mark.skipif(not HAS_TORCHVISION, reason="torchvision is optional (downloads only)")
def test_mnist_reads_exactly_what_torchvision_reads(mnist: TensorData, data_dir: Path) -> None:
    from torchvision.datasets import MNIST

    for train, x, y in ((True, mnist.x_train, mnist.y_train), (False, mnist.x_test, mnist.y_test)):
        ref = MNIST(str(data_dir), train=train)
        assert torch.equal(x[:, 0], ref.data) and torch.equal(y, ref.targets)


def _cifar_batches(folder: Path) -> dict[str, tuple[torch.Tensor, list[int]]]:
    """Tiny official-format CIFAR-10 batches of 4 images (each row: the red, green and blue planes)."""
    folder.mkdir(parents=True)
    written = {}
    for k, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
        labels = [(k + j) % 10 for j in range(4)]
        with open(folder / name, "wb") as f:
            pickle.dump({"data": images.reshape(4, -1).numpy(), "labels": labels}, f)
        written[name] = (images, labels)
    return written


def test_official_cifar10_batches_are_read_as_chw_images(tmp_path: Path) -> None:
    written = _cifar_batches(tmp_path / "cifar-10-batches-py")
    data = load("cifar10", tmp_path)
    assert data.x_train.shape == (20, 3, 32, 32) and data.x_test.shape == (4, 3, 32, 32)
    assert torch.equal(data.x_train[:4], written["data_batch_1"][0])
    assert torch.equal(data.x_test, written["test_batch"][0])
    assert data.y_train.tolist() == [lab for i in range(1, 6) for lab in written[f"data_batch_{i}"][1]]
    assert data.y_train.dtype == torch.int64 and "official python batches" in data.source


def test_downloading_without_torchvision_says_what_to_install(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torchvision", None)  # import torchvision raises ImportError
    monkeypatch.setitem(sys.modules, "torchvision.datasets", None)
    with pytest.raises(DataError, match=r"downloading MNIST needs torchvision \(pip install torchvision\)"):
        load("mnist", tmp_path, download=True)


def test_data_error_is_a_file_not_found_error() -> None:
    assert issubclass(DataError, FileNotFoundError)


def test_unknown_dataset_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"dataset='svhn' is not allowed; choose one of: mnist, cifar10"):
        load("svhn", tmp_path)


def _write_jpeg_zip(path: Path, per_class: dict[str, int]) -> dict[str, list[int]]:
    """A tiny cifar10-jpeg.zip in ImageFolder layout; returns the labels per split in file-name order."""
    labels: dict[str, list[tuple[str, int]]] = {"train": [], "test": []}
    g = torch.Generator().manual_seed(0)
    with zipfile.ZipFile(path, "w") as zf:
        for split, n in per_class.items():
            for c, cls in enumerate(CIFAR10_CLASSES):
                for i in range(n):
                    img = torch.randint(0, 256, (3, 32, 32), generator=g, dtype=torch.uint8)
                    name = f"{split}/{cls}/{i:04d}.jpg"
                    buf = io.BytesIO()
                    Image.fromarray(img.permute(1, 2, 0).numpy()).save(buf, format="JPEG")
                    zf.writestr(name, buf.getvalue())
                    labels[split].append((name, c))
        zf.writestr("README.txt", "not an image")
    return {s: [c for _, c in sorted(v)] for s, v in labels.items()}


def test_cifar10_jpeg_zip_is_decoded_labelled_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache = tmp_path / "data", tmp_path / "cache"
    root.mkdir()
    monkeypatch.setenv("ADVSEL_CACHE", str(cache))
    labels = _write_jpeg_zip(root / "cifar10-jpeg.zip", {"train": 3, "test": 1})
    d = load("cifar10", root)
    assert d.x_train.shape == (30, 3, 32, 32) and d.x_test.shape == (10, 3, 32, 32)
    assert d.x_train.dtype == torch.uint8
    assert d.y_train.tolist() == labels["train"] and d.y_test.tolist() == labels["test"]
    assert "cifar10-jpeg.zip" in d.source and "JPEG" in d.source and "not pixel-identical" in d.source
    cached = list(cache.glob("cifar10-jpeg-*.pt"))
    assert len(cached) == 1
    # The second load reads the cache, not the zip: poison the cache and see it come back.
    xtr, ytr, xte, yte = torch.load(cached[0])
    torch.save((xtr.flip(0), ytr.flip(0), xte, yte), cached[0])
    again = load("cifar10", root)
    assert torch.equal(again.x_train, d.x_train.flip(0)) and torch.equal(again.y_train, d.y_train.flip(0))


def test_cifar10_partial_cache_is_decoded_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache = tmp_path / "data", tmp_path / "cache"
    root.mkdir()
    monkeypatch.setenv("ADVSEL_CACHE", str(cache))
    _write_jpeg_zip(root / "cifar10-jpeg.zip", {"train": 1, "test": 1})
    first = load("cifar10", root)
    (cached,) = cache.glob("cifar10-jpeg-*.pt")
    cached.write_bytes(cached.read_bytes()[:100])
    second = load("cifar10", root)
    assert torch.equal(first.x_train, second.x_train) and torch.equal(first.y_test, second.y_test)


def test_cifar10_zip_without_a_split_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVSEL_CACHE", str(tmp_path / "cache"))
    _write_jpeg_zip(tmp_path / "cifar10-jpeg.zip", {"train": 1})
    with pytest.raises(DataError, match="no test/<class>/"):
        load("cifar10", tmp_path)


@pytest.mark.slow
def test_cifar10_from_the_real_jpeg_zip(data_dir: Path, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not (data_dir / "cifar10-jpeg.zip").is_file():
        pytest.skip(f"{data_dir}/cifar10-jpeg.zip not present")
    monkeypatch.setenv("ADVSEL_CACHE", str(repo / ".cache"))  # gitignored; decoding once is enough
    d = load("cifar10", data_dir)
    assert d.x_train.shape == (50000, 3, 32, 32) and d.x_test.shape == (10000, 3, 32, 32)
    assert d.x_train.dtype == torch.uint8
    assert torch.bincount(d.y_train).tolist() == [5000] * 10
    assert torch.bincount(d.y_test).tolist() == [1000] * 10
    assert "cifar10-jpeg.zip" in d.source and "JPEG" in d.source
    assert 100 < d.x_train[:1000].float().mean() < 150  # natural images, not blank or saturated


# ------------------------------------------------------------------ balanced subsets


def test_balanced_subset_has_exact_class_counts() -> None:
    labels = torch.arange(1000) % 10
    labels = labels[torch.randperm(1000, generator=torch.Generator().manual_seed(3))]
    idx = balanced_subset(labels, 25, seed=0)
    assert len(idx) == 25 and len(set(idx.tolist())) == 25
    assert torch.equal(idx, idx.sort().values)
    assert torch.bincount(labels[idx], minlength=10).tolist() == [3, 3, 3, 3, 3, 2, 2, 2, 2, 2]
    assert torch.bincount(labels[balanced_subset(labels, 200, seed=0)]).tolist() == [20] * 10


def test_balanced_subset_is_seeded() -> None:
    labels = torch.arange(1000) % 10
    a, b, c = (balanced_subset(labels, 100, seed=s) for s in (7, 7, 8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_balanced_subset_all_samples() -> None:
    labels = torch.arange(50) % 10
    assert torch.equal(balanced_subset(labels, None, seed=0), torch.arange(50))
    assert torch.equal(balanced_subset(labels, 50, seed=0), torch.arange(50))


def test_balanced_subset_larger_than_the_data_is_refused() -> None:
    labels = torch.arange(50) % 10
    with pytest.raises(ValueError, match=r"train_size/test_size=60 is larger than the 50 samples"):
        balanced_subset(labels, 60, seed=0)
    lopsided = torch.cat([torch.zeros(45, dtype=torch.long), torch.arange(1, 10)])
    with pytest.raises(ValueError, match="class 1 has 1 samples, fewer than the 2"):
        balanced_subset(lopsided, 20, seed=0)


def test_to_float_scales_to_unit_interval() -> None:
    x = torch.tensor([0, 51, 255], dtype=torch.uint8)
    assert torch.equal(to_float(x), torch.tensor([0.0, 0.2, 1.0]))


# ------------------------------------------------------------------ augmentation


def _windows(img: torch.Tensor, pad: int) -> list[tuple[int, int, bool, torch.Tensor]]:
    """Every crop of the zero-padded image, plain and mirrored."""
    _, h, w = img.shape
    padded = F.pad(img, (pad, pad, pad, pad))
    out = []
    for dy in range(2 * pad + 1):
        for dx in range(2 * pad + 1):
            win = padded[:, dy:dy + h, dx:dx + w]
            out += [(dy, dx, False, win), (dy, dx, True, win.flip(-1))]
    return out


def test_augment_batch_is_a_crop_of_the_padded_image() -> None:
    pad = 2
    img = torch.arange(1, 3 * 6 * 7 + 1, dtype=torch.float32).view(3, 6, 7)  # all pixels distinct and non-zero
    batch = img.expand(64, -1, -1, -1).clone()
    out = augment_batch(batch, pad=pad, generator=torch.Generator().manual_seed(0))
    assert out.shape == batch.shape and out.dtype == batch.dtype
    candidates = _windows(img, pad)
    seen = set()
    for o in out:
        matches = [(dy, dx, flip) for dy, dx, flip, win in candidates if torch.equal(o, win)]
        assert len(matches) == 1, "every output must be exactly one shifted (and maybe mirrored) window"
        seen.add(matches[0])
    assert len({m[2] for m in seen}) == 2, "some images are flipped and some are not"
    assert len({m[:2] for m in seen}) > 10, "crop offsets vary between images"
    assert all(0 <= dy <= 2 * pad and 0 <= dx <= 2 * pad for dy, dx, _ in seen)


def test_augment_batch_is_seeded_by_its_generator() -> None:
    x = torch.rand(16, 3, 8, 8)
    a = augment_batch(x, generator=torch.Generator().manual_seed(1))
    b = augment_batch(x, generator=torch.Generator().manual_seed(1))
    c = augment_batch(x, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a, x)


def test_augment_batch_without_padding_only_mirrors() -> None:
    x = torch.rand(32, 1, 5, 5)
    out = augment_batch(x, pad=0, generator=torch.Generator().manual_seed(0))
    same = (out == x).flatten(1).all(1)
    mirrored = (out == x.flip(-1)).flatten(1).all(1)
    assert bool((same | mirrored).all()) and bool(same.any()) and bool(mirrored.any())
