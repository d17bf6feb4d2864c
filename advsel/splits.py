"""Which samples a run trains on, validates on and is tested on.

All three are seeded and class-balanced (:func:`advsel.data.balanced_subset`), so every
method of a comparison sees the same samples: the training pool is the seeded subset of
``train_size`` of the training set; the validation split (``validation_size`` > 0) is
held out of that pool with a stream of its own, so it never meets the samples trained
on; the test subset is the fixed one of :func:`advsel.evaluation.test_subset`, the same
for every run.  A method that trains on part of the pool (Dong et al.'s subset) passes
its indices in, and they are checked against the validation split.  Each check raises a
:class:`ConfigError` naming the parameter at fault.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import Config, ConfigError
from .data import TensorData, balanced_subset


@dataclass(frozen=True)
class Splits:
    """A run's data-set indices (sorted): ``pool`` (the ``train_size`` pool less the validation
    split: what PGD-AT trains on), ``train`` (what this run trains on) and ``validation``."""

    pool: torch.Tensor
    train: torch.Tensor
    validation: torch.Tensor | None


def make_splits(c: Config, data: TensorData, train_indices: torch.Tensor | None = None) -> Splits:
    """The run's splits; ``train_indices`` (a subset of the pool) replaces the pool as what is trained on."""
    pool = training_subset(c, data)
    validation = None
    if c.validation_size:
        validation, pool = validation_split(c, data, pool)
    train = pool if train_indices is None else train_indices.cpu().long()
    if validation is not None and train_indices is not None:
        overlap = torch.isin(train, validation)
        if bool(overlap.any()):
            raise ValueError(f"train_indices holds {int(overlap.sum())} samples of the validation split "
                             f"(validation_size={c.validation_size}), e.g. "
                             f"{train[overlap][:5].tolist()}; they must be disjoint")
    return Splits(pool, train, validation)


def training_subset(c: Config, data: TensorData) -> torch.Tensor:
    """The seeded, class-balanced training subset of ``train_size`` samples (all when None)."""
    n = len(data.y_train)
    if c.train_size is not None and c.train_size > n:
        reason = f"larger than the {n} training samples available; it must be <= {n} (or all)"
        raise ConfigError(f"train_size={c.train_size} is {reason}", param="train_size", value=c.train_size,
                          reason=reason)
    try:
        return balanced_subset(data.y_train, c.train_size, c.seed, data.num_classes)
    except ValueError as e:  # a class with too few samples
        raise ConfigError(str(e), param="train_size", value=c.train_size) from None


def validation_split(c: Config, data: TensorData, pool: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The validation split of ``c.validation_size`` samples and the training indices left: (validation, rest).

    Exactly: ``pool`` is the training subset of ``train_size`` (:func:`training_subset`, the
    whole training set when None); the validation split is the seeded, class-balanced subset
    (:func:`advsel.data.balanced_subset` over the pool's labels, seed ``seed * 1_000_003 + 99``,
    a stream of its own) of ``validation_size`` of the pool's samples, and training uses the
    ``train_size - validation_size`` others.  So ``train_size`` stays the size of the pool both
    come from, the split is disjoint from the training indices by construction, and with
    ``train_size`` = all it is the usual hold-out of the training set (e.g. 45,000 + 5,000).
    Both are sorted data-set indices.
    """
    n = len(pool)
    if c.validation_size >= n:
        reason = f"not smaller than the {n} samples of the training pool; it must be < {n}"
        raise ConfigError(f"validation_size={c.validation_size} is {reason}", param="validation_size",
                          value=c.validation_size, reason=reason)
    try:
        pos = balanced_subset(data.y_train[pool], c.validation_size, c.seed * 1_000_003 + 99, data.num_classes)
    except ValueError as e:  # a class of the pool with too few samples
        reason = f"too large for a class-balanced split of the {n} pool samples ({e})"
        raise ConfigError(f"validation_size={c.validation_size} is {reason}", param="validation_size",
                          value=c.validation_size, reason=reason) from None
    held = torch.zeros(n, dtype=torch.bool)
    held[pos] = True
    return pool[held], pool[~held]


def check_labels(data: TensorData) -> None:
    """Raise a ConfigError when a label of the training or test set is outside ``[0, num_classes)``."""
    for name, y in (("training", data.y_train), ("test", data.y_test)):
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= data.num_classes):
            raise ConfigError(f"{name} labels range over [{int(y.min())}, {int(y.max())}] but the model has "
                              f"{data.num_classes} classes; labels must be in [0, {data.num_classes - 1}]")
