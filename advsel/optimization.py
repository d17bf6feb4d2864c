"""The optimizer of every run and its learning-rate schedule.

Every method trains with the same SGD (``Config.lr``, ``momentum``, ``weight_decay``), so
methods differ only in what they backpropagate.  The schedule is read per optimizer
step, not per epoch, so a method whose epoch takes fewer steps (Dong et al.'s subset)
follows the same curve over its own run: ``constant``; ``cosine``, annealed to 0 over
the run's steps; ``multistep``, divided by 10 at each of ``milestones`` (fractions of
the run).  ``lr_warmup_epochs`` multiplies the first epochs' steps by a linear ramp
(step / warm-up steps), against the early collapse of adversarial training at a large
learning rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .config import Config


def lr_factor(schedule: str, step: int, total: int, milestones: Sequence[float], warmup: int = 0) -> float:
    """Multiplier of the base learning rate after ``step`` of ``total`` optimizer steps, the first
    ``warmup`` steps ramped linearly (step 0 at 1 / warmup)."""
    ramp = min(1.0, (step + 1) / warmup) if warmup else 1.0
    if schedule == "constant":
        return ramp
    if schedule == "cosine":
        return ramp * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
    return ramp * 0.1 ** sum(step >= m * total for m in milestones)


def sgd(model: torch.nn.Module, c: Config,
        total_steps: int) -> tuple[torch.optim.SGD, torch.optim.lr_scheduler.LambdaLR]:
    """The SGD optimizer of ``model`` and the config's schedule over ``total_steps`` optimizer steps."""
    optimizer = torch.optim.SGD(model.parameters(), lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)
    warmup = round(total_steps * c.lr_warmup_epochs / c.epochs)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(c.lr_schedule, s, total_steps, c.milestones, warmup))
    return optimizer, scheduler
