"""CAT (Fan et al.): sampling by a smoothed information gain, without replacement, class-balanced.

Information gain of a sample from the logits on its adversarial example (eq. 3)::

    w = max_{k != y} log p_k(x + d) - log p_y(x + d)

smoothed over time for the samples drawn in an iteration only (eq. 4), all weights
starting at 1::

    w_t = alpha * w_{t-1} + (1 - alpha) * w

From weights to probabilities.  Eq. (3) is a difference of log-probabilities, i.e. the
log of the odds ``max_k p_k / p_y``, and can be negative.  We sample with probability
proportional to ``exp(w / T)`` (a softmax with temperature T, default 1): positive for
every real weight, monotone in w, unchanged by a common shift, and at T = 1 exactly
proportional to the smoothed odds that the model prefers a wrong class.  Larger T
flattens the distribution towards uniform sampling.

Drawing without replacement in proportion to these probabilities is done with the
Gumbel-top-k trick (keys ``w / T + Gumbel noise``; the k largest keys are a sample of
successive weighted draws without replacement), separately in each class.

Class balance.  Each class gets ``b' // C`` samples of every batch; when b' is not a
multiple of C, the ``b' mod C`` remaining places go to as many distinct classes drawn
uniformly at random for that batch, so shares are exact when b' is divisible by C and
equal in expectation otherwise.

An epoch of CAT is ``len(indices) // b'`` iterations: as many samples are attacked and
trained on as in a uniform epoch, so methods are compared on equal work.  Samples may
recur within an epoch (they are drawn by weight each iteration), never within a batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F

from .samplers import AllGather, _check_shard, _identity


def information_gain(logits_adv: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Eq. (3): max over wrong classes of log p_k minus log p_y, per sample (float32)."""
    logp = F.log_softmax(logits_adv.float(), dim=1)
    true = logp.gather(1, y[:, None]).squeeze(1)
    wrong = logp.scatter(1, y[:, None], float("-inf")).amax(1)
    return wrong - true


class CATSampler:
    """Weighted, class-balanced sampling without replacement over ``indices``.

    ``labels``: labels of the whole training set (indexed by data-set index).
    ``alpha``: eq. (4) smoothing.  ``temperature``: the softmax temperature T.
    ``rank``/``world_size``/``all_gather``: see :mod:`advsel.samplers`.
    """

    def __init__(self, indices: torch.Tensor, labels: torch.Tensor, batch_size: int, seed: int, *,
                 alpha: float = 0.5, temperature: float = 1.0, num_classes: int = 10, rank: int = 0,
                 world_size: int = 1, all_gather: AllGather = _identity) -> None:
        _check_shard(batch_size, rank, world_size)
        if not 0 <= alpha < 1:
            raise ValueError(f"cat_alpha={alpha!r} is not allowed; it must be in [0, 1)")
        if not temperature > 0:
            raise ValueError(f"cat_temperature={temperature!r} is not allowed; it must be > 0")
        self.indices = indices.cpu().long()
        self.labels = labels.cpu()[self.indices]
        self.batch_size, self.rank, self.world_size = batch_size, rank, world_size
        self.alpha, self.temperature, self.num_classes = alpha, temperature, num_classes
        self.all_gather = all_gather
        gb = batch_size * world_size
        self.by_class = [(self.labels == c).nonzero().flatten() for c in range(num_classes)]
        smallest = min(len(p) for p in self.by_class)
        if gb > len(self.indices) or -(-gb // num_classes) > smallest:
            raise ValueError(f"batch_size={batch_size} (sampling number, x world_size {world_size}) is larger than "
                             f"the data allow: {len(self.indices)} samples, smallest class {smallest}; "
                             f"choose batch_size <= {min(len(self.indices), smallest * num_classes) // world_size}")
        self.steps_per_epoch = len(self.indices) // gb
        self.weights = torch.ones(len(self.indices))
        self.position = torch.full((int(self.indices.max()) + 1,), -1, dtype=torch.long)
        self.position[self.indices] = torch.arange(len(self.indices))
        self.generator = torch.Generator().manual_seed(seed * 100_003 + 7)

    def class_counts(self) -> torch.Tensor:
        """Samples per class in the next global batch (b' // C each, remainder to random classes)."""
        gb = self.batch_size * self.world_size
        per, extra = divmod(gb, self.num_classes)
        counts = torch.full((self.num_classes,), per, dtype=torch.long)
        if extra:
            counts[torch.randperm(self.num_classes, generator=self.generator)[:extra]] += 1
        return counts

    def draw(self) -> torch.Tensor:
        """One global batch of data-set indices, weighted without replacement, class-balanced."""
        u = torch.rand(len(self.weights), generator=self.generator).clamp_(1e-12, 1 - 1e-7)
        keys = self.weights / self.temperature - torch.log(-torch.log(u))  # Gumbel-top-k
        counts = self.class_counts()
        chosen = [pos[keys[pos].topk(int(k)).indices] for pos, k in zip(self.by_class, counts, strict=True) if k > 0]
        batch = torch.cat(chosen)
        return self.indices[batch[torch.randperm(len(batch), generator=self.generator)]]

    def batches(self, epoch: int) -> Iterator[torch.Tensor]:
        for _ in range(self.steps_per_epoch):
            yield self.draw()[self.rank::self.world_size]

    def observe(self, idx: torch.Tensor, logits_adv: torch.Tensor | None, y: torch.Tensor) -> None:
        """Eq. (4) for the drawn samples, from the logits on their adversarial examples.

        Raises ValueError for an index that is not one of the sampler's ``indices``.
        """
        if logits_adv is None:
            raise ValueError("CAT needs the logits on the adversarial examples of the drawn samples")
        gain = information_gain(logits_adv.detach(), y).cpu()
        idx = self.all_gather(idx.cpu().long())
        gain = self.all_gather(gain)
        known = (idx >= 0) & (idx < len(self.position))
        pos = torch.where(known, self.position[idx.clamp(0, len(self.position) - 1)], -1)
        if bool((pos < 0).any()):
            raise ValueError(f"idx holds data-set indices that the sampler does not draw from: "
                             f"{idx[pos < 0][:5].tolist()}")
        self.weights[pos] = self.alpha * self.weights[pos] + (1 - self.alpha) * gain

    def probabilities(self) -> torch.Tensor:
        """Within-class sampling probabilities softmax(w / T) (for plots and tests)."""
        p = torch.empty_like(self.weights)
        for pos in self.by_class:
            p[pos] = torch.softmax(self.weights[pos] / self.temperature, 0)
        return p

    def state_dict(self) -> dict[str, Any]:
        return {"weights": self.weights.clone(), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.weights = state["weights"].clone()
        self.generator.set_state(state["generator"])
