"""Which sampler draws a method's batch: the ``batch`` part of its registry entry.

``uniform``: a shuffled epoch over the training indices.  ``cat``: CAT's weighted,
class-balanced sampler, whose weights the training step updates.  ``balanced``: the same
sampler with its weights never updated (the control for CAT).  ``subset``: a shuffled
epoch over Dong et al.'s subset (the run's ``train_indices``), as many steps as that
subset gives, or, with ``dong_steps='pgd-at'``, as many as a PGD-AT epoch over the whole
pool.  With several ranks each sampler yields this rank's b'/N rows of every global
batch, so b' must split evenly over the ranks (:func:`check_shards`).  A bad size is a
:class:`ConfigError` naming ``batch_size``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from .cat import CATSampler
from .config import Config, ConfigError
from .distributed import Dist
from .methods import Method
from .samplers import Sampler, UniformSampler


def check_shards(c: Config, world_size: int) -> None:
    """Raise a ConfigError unless the global b' (``batch_size``) splits evenly over ``world_size`` ranks, and
    unless a DS run with ``ds_forward='joint'`` (one forward of the 2b', in one process) runs in one process."""
    if world_size > 1 and c.ds_forward == "joint" and "ds_forward" not in c.ignored():
        reason = f"one process only (this run has {world_size}); use ds_forward='reforward' with several processes"
        raise ConfigError(f"ds_forward='joint' is {reason}", param="ds_forward", value=c.ds_forward, reason=reason)
    if c.batch_size % world_size:
        reason = (f"not divisible by the world size {world_size}: batch_size is the global b', split evenly over "
                  f"the {world_size} processes; choose a multiple of {world_size}")
        raise ConfigError(f"batch_size={c.batch_size} is {reason}", param="batch_size", value=c.batch_size,
                          reason=reason)


def method_sampler(c: Config, method: Method, train_indices: torch.Tensor, pool_size: int, y_train: torch.Tensor,
                   num_classes: int, dist: Dist) -> Sampler:
    """The sampler of ``method``'s batch over ``train_indices`` (``pool_size``: the pool's, for ``dong_steps``)."""
    n = len(train_indices)
    if c.batch_size > n:
        reason = f"larger than the {n} training samples; it must be <= {n}"
        raise ConfigError(f"batch_size={c.batch_size} is {reason}", param="batch_size", value=c.batch_size,
                          reason=reason)
    shard = {"rank": dist.rank, "world_size": dist.world_size}
    per_rank = c.batch_size // dist.world_size
    with sampler_errors(c):
        if method.batch in ("cat", "balanced"):
            return CATSampler(train_indices, y_train, per_rank, c.seed, alpha=c.cat_alpha,
                              temperature=c.cat_temperature, num_classes=num_classes,
                              all_gather=dist.all_gather, update=method.batch == "cat", **shard)
        if method.batch == "subset" and c.dong_steps == "pgd-at":
            steps = pool_size // c.batch_size  # a PGD-AT epoch over the whole pool
            return UniformSampler(train_indices, per_rank, c.seed, steps_per_epoch=steps, **shard)
        return UniformSampler(train_indices, per_rank, c.seed, **shard)


@contextlib.contextmanager
def sampler_errors(c: Config) -> Iterator[None]:
    """A sampler's ValueError as a ConfigError (naming ``batch_size`` when it is about the batch size)."""
    try:
        yield
    except ValueError as e:
        param = "batch_size" if str(e).startswith("batch_size=") else None
        raise ConfigError(str(e), param=param, value=c.batch_size if param else None) from None
