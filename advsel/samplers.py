"""Samplers: which data-set indices form each batch.

Interface (:class:`Sampler`): ``batches(epoch)`` yields index tensors (CPU, int64) for
this process; ``observe(idx, logits_adv, y)`` receives the logits on the adversarial
examples of the samples just trained on (CAT uses them; others ignore them);
``state_dict``/``load_state_dict`` make it resumable.

With PyTorch's data loading (:class:`EpochBatchSampler`): both samplers are batch samplers,
``DataLoader(dataset, batch_sampler=sampler)`` over any map-style Dataset, which is read
item by item so the data need not fit in memory (a sampler holds only indices and, for
CAT, labels and weights).  ``len(sampler)`` is the steps per epoch, ``iter(sampler)``
yields the index lists of the current epoch and ``set_epoch(e)`` picks the epoch, as for
``DistributedSampler``: call it at the start of every epoch, else a uniform sampler
repeats epoch 0's order.  Wrap the data set in :class:`WithIndex` to get each item's
index back for ``observe``.

Without replacement means within a batch only: no index repeats inside a batch; across
the batches of an epoch, CAT draws each batch afresh from all samples, so some samples
recur and others are not drawn at all in that epoch (see :mod:`advsel.cat`).  A uniform epoch is a
permutation: every sample at most once per epoch.

Several processes of one distributed run: every rank builds the same sampler with the
same seed, draws the same *global* batch of ``batch_size * world_size`` indices and
keeps the slice ``rank::world_size`` (``batch_size`` here is the per-rank share; the
trainer passes ``Config.batch_size // world_size``, see :mod:`advsel.distributed`).
State that must stay shared (CAT's weights) is updated from feedback gathered over all
ranks by ``all_gather`` (the concatenation over ranks, identity for one process), so
every rank holds the same weights and draws the same global batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import torch
from torch.utils.data import Dataset
from torch.utils.data import Sampler as TorchSampler

AllGather = Callable[[torch.Tensor], torch.Tensor]


def identity(t: torch.Tensor) -> torch.Tensor:
    """The ``all_gather`` of one process: the tensor itself."""
    return t


class Sampler(Protocol):
    steps_per_epoch: int

    def batches(self, epoch: int) -> Iterator[torch.Tensor]: ...

    def observe(self, idx: torch.Tensor, logits_adv: torch.Tensor | None, y: torch.Tensor) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def check_shard(batch_size: int, rank: int, world_size: int) -> None:
    """ValueError unless ``0 <= rank < world_size`` and ``batch_size >= 1`` (a sampler's share of a batch)."""
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank={rank}, world_size={world_size} are not allowed; need 0 <= rank < world_size")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} is not allowed; it must be >= 1")


def as_index_tensor(value: Any, name: str, indices: bool = True) -> torch.Tensor:
    """``value`` as a non-empty 1-D CPU int64 tensor; TypeError/ValueError naming ``name``.
    ``indices``: also require distinct entries >= 0 (data-set indices to draw from)."""
    try:
        t = torch.as_tensor(value).detach().cpu()
    except (TypeError, ValueError, RuntimeError) as e:
        raise TypeError(f"{name} must be a 1-D integer tensor, got {type(value).__name__}") from e
    if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
        raise TypeError(f"{name} must hold integers, got dtype {t.dtype}")
    if t.dim() != 1 or len(t) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D tensor, got shape {tuple(t.shape)}")
    t = t.long()
    if indices and int(t.min()) < 0:
        raise ValueError(f"{name} holds negative data-set indices: {t[t < 0][:5].tolist()}")
    if indices and len(torch.unique(t)) != len(t):
        raise ValueError(f"{name} holds repeated data-set indices; each sample may appear once")
    return t


class EpochBatchSampler(TorchSampler[list[int]]):
    """``DataLoader`` batch-sampler protocol on top of ``batches(epoch)`` and ``steps_per_epoch``.

    Yields plain lists of data-set indices (what a map-style Dataset is indexed with).
    """

    steps_per_epoch: int
    epoch: int = 0

    def batches(self, epoch: int) -> Iterator[torch.Tensor]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batches(self.epoch):
            yield batch.tolist()

    def __len__(self) -> int:
        return self.steps_per_epoch

    def set_epoch(self, epoch: int) -> None:
        """The epoch the next ``iter(sampler)`` walks through (like ``DistributedSampler.set_epoch``)."""
        self.epoch = epoch


class WithIndex(Dataset):
    """A map-style Dataset whose items come with their index: ``(*item, i)`` for a tuple item,
    else ``(item, i)``, so a training loop can hand ``idx`` to ``sampler.observe``."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> tuple[Any, ...]:
        item = self.dataset[i]
        return (*item, i) if isinstance(item, tuple) else (item, i)


class UniformSampler(EpochBatchSampler):
    """The usual shuffled epoch over ``indices``: the whole set, or a fixed subset (the
    ``subset`` sampler of Dong et al.'s method is this class over the stable half).

    An epoch is ``len(indices) // (batch_size * world_size)`` steps; the incomplete last
    batch is dropped so every step has b' samples.  The permutation of epoch e is drawn
    from a generator seeded by (seed, e): resuming at any epoch needs no state.

    ``steps_per_epoch``: an epoch of this many steps instead (Dong et al.'s subset run with
    ``dong_steps="pgd-at"``: as many steps as PGD-AT on the full set).  The epoch walks
    through successive permutations of ``indices`` drawn from the same (seed, e) generator,
    each cut into ``len(indices) // (batch_size * world_size)`` whole batches (its remainder
    dropped, so no index repeats within a batch), as many as the steps need; the last is cut
    short.  The first permutation is the default epoch's, so the default is unchanged.
    """

    def __init__(self, indices: torch.Tensor, batch_size: int, seed: int, rank: int = 0, world_size: int = 1,
                 steps_per_epoch: int | None = None) -> None:
        check_shard(batch_size, rank, world_size)
        self.indices = as_index_tensor(indices, "indices")
        self.batch_size, self.seed, self.rank, self.world_size = batch_size, seed, rank, world_size
        global_b = batch_size * world_size
        if global_b > len(self.indices):
            raise ValueError(f"batch_size={batch_size} (x world_size {world_size}) is larger than the "
                             f"{len(self.indices)} training samples; "
                             f"choose batch_size <= {len(self.indices) // world_size}")
        self.steps_per_pass = len(self.indices) // global_b
        if steps_per_epoch is not None and not (isinstance(steps_per_epoch, int)
                                                and not isinstance(steps_per_epoch, bool) and steps_per_epoch >= 1):
            raise ValueError(f"steps_per_epoch={steps_per_epoch!r} is not allowed; it must be an integer >= 1 "
                             "(or None: one pass over indices)")
        self.steps_per_epoch = self.steps_per_pass if steps_per_epoch is None else steps_per_epoch

    def batches(self, epoch: int) -> Iterator[torch.Tensor]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        gb = self.batch_size * self.world_size
        done = 0
        while done < self.steps_per_epoch:
            perm = self.indices[torch.randperm(len(self.indices), generator=g)]
            for s in range(min(self.steps_per_pass, self.steps_per_epoch - done)):
                yield perm[s * gb:(s + 1) * gb][self.rank::self.world_size]
            done += self.steps_per_pass

    def observe(self, idx: torch.Tensor, logits_adv: torch.Tensor | None, y: torch.Tensor) -> None:
        return None

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None

