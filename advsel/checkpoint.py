"""A run's checkpoint: everything an interrupted run needs to go on as if never stopped.

After every epoch the trainer writes the model, optimizer, scheduler, sampler and
observer states, the records so far, the pass counters, the current P_up and every
random generator (the trainer's own, torch's, Python's and CUDA's), so a resumed run
draws exactly what the uninterrupted one would and gives the same result bit for bit.
It also keeps the epochs after which the run was resumed (``resumed``, recorded in the
result), so a run resumed twice says so.
The file is read with ``torch.load(weights_only=True)``: every entry is a tensor or
plain Python data (Python's RNG state is stored as lists and ints for that reason).  A
checkpoint of another config, or written with other observers, is not resumed: the run
starts over with a warning, as it does for an unreadable file.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import torch

from .config import Config
from .distributed import Dist
from .runs import atomic_torch_save
from .samplers import Sampler


class Trainer(Protocol):
    """What a checkpoint saves and restores of a run (:class:`advsel.trainer.Trainer` has it all)."""

    config: Config
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    sampler: Sampler
    observers: Sequence[Any]
    epochs: list[dict[str, Any]]
    evals: list[dict[str, Any]]
    step: int
    train_time: float
    passes: dict[str, int]
    p_up: float
    resumed: list[int]
    aug_gen: torch.Generator
    sel_gen: torch.Generator
    device: torch.device
    checkpoint: Path | None
    dist: Dist
    log: Callable[[str], None] | None


def state(t: Trainer) -> dict[str, Any]:
    """The checkpoint of trainer ``t`` as it stands."""
    return {
        "key": t.config.key(), "model": t.model.state_dict(), "optimizer": t.optimizer.state_dict(),
        "scheduler": t.scheduler.state_dict(), "sampler": t.sampler.state_dict(),
        "observers": [o.state_dict() if hasattr(o, "state_dict") else None for o in t.observers],
        "observer_types": observer_types(t.observers),
        "epochs": t.epochs, "evals": t.evals, "step": t.step, "train_time": t.train_time,
        "passes": t.passes, "p_up": t.p_up, "resumed": t.resumed, "aug_gen": t.aug_gen.get_state(),
        "sel_gen": t.sel_gen.get_state(), "torch_rng": torch.get_rng_state(), "py_rng": python_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state(t.device) if t.device.type == "cuda" else None,
    }


def save(t: Trainer) -> None:
    """Write trainer ``t``'s checkpoint to its file atomically (a crash never leaves half a file); only
    rank 0 writes, every rank holding the same state."""
    if t.checkpoint is not None and t.dist.is_main:
        atomic_torch_save(state(t), t.checkpoint)


def read(path: Path, key: str, observers: Sequence[object], map_location: str | torch.device,
         stacklevel: int = 1) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it is usable for the run of config key ``key`` with ``observers``;
    None when there is none, and None with a warning when it is unusable (``stacklevel`` as
    :func:`warnings.warn`'s, counted from the caller)."""
    if not path.is_file():
        return None
    try:
        s = torch.load(path, map_location=map_location, weights_only=True)
        if s["key"] != key:
            raise ValueError("checkpoint belongs to another config")
        if s.get("observer_types") != observer_types(observers):
            raise ValueError(f"checkpoint was written with observers {s.get('observer_types')}, "
                             f"this run has {observer_types(observers)}")
    except Exception as e:  # noqa: BLE001 - a bad checkpoint means starting over, with a warning
        warnings.warn(f"checkpoint {path} is unusable ({e}); starting the run from scratch", stacklevel=stacklevel + 1)
        return None
    return s


def resume(t: Trainer) -> bool:
    """Restore trainer ``t`` from its checkpoint file if there is a usable one; True when resumed.

    With several ranks, rank 0 reads it (onto the CPU) and broadcasts it, so every rank
    resumes from the same state; only rank 0 writes checkpoints (:func:`save`).
    """
    if t.checkpoint is None:
        return False
    s = None
    if t.dist.is_main:
        s = read(t.checkpoint, t.config.key(), t.observers, map_location="cpu" if t.dist.enabled else t.device,
                 stacklevel=2)
    s = t.dist.broadcast_object(s)
    if s is None:
        return False
    restore(t, s)
    t.resumed = [*s.get("resumed", []), len(t.epochs)]  # older checkpoints lack the list
    if t.log:
        t.log(f"resumed from {t.checkpoint} after epoch {len(t.epochs)}")
    return True


def kept(t: Trainer) -> str:
    """What a run stopped now leaves to resume from, for its error message; it names only a file that exists."""
    if t.checkpoint is None:
        return "this run writes no checkpoint"
    if t.dist.is_main and t.checkpoint.is_file():
        return f"the checkpoint after epoch {len(t.epochs)} is kept at {t.checkpoint}"
    if t.dist.is_main:
        return "no checkpoint was written (the run stopped in its first epoch)"
    return "rank 0 keeps the last checkpoint"


def restore(t: Trainer, s: dict[str, Any]) -> None:
    """Put trainer ``t`` back into the state ``s`` (:func:`state`), every random generator included."""
    t.model.load_state_dict(s["model"])
    t.optimizer.load_state_dict(s["optimizer"])
    t.scheduler.load_state_dict(s["scheduler"])
    t.sampler.load_state_dict(on_cpu(s["sampler"]))  # samplers keep their state on the CPU
    for o, st in zip(t.observers, s["observers"], strict=True):
        if st is not None:
            o.load_state_dict(st)
    t.epochs, t.evals, t.step = s["epochs"], s["evals"], s["step"]
    t.train_time, t.passes, t.p_up = s["train_time"], s["passes"], s["p_up"]
    t.aug_gen.set_state(s["aug_gen"].cpu())
    t.sel_gen.set_state(s["sel_gen"].cpu())
    torch.set_rng_state(s["torch_rng"].cpu())
    set_python_rng_state(s["py_rng"])
    cuda_rng = s["cuda_rng"]
    if isinstance(cuda_rng, torch.Tensor) and t.device.type == "cuda":  # this run's device
        torch.cuda.set_rng_state(cuda_rng.cpu(), t.device)
    elif isinstance(cuda_rng, list) and torch.cuda.is_available():  # a list: one state per CUDA device
        torch.cuda.set_rng_state_all([c.cpu() for c in cuda_rng])


def observer_types(observers: Sequence[object]) -> list[str]:
    """The observers' class names, in order: a checkpoint is resumed only by a run with the same."""
    return [type(o).__name__ for o in observers]


def on_cpu(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` with its tensors moved to the CPU (the checkpoint is loaded onto the run's device)."""
    return {k: v.cpu() if isinstance(v, torch.Tensor) else v for k, v in state.items()}


def python_rng_state() -> list[Any]:
    """``random.getstate()`` as plain lists and ints, which ``torch.load(weights_only=True)`` reads back."""
    version, internal, gauss_next = random.getstate()
    return [version, list(internal), gauss_next]


def set_python_rng_state(state: Sequence[Any]) -> None:
    """Restore Python's RNG from :func:`python_rng_state`."""
    version, internal, gauss_next = state
    random.setstate((version, tuple(internal), gauss_next))
