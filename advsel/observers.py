"""Who watches a run: the observers' hooks, on which rank they act, and why their time is not training's.

Observers measure what the papers' figures need without changing training: DS Fig. 8's
and CAT Fig. 1's probes (:mod:`advsel.analysis`, asked for by the config), Dong et al.'s
stability tracker (:mod:`advsel.dong`, in a run that is another method's pre-training)
and any a caller passes.  Each may implement ``before_update`` (after the attack and the
selection, before the training pass: the model that chose the samples), ``on_step``
(after the update) and ``on_epoch_end`` (may add keys to the epoch record).  The
trainer charges their time to no phase, and randomness they need comes from the
trainer's ``eval_generator``, never the training generators, so a run with or without
them trains bit for bit the same.  With several ranks every rank holds the same
observers (one checkpoint fits all); the config's probes act on rank 0 only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import torch

from .analysis import MinEpsProbe, SimilarityProbe
from .config import Config
from .selectors import Selection


class Observer(Protocol):
    """Something that watches training (trackers, probes); optional hooks."""

    def on_step(self, trainer: Any, idx: torch.Tensor, sel: Selection, x: torch.Tensor,
                x_adv: torch.Tensor | None, y: torch.Tensor, logits_adv: torch.Tensor | None) -> None: ...

    def on_epoch_end(self, trainer: Any, record: dict[str, Any]) -> None: ...

    def before_update(self, trainer: Any, idx: torch.Tensor, sel: Selection, x: torch.Tensor,
                      x_adv: torch.Tensor | None, y: torch.Tensor) -> None: ...


def config_probes(c: Config) -> list[Observer]:
    """The probes the config asks for: DS Fig. 8's minimum eps, CAT Fig. 1's similarity."""
    probes: list[Observer] = []
    if c.min_eps_probe:
        probes.append(MinEpsProbe(c.min_eps_probe))
    if c.similarity_probe:
        probes.append(SimilarityProbe(c.similarity_probe, seed=c.seed))
    return probes


class Observers:
    """A run's observers in order (the caller's, then the tracker, then the config's probes); iterating
    gives them all, the hooks call those that act on this rank."""

    def __init__(self, given: Sequence[Observer], tracker: Observer | None, probes: Sequence[Observer],
                 is_main: bool) -> None:
        self.all: list[Observer] = [*given, *([tracker] if tracker is not None else []), *probes]
        self.idle = set() if is_main else {id(o) for o in probes}

    def __iter__(self) -> Iterator[Observer]:
        return iter(self.all)

    def __len__(self) -> int:
        return len(self.all)

    def hooks(self, name: str) -> list[Callable[..., None]]:
        """The hook ``name`` of every observer that has it and acts on this rank."""
        return [getattr(o, name) for o in self.all if hasattr(o, name) and id(o) not in self.idle]

    def before_update(self, clock: Callable[[], float], *args: Any) -> float:
        """Call the ``before_update`` hooks; the seconds they took by ``clock`` (not training cost)."""
        hooks = self.hooks("before_update")
        if not hooks:
            return 0.0
        t = clock()
        for hook in hooks:
            hook(*args)
        return clock() - t

    def on_step(self, *args: Any) -> None:
        for hook in self.hooks("on_step"):
            hook(*args)

    def on_epoch_end(self, *args: Any) -> None:
        for hook in self.hooks("on_epoch_end"):
            hook(*args)
