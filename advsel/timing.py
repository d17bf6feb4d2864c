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

import torch
import torch.nn.functional as F

from .attacks import autocast_context, pgd
from .config import Config


class Clock:
    """Wall-clock phases; synchronizes CUDA so each phase is charged its own kernels."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"

    def now(self) -> float:
        """The wall time in seconds, after the device's queued work is done."""
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter()


def warm_up(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, config: Config,
            autocast_dtype: torch.dtype | None) -> None:
    """Run the training attack (two steps) and a training pass once on a throwaway copy of ``model``,
    on the batch ``x``, ``y``, in the run's precision (``autocast_dtype``, None for fp32).

    The copy leaves the model, the optimizer and every random generator untouched.
    """
    device = x.device
    rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    throwaway = copy.deepcopy(model)
    x_adv = pgd(throwaway, x, y, eps=config.eps, alpha=config.alpha, steps=min(config.steps, 2),
                autocast_dtype=autocast_dtype)
    with autocast_context(x, autocast_dtype):
        loss = F.cross_entropy(throwaway(torch.cat([x, x_adv])).float(), y.repeat(2))
    loss.backward()
    torch.set_rng_state(rng)
    if cuda_rng is not None:
        torch.cuda.set_rng_state(cuda_rng, device)
    Clock(device).now()
