"""Wall-clock accounting of a run, kept fair between the runs it compares.

Methods are compared by the time their training takes, so each phase must be charged its
own work and nothing else: :class:`Clock` synchronizes CUDA before reading the time (a GPU
runs asynchronously, and without it an attack's kernels would be charged to the training
pass after it), and :func:`warm_up` pays a process's one-time costs (kernel selection,
allocator growth) on a throwaway copy of the model before the first timed step, so they
are not charged to whichever run happens to come first.
"""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from .attacks import pgd
from .data import to_float

if TYPE_CHECKING:  # only for annotations: the trainer imports this module
    from .trainer import Trainer


class Clock:
    """Wall-clock phases; synchronizes CUDA so each phase is charged its own kernels."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"

    def now(self) -> float:
        """The wall time in seconds, after the device's queued work is done."""
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter()


def warm_up(t: Trainer) -> None:
    """Run the attack and a training pass of trainer ``t`` once on a throwaway copy of its model.

    The copy leaves the model, the optimizer and every random generator untouched.
    """
    c = t.config
    rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state(t.device) if t.device.type == "cuda" else None
    model = copy.deepcopy(t.model)
    idx = t.train_indices[: min(c.batch_size // t.dist.world_size, len(t.train_indices))]
    x = to_float(t.x_train[idx.to(t.x_train.device)]).to(t.device)
    y = t.y_train[idx.to(t.y_train.device)].to(t.device)
    x_adv = pgd(model, x, y, eps=c.eps, alpha=c.alpha, steps=min(c.steps, 2), autocast_dtype=t.autocast_dtype)
    with t.autocast():
        loss = F.cross_entropy(model(torch.cat([x, x_adv])).float(), y.repeat(2))
    loss.backward()
    torch.set_rng_state(rng)
    if cuda_rng is not None:
        torch.cuda.set_rng_state(cuda_rng, t.device)
    t.clock.now()
