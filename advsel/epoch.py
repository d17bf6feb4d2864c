"""What one epoch of training measures and records.

The trainer adds every step's selection, loss and phase times to an :class:`EpochStats`;
at the end of the epoch the counts are summed over the ranks (one all-reduce) and turned
into the epoch record (:func:`epoch_record`): the training loss and accuracy, the mean
number of clean and adversarial samples selected per step, the sample passes and the
phase times, beside the accuracies of the model after the epoch (:func:`accuracies`: clean
and PGD robust accuracy under the evaluation attack, on the test subset or the validation
split, shared out over the ranks).  The counts stay device tensors during the epoch, so
no step waits for the GPU to report them.  :func:`format_epoch` is the epoch's line in
the log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import torch
import torch.nn as nn

from . import distributed as ddp
from .attacks import clean_accuracy, robust_accuracy
from .config import Config
from .progress import Progress
from .selectors import Selection

SUMMED = {"summed": True}  # field metadata: the count is summed over the ranks


def _zero(device: torch.device | str = "cpu") -> torch.Tensor:
    return torch.zeros((), device=device)


@dataclass
class EpochStats:
    """The sums of one epoch (this rank's, until :meth:`reduce`).

    ``loss_sum``/``n_selected``/``correct``: the training pass's summed cross-entropy,
    number of samples and correct predictions.  ``selected_clean``/``selected_adv``: the
    selected samples by kind.  ``scored_correct``/``scored``: correct predictions and size
    of the scoring pass (DS's selection over the 2b'), from which eq. (9)'s training
    accuracy is read.  Times in seconds: attack, training (attack excluded, observers'
    time excluded), evaluation.
    """

    loss_sum: torch.Tensor = field(default_factory=_zero, metadata=SUMMED)
    n_selected: int = field(default=0, metadata=SUMMED)
    correct: torch.Tensor = field(default_factory=_zero, metadata=SUMMED)
    selected_clean: torch.Tensor = field(default_factory=_zero, metadata=SUMMED)
    selected_adv: torch.Tensor = field(default_factory=_zero, metadata=SUMMED)
    scored_correct: torch.Tensor = field(default_factory=_zero, metadata=SUMMED)
    scored: int = field(default=0, metadata=SUMMED)
    steps: int = 0
    time_attack_s: float = 0.0
    time_train_s: float = 0.0
    time_eval_s: float = 0.0

    @classmethod
    def start(cls, device: torch.device | str = "cpu") -> EpochStats:
        """Zero sums, the tensors on ``device``."""
        return cls(**{f.name: _zero(device) for f in fields(cls) if f.default_factory is _zero})

    def add_step(self, sel: Selection, logits: torch.Tensor, loss_sum: torch.Tensor, attack_s: float,
                 train_s: float) -> None:
        """Add one step: its selection ``sel``, the training pass's ``logits`` and summed loss, its times."""
        self.time_attack_s += attack_s
        self.time_train_s += train_s
        self.steps += 1
        self.loss_sum += loss_sum.detach()
        self.n_selected += len(sel.y)
        self.correct += (logits.detach().argmax(1) == sel.y).sum()
        self.selected_clean += sel.n_clean
        self.selected_adv += sel.n_adv
        if sel.correct is not None:
            self.scored_correct += sel.correct
            self.scored += sel.scored

    def reduce(self, all_reduce_sum: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """Sum the counts over the ranks with ``all_reduce_sum`` (one call, float64; types kept)."""
        summed = [f.name for f in fields(self) if f.metadata.get("summed")]
        vec = torch.tensor([float(getattr(self, k)) for k in summed], dtype=torch.float64)
        for k, v in zip(summed, all_reduce_sum(vec).tolist(), strict=True):
            old = getattr(self, k)
            setattr(self, k, torch.tensor(v, dtype=old.dtype, device=old.device) if isinstance(old, torch.Tensor)
                    else int(v))

    @property
    def train_loss(self) -> float:
        """Mean cross-entropy of the training pass over the selected samples."""
        return (self.loss_sum / max(self.n_selected, 1)).item()

    @property
    def train_acc(self) -> float:
        """Accuracy of the scoring pass over the 2b' when there was one, else of the training pass."""
        if self.scored:
            return (self.scored_correct / self.scored).item()
        return (self.correct / max(self.n_selected, 1)).item()

    def per_step(self, total: torch.Tensor) -> float:
        """``total`` (a count of the epoch) per step."""
        return total.item() / max(self.steps, 1)


def pass_totals(passes: Mapping[str, int]) -> dict[str, int]:
    """Forward and backward sample passes (attack + training) of the pass counters ``passes``."""
    return {"forward_passes": passes["attack_forward"] + passes["train_forward"],
            "backward_passes": passes["attack_backward"] + passes["train_backward"]}


def epoch_record(epoch: int, stats: EpochStats, accuracies: dict[str, float], p_up: float, lr: float,
                 passes: Mapping[str, int], train_time_s: float) -> dict[str, Any]:
    """The record of ``epoch`` (0-based): its accuracies, the P_up it trained with, its training loss and
    accuracy, selection, learning rate, the sample ``passes`` it made, and its times."""
    return {
        "epoch": epoch + 1, **accuracies, "p_up": p_up, "train_loss": stats.train_loss, "train_acc": stats.train_acc,
        "selected_clean": stats.per_step(stats.selected_clean), "selected_adv": stats.per_step(stats.selected_adv),
        "steps": stats.steps, "lr": lr, **passes, **pass_totals(passes),
        "time_attack_s": stats.time_attack_s, "time_train_s": stats.time_train_s,
        "time_eval_s": stats.time_eval_s, "train_time_s": train_time_s,
    }


def accuracies(model: nn.Module, x: torch.Tensor, y: torch.Tensor, c: Config, dist: ddp.Dist,
               autocast_dtype: torch.dtype | None, generator: torch.Generator,
               progress: Progress = False) -> tuple[float, float]:
    """Clean and PGD robust accuracy of ``model`` on ``x``, ``y`` under the evaluation attack of ``c``.

    ``progress``: the PGD evaluation's (:mod:`advsel.progress`; one process only).

    With several ranks every rank evaluates rank 0's model (its buffers broadcast) on its
    share of the samples and the counts are summed, giving the same floats as one process.
    """
    if not dist.enabled:
        clean = clean_accuracy(model, x, y)
        robust = robust_accuracy(model, x, y, eps=c.effective_eval_eps, alpha=c.effective_eval_alpha,
                                 steps=c.eval_steps, restarts=c.eval_restarts, autocast_dtype=autocast_dtype,
                                 generator=generator, progress=progress)
        return clean, robust
    dist.broadcast_buffers(model)
    counts = ddp.sharded_correct(model, x, y, dist.rank, dist.world_size, eps=c.effective_eval_eps,
                                 alpha=c.effective_eval_alpha, steps=c.eval_steps, restarts=c.eval_restarts,
                                 autocast_dtype=autocast_dtype, generator=generator)
    clean_n, robust_n = dist.all_reduce_sum(torch.tensor(counts, dtype=torch.float64)).long().tolist()
    n = len(y)
    # the same float as one process: clean as a float32 mean, robust as a Python division
    return (torch.tensor(float(clean_n)) / n).item(), robust_n / n


def format_epoch(r: dict[str, Any], epochs: int) -> str:
    """One line per epoch for the log."""
    val = f"val {r['val_clean_acc']:.4f}/{r['val_robust_acc']:.4f}  " if "val_clean_acc" in r else ""
    return (f"epoch {r['epoch']:>3}/{epochs}  clean {r['clean_acc']:.4f}  robust {r['robust_acc']:.4f}  {val}"
            f"loss {r['train_loss']:.4f}  P_up {r['p_up']:.3f}  sel clean/adv {r['selected_clean']:.1f}/"
            f"{r['selected_adv']:.1f}  time {r['time_s']:.1f}s (attack {r['time_attack_s']:.1f}, "
            f"train {r['time_train_s']:.1f}, eval {r['time_eval_s']:.1f})")
