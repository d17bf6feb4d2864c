"""Dong et al.'s learning stability and their high-quality subset (DS's baseline [13]).

During ordinary PGD-AT, for every training sample and every epoch, record whether the
model's top-1 prediction on the sample's training adversarial example (the one
generated for the step, before the update) is wrong.  ``count_wrong[i]`` is the number of
epochs in which sample i was misclassified; low counts mean high learning stability.
The subset keeps the most stable share (half by default) of every class, and the model
is then adversarially trained on it.  The method's cost includes the pre-training run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


class StabilityTracker:
    """Observer counting, per training sample, the epochs its training adversarial example fooled the model.

    ``indices``: the data-set indices being trained on; counts are kept in that order.
    The logits are those of the training forward pass on the adversarial examples
    (train mode, before the optimizer step), so tracking costs no extra pass.
    ``all_gather``: with several processes, the concatenation over ranks
    (:meth:`advsel.distributed.Dist.all_gather`): every rank counts the (index,
    misclassified) pairs of the whole global batch, so the counts, and the subset chosen
    from them, are identical on every rank.
    """

    def __init__(self, indices: torch.Tensor,
                 all_gather: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        self.all_gather = all_gather
        self.indices = indices.cpu().long()
        self.position = torch.full((int(self.indices.max()) + 1,), -1, dtype=torch.long)
        self.position[self.indices] = torch.arange(len(self.indices))
        self.count_wrong = torch.zeros(len(self.indices), dtype=torch.long)
        self.seen = torch.zeros(len(self.indices), dtype=torch.long)

    def update(self, idx: torch.Tensor, logits_adv: torch.Tensor, y: torch.Tensor) -> None:
        """Count the samples in ``idx`` whose adversarial prediction is wrong."""
        wrong = (logits_adv.argmax(1) != y).cpu()
        idx = idx.cpu()
        if self.all_gather is not None:
            pairs = self.all_gather(torch.stack([idx.long(), wrong.long()], 1))
            idx, wrong = pairs[:, 0], pairs[:, 1].bool()
        pos = self.position[idx]
        self.count_wrong.index_add_(0, pos, wrong.long())
        self.seen.index_add_(0, pos, torch.ones_like(pos))

    def on_step(self, trainer: Any, idx: torch.Tensor, sel: Any, x: torch.Tensor, x_adv: torch.Tensor | None,
                y: torch.Tensor, logits_adv: torch.Tensor | None) -> None:
        if logits_adv is not None:
            self.update(idx, logits_adv, y)

    def state_dict(self) -> dict[str, Any]:
        return {"count_wrong": self.count_wrong.clone(), "seen": self.seen.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        # counts live on the CPU (indexed by CPU positions), whatever device the checkpoint was mapped to
        self.count_wrong, self.seen = state["count_wrong"].cpu().clone(), state["seen"].cpu().clone()

    def as_record(self) -> dict[str, list[int]]:
        return {"indices": self.indices.tolist(), "count_wrong": self.count_wrong.tolist(), "seen": self.seen.tolist()}


def stability_ranking(count_wrong: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Positions ordered from most to least stable (fewest misclassified epochs first).

    Ties, which are common since counts are small integers, are broken by a seeded
    random order rather than by index, so the subset does not favour low indices.
    """
    g = torch.Generator().manual_seed(seed)
    shuffle = torch.randperm(len(count_wrong), generator=g)
    order = torch.sort(count_wrong[shuffle], stable=True).indices
    return shuffle[order]


def stable_subset(indices: torch.Tensor, labels: torch.Tensor, count_wrong: torch.Tensor, keep: float = 0.5,
                  seed: int = 0, num_classes: int = 10) -> torch.Tensor:
    """The class-balanced most-stable share ``keep`` of ``indices`` (data-set indices, sorted).

    ``count_wrong`` may also be a misclassification rate (count / epochs seen).
    ``labels`` are the labels of ``indices`` (same order as ``count_wrong``).  Each class
    keeps round(keep * its size) of its most stable samples.
    """
    if not 0 < keep <= 1:
        raise ValueError(f"dong_keep={keep!r} is not allowed; it must be in (0, 1]")
    rank = stability_ranking(count_wrong, seed)
    kept = []
    for c in range(num_classes):
        in_class = rank[labels[rank] == c]
        kept.append(in_class[: int(round(keep * len(in_class)))])
    return indices[torch.cat(kept)].sort().values
