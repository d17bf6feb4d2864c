"""P_up, the share of the 2b' clean + adversarial samples that DS backpropagates, and its rules.

A method that selects a share (``backprop`` ``top`` or ``random``) names one rule in its
registry entry (:data:`advsel.methods.REGISTRY`); the trainer asks the rule for P_up at
the start of a run, at the start of every epoch and after every epoch, and never asks
which rule it holds.  The rules: :data:`NONE` (no share is selected; P_up is recorded
as 1), :data:`FIXED` (``Config.p_up``, after ``Config.p_up_warmup_epochs`` epochs at 1)
and :data:`EQ9` (DS's eq. (9): from 1, multiplied by the error of the driving accuracy
after every epoch, down to ``Config.p_up_floor``).  The size of the selection set S
that a P_up gives, :func:`n_selected`, lives here too, so the rounding that turns a
share into a count is written once.  Nothing heavy is imported: the method registry,
which the CLI reads to explain itself, holds these rules.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol


class Settings(Protocol):
    """The parameters a P_up rule reads, read-only (:class:`advsel.config.Config` has them all)."""

    @property
    def p_up(self) -> float: ...
    @property
    def p_up_warmup_epochs(self) -> int: ...
    @property
    def p_up_floor(self) -> float: ...
    @property
    def adaptive_accuracy(self) -> str: ...


def n_selected(p_up: float, n: int) -> int:
    """round(P_up * n), at least 1: the size of the selection set S."""
    if not 0 < p_up <= 1:
        raise ValueError(f"p_up={p_up!r} is not allowed; P_up must be in (0, 1]")
    return max(1, int(math.floor(p_up * n + 0.5)))


def adaptive_p_up(previous: float, accuracy: float, floor: float) -> float:
    """Eq. (9) of DS with a floor: P_up(t) = max(floor, (1 - acc(t-1)) * P_up(t-1)).

    As written in the paper P_up only decreases and would reach 0; ``floor`` in [0, 1]
    keeps it usable (``floor = 0`` is the paper's equation, clipped to (0, 1] only
    because an empty selection cannot train).  Raises ValueError naming the argument when
    ``previous`` is outside (0, 1] or ``accuracy``/``floor`` outside [0, 1].
    """
    if not 0 < previous <= 1:
        raise ValueError(f"p_up={previous!r} is not allowed; the previous P_up must be in (0, 1]")
    if not 0 <= accuracy <= 1:
        raise ValueError(f"accuracy={accuracy!r} is not allowed; it must be in [0, 1]")
    if not 0 <= floor <= 1:
        raise ValueError(f"p_up_floor={floor!r} is not allowed; it must be in [0, 1]")
    return max(floor, (1 - accuracy) * previous, 1e-6)


class PUpRule:
    """How P_up evolves over a run; this base rule is the one of methods that select no share.

    ``name`` is the registry's word for the rule, ``text`` its wording in the method
    tables, ``params`` the Config parameters it reads.  P_up is 1 throughout (recorded
    in every epoch record, used by no selection).
    """

    name = "none"
    text = "—"
    params: tuple[str, ...] = ()

    def start(self, config: Settings) -> float:
        """P_up before the first epoch."""
        return 1.0

    def for_epoch(self, epoch: int, current: float, config: Settings) -> float:
        """P_up of ``epoch`` (0-based), given the value after the previous epoch."""
        return current

    def after_epoch(self, current: float, record: Mapping[str, Any], config: Settings) -> float:
        """P_up after an epoch, from that epoch's record (its accuracies)."""
        return current

    def __repr__(self) -> str:
        return f"<P_up rule {self.name!r}>"


class FixedPUp(PUpRule):
    """``Config.p_up`` in every epoch, after ``Config.p_up_warmup_epochs`` epochs at P_up = 1.

    Why the warm-up: DS at a small P_up (0.1, 0.25; 0.5 in epochs 1-3 on CIFAR-10) can
    collapse to a constant predictor (accuracy at chance, loss ln C): from a random model
    the top-P_up losses are dominated by one kind of sample and the first updates push
    every input to one class.  A few epochs on all 2b' samples give the selection a model
    worth trusting.
    """

    name = "fixed"
    text = "fixed (after an optional warm-up at 1)"
    params = ("p_up", "p_up_warmup_epochs")

    def start(self, config: Settings) -> float:
        return self.for_epoch(0, 1.0, config)

    def for_epoch(self, epoch: int, current: float, config: Settings) -> float:
        return 1.0 if epoch < config.p_up_warmup_epochs else config.p_up


class AdaptivePUp(PUpRule):
    """DS's eq. (9): 1 in the first epoch, then :func:`adaptive_p_up` after every epoch.

    The driving accuracy is ``Config.adaptive_accuracy``: the epoch's training accuracy
    (``train``: of the scoring pass over the 2b'), or the validation split's clean or
    robust accuracy, never the test subset's.  No warm-up: eq. (9) already starts from 1
    and raises nothing, so ``p_up_warmup_epochs`` is not one of its parameters.
    """

    name = "eq9"
    text = "eq. (9) per epoch, from 1"
    params = ("p_up_floor", "adaptive_accuracy")

    def after_epoch(self, current: float, record: Mapping[str, Any], config: Settings) -> float:
        return adaptive_p_up(current, record[driving_accuracy(config.adaptive_accuracy)], config.p_up_floor)


def driving_accuracy(adaptive_accuracy: str) -> str:
    """The key of the epoch record that eq. (9) reads under ``Config.adaptive_accuracy``."""
    return "train_acc" if adaptive_accuracy == "train" else f"val_{adaptive_accuracy}_acc"


NONE = PUpRule()
FIXED = FixedPUp()
EQ9 = AdaptivePUp()
RULES: dict[str, PUpRule] = {rule.name: rule for rule in (NONE, FIXED, EQ9)}
