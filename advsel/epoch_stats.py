"""What one epoch of training measured, summed over its steps and over the ranks.

The trainer adds every step's selection, loss and phase times to an :class:`EpochStats`;
at the end of the epoch the counts are summed over the ranks (one all-reduce) and turned
into the epoch record's training loss and accuracy, the mean number of clean and
adversarial samples selected per step, and the phase times.  The counts stay device
tensors during the epoch, so no step waits for the GPU to report them.
:func:`format_epoch` is the epoch's line in the log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import torch

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


def format_epoch(r: dict[str, Any], epochs: int) -> str:
    """One line per epoch for the log."""
    val = f"val {r['val_clean_acc']:.4f}/{r['val_robust_acc']:.4f}  " if "val_clean_acc" in r else ""
    return (f"epoch {r['epoch']:>3}/{epochs}  clean {r['clean_acc']:.4f}  robust {r['robust_acc']:.4f}  {val}"
            f"loss {r['train_loss']:.4f}  P_up {r['p_up']:.3f}  sel clean/adv {r['selected_clean']:.1f}/"
            f"{r['selected_adv']:.1f}  time {r['time_s']:.1f}s (attack {r['time_attack_s']:.1f}, "
            f"train {r['time_train_s']:.1f}, eval {r['time_eval_s']:.1f})")
