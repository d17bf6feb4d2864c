"""Run a configured experiment with caching: the entry point of the CLI and the notebooks.

``run(config)`` returns the result dictionary, computing it only when the cache has no
complete result for this exact config trained by as many processes (:func:`processes`:
a ``torchrun`` run of N processes is cached apart from the one-process run).  A run that
is interrupted resumes from its per-epoch checkpoint the next time it is asked for.
Without a cache folder, runs go to the user's run cache
(:func:`advsel.runs.default_cache_dir`), never to the book's committed results.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed

from . import distributed as ddp
from .config import Config, ConfigError
from .data import TensorData, load
from .device import resolve_device
from .dong import stable_subset
from .evaluation import FinalEval, final_eval
from .methods import METHOD_PARAMS, REGISTRY
from .models import load_model
from .runs import (
    Processes,
    Result,
    WriteError,
    atomic_copy,
    atomic_write_json,
    checkpoint_path,
    load_result,
    model_path,
    result_path,
    unwritable_file,
    unwritable_folder,
)
from .trainer import Trainer

_DATA: dict[str, TensorData] = {}
# per-epoch counts summed into a Dong result's pre-training record, beside the pass totals
PRETRAIN_TOTALS = ("attack_forward", "attack_backward", "train_forward", "train_backward", "time_attack_s",
                   "time_train_s")


class MissingResultError(RuntimeError):
    """A result was required from the cache (ADVSEL_CACHED_ONLY=1) but is not there."""


def dataset(name: str, *, download: bool = False) -> TensorData:
    """Load a data set once per process (from ``$ADVSEL_DATA``; ``download``: let torchvision fetch
    it when missing there, the command line's ``--download``)."""
    if name not in _DATA:
        _DATA[name] = load(name, download=download)
    return _DATA[name]


def run(config: Config, cache_dir: str | os.PathLike[str] | None = None, *, force: bool = False,
        log: Callable[[str], None] | None = None, progress: bool | None = None,
        out: str | os.PathLike[str] | None = None, final: FinalEval | None = None,
        save_model: str | os.PathLike[str] | None = None) -> Result:
    """The result of ``config``: from the cache if complete there, else trained now.

    Every trained run keeps its final weights beside its result in the cache
    (:func:`advsel.runs.model_path`, loadable with :func:`advsel.models.load_model`), so a
    stronger evaluation can be run later.  ``final``: make sure the result holds a
    ``final_eval`` record made with these settings, computing it from the kept weights if
    needed (see :mod:`advsel.evaluation`).  ``save_model``: also copy the weights here
    (a cached result without kept weights is retrained for it).
    ``force`` retrains even when a cached result exists.  ``out``: also write the result
    to this path (atomically).  ``progress``: show the training's and the final evaluation's
    progress (:mod:`advsel.progress`).  With ``ADVSEL_CACHED_ONLY=1`` in the environment a
    missing result (or missing final evaluation, or missing weights for ``save_model``) raises
    :class:`MissingResultError`
    instead of computing it (the book build uses this so that it never trains by accident).
    Before training or evaluating, the cache folder, ``out`` and ``save_model`` are checked
    for writability (:func:`check_writable`); a write that fails later raises
    :class:`advsel.runs.WriteError` naming its file (:func:`kept` says what is left).
    """
    procs = processes()
    path, weights = result_path(config, cache_dir, procs), model_path(config, cache_dir, procs)
    result = None if force else load_result(path, config, procs)
    what = "is not in the run cache"
    stale = result is not None and final is not None and not _has_final(result, config, final)
    if (stale or save_model is not None) and result is not None and not weights.is_file():
        # a result without kept weights: retrain to evaluate or save it
        result, stale, what = None, False, f"has no kept weights ({weights.name})"
    if (result is None or stale) and os.environ.get("ADVSEL_CACHED_ONLY") == "1":
        what = what if result is None else "has no final evaluation with these settings"
        raise MissingResultError(f"{path} {what} and ADVSEL_CACHED_ONLY=1 forbids computing it "
                                 f"(method={config.method}, seed={config.seed}); `make book RERUN=1` computes "
                                 "every run of the book")
    check_writable(path.parent if result is None or stale else None, out=out, save_model=save_model)
    if result is None:
        trainer, result = _train(config, cache_dir, log, progress)
        if not trainer.dist.is_main:  # several processes (torchrun): every rank trains, rank 0 writes
            return result
        trainer.save_model(weights)
        if final is not None:
            result["final_eval"] = _final_eval(trainer.model, config, final, progress)
        atomic_write_json(result, path)
        checkpoint_path(config, cache_dir, procs).unlink(missing_ok=True)
    elif stale:
        model, _ = load_model(weights)
        result["final_eval"] = _final_eval(model, config, final, progress)
        atomic_write_json(result, path)
    elif log:
        log(f"cached result {path}")
    if save_model is not None:
        atomic_copy(weights, save_model)
    if out is not None:
        atomic_write_json(result, Path(out))
    return result


def processes() -> Processes:
    """The processes a run asked for now is trained by: one, or those of ``torchrun`` (``WORLD_SIZE``) or of
    a started process group, with the distributed options (:func:`advsel.distributed.options`)."""
    return Processes(ddp.world_size(), *ddp.options())


def check_writable(cache_folder: str | os.PathLike[str] | None, *, out: str | os.PathLike[str] | None = None,
                   save_model: str | os.PathLike[str] | None = None) -> None:
    """Raise :class:`advsel.runs.WriteError` for the first of the run cache folder (None: not written),
    ``out`` and ``save_model`` that cannot be written, before a run is trained or evaluated (not after,
    when its work would be lost); its ``argument`` names which."""
    checks = (("cache_dir", cache_folder, unwritable_folder), ("out", out, unwritable_file),
              ("save_model", save_model, lambda p: unwritable_file(p, "model.pt")))
    for argument, target, problem in checks:
        reason = None if target is None else problem(target)
        if reason is not None:
            raise WriteError(None, reason, str(target), argument=argument)


def kept(config: Config, cache_dir: str | os.PathLike[str] | None = None) -> str:
    """What the cache holds of ``config``'s run after a failure, naming only files that exist: its
    result, else its checkpoint (which the same call resumes from), else nothing."""
    procs = processes()
    path, ckpt_file = result_path(config, cache_dir, procs), checkpoint_path(config, cache_dir, procs)
    if path.is_file():
        return f"the result is in the run cache: {path}"
    if ckpt_file.is_file():
        return f"the run's last checkpoint is kept: {ckpt_file} (the same run resumes from it)"
    return "nothing of the run was kept"


def _has_final(result: Result, config: Config, final: FinalEval) -> bool:
    return final.matches(result.get("final_eval"), config.effective_eval_eps, config.effective_eval_alpha)


def _final_eval(model: torch.nn.Module, config: Config, final: FinalEval, progress: bool | None) -> dict[str, Any]:
    return final_eval(model, dataset(config.dataset), final, eps=config.effective_eval_eps,
                      alpha=config.effective_eval_alpha, device=resolve_device(config.device), progress=progress)


def _train(config: Config, cache_dir: str | os.PathLike[str] | None, log: Callable[[str], None] | None,
           progress: bool | None) -> tuple[Trainer, Result]:
    """Train ``config`` (doing Dong et al.'s pre-training first): the trainer (its model) and the result."""
    data = dataset(config.dataset)
    subset, pretrain = None, None
    if REGISTRY[config.method].pretrain is not None:  # Dong et al.: the subset of a pre-training run
        subset, pretrain = dong_subset(config, cache_dir, log, progress)
    trainer = Trainer(config, data, train_indices=subset, checkpoint=checkpoint_path(config, cache_dir, processes()),
                      log=log, progress=progress)
    result = trainer.fit()
    if pretrain is not None:
        result["pretrain"] = pretrain
    return trainer, result


def pretrain_config(config: Config) -> Config:
    """The run whose learning-stability counts choose Dong et al.'s subset (the registry's ``pretrain``).

    Same settings as the ``dong`` run, with the method-specific settings the pre-training
    method does not use reset to their defaults, so the same cached ``robust`` run serves
    both as the PGD-AT baseline and as Dong's pre-training whatever ``dong_keep`` is.
    """
    pre = REGISTRY[config.method].pretrain
    if pre is None:
        raise ConfigError(f"method={config.method!r} has no pre-training run; only "
                          f"{', '.join(m.name for m in REGISTRY.values() if m.pretrain)} have one",
                          param="method", value=config.method)
    unused = [p for p in METHOD_PARAMS if p not in REGISTRY[pre].params]
    return config.replace(method=pre, **{f: Config.__dataclass_fields__[f].default for f in unused})


def dong_subset(config: Config, cache_dir: str | os.PathLike[str] | None = None,
                log: Callable[[str], None] | None = None,
                progress: bool | None = None) -> tuple[torch.Tensor, dict[str, Any]]:
    """Dong et al.'s class-balanced most-stable subset, and the cost of finding it."""
    pre = run(pretrain_config(config), cache_dir, log=log, progress=progress)
    st = pre["stability"]
    indices, counts = torch.tensor(st["indices"]), torch.tensor(st["count_wrong"])
    # a sample missed by a dropped last batch was seen in fewer epochs: rank by the rate
    rate = counts.double() / torch.tensor(st["seen"]).clamp(min=1)
    labels = dataset(config.dataset).y_train[indices]
    subset = stable_subset(indices, labels, rate, keep=config.dong_keep, seed=config.seed)
    return subset, pretrain_cost(pre, len(subset))


def pretrain_cost(pre: dict[str, Any], subset_size: int) -> dict[str, Any]:
    """The record of a Dong et al. result's pre-training (its ``pretrain`` field): the run's key, its
    times, its sample passes in total and by kind, and its time by phase (:data:`PRETRAIN_TOTALS`), so
    that the cost of a Dong result can be read from the result alone."""
    def total(key: str) -> float:
        return sum(e[key] for e in pre["epochs"])
    return {"key": pre["key"], "train_time_s": pre["train_time_s"], "total_time_s": pre["total_time_s"],
            "forward_passes": total("forward_passes"), "backward_passes": total("backward_passes"),
            "subset_size": subset_size, **{k: total(k) for k in PRETRAIN_TOTALS}}
