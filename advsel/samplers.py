"""Samplers: which data-set indices form each batch.

Interface (:class:`Sampler`): ``batches(epoch)`` yields index tensors (CPU, int64) for
this process; ``observe(idx, logits_adv, y)`` receives the logits on the adversarial
examples of the samples just trained on (CAT uses them; others ignore them);
``state_dict``/``load_state_dict`` make it resumable.

Several processes of one distributed run: every rank builds the same sampler with the
same seed, draws the same *global* batch of ``batch_size * world_size`` indices and
keeps the slice ``rank::world_size``.  State that must stay shared (CAT's weights) is
updated from feedback gathered over all ranks by ``all_gather`` (identity for one
process), so every rank holds the same weights and draws the same global batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import torch

AllGather = Callable[[torch.Tensor], torch.Tensor]


def _identity(t: torch.Tensor) -> torch.Tensor:
    return t


class Sampler(Protocol):
    steps_per_epoch: int

    def batches(self, epoch: int) -> Iterator[torch.Tensor]: ...

    def observe(self, idx: torch.Tensor, logits_adv: torch.Tensor | None, y: torch.Tensor) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def _check_shard(batch_size: int, rank: int, world_size: int) -> None:
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank={rank}, world_size={world_size} are not allowed; need 0 <= rank < world_size")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} is not allowed; it must be >= 1")


class UniformSampler:
    """The usual shuffled epoch over ``indices``: the whole set, or a fixed subset (the
    ``subset`` sampler of Dong et al.'s method is this class over the stable half).

    An epoch is ``len(indices) // (batch_size * world_size)`` steps; the incomplete last
    batch is dropped so every step has b' samples.  The permutation of epoch e is drawn
    from a generator seeded by (seed, e): resuming at any epoch needs no state.
    """

    def __init__(self, indices: torch.Tensor, batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        _check_shard(batch_size, rank, world_size)
        self.indices = indices.cpu().long()
        self.batch_size, self.seed, self.rank, self.world_size = batch_size, seed, rank, world_size
        global_b = batch_size * world_size
        if global_b > len(self.indices):
            raise ValueError(f"batch_size={batch_size} (x world_size {world_size}) is larger than the "
                             f"{len(self.indices)} training samples; "
                             f"choose batch_size <= {len(self.indices) // world_size}")
        self.steps_per_epoch = len(self.indices) // global_b

    def batches(self, epoch: int) -> Iterator[torch.Tensor]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        perm = self.indices[torch.randperm(len(self.indices), generator=g)]
        gb = self.batch_size * self.world_size
        for s in range(self.steps_per_epoch):
            yield perm[s * gb:(s + 1) * gb][self.rank::self.world_size]

    def observe(self, idx: torch.Tensor, logits_adv: torch.Tensor | None, y: torch.Tensor) -> None:
        return None

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None

