"""Run a configured experiment with caching: the entry point of the CLI and the notebooks.

``run(config)`` returns the result dictionary, computing it only when the cache has no
complete result for this exact config.  A run that is interrupted resumes from its
per-epoch checkpoint the next time it is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import Config
from .data import TensorData, load
from .runs import atomic_write_json, checkpoint_path, load_result, result_path
from .trainer import Trainer

_DATA: dict[str, TensorData] = {}


def dataset(name: str) -> TensorData:
    """Load a data set once per process (from ``$ADVSEL_DATA``)."""
    if name not in _DATA:
        _DATA[name] = load(name)
    return _DATA[name]


def run(config: Config, cache_dir: str | os.PathLike[str] | None = None, *, force: bool = False,
        log: Callable[[str], None] | None = None, progress: bool | None = None,
        out: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The result of ``config``: from the cache if complete there, else trained now.

    ``force`` retrains even when a cached result exists.  ``out``: also write the result
    to this path (atomically).
    """
    path = result_path(config, cache_dir)
    result = None if force else load_result(path, config)
    if result is None:
        result = _train(config, cache_dir, log, progress)
        atomic_write_json(result, path)
        checkpoint_path(config, cache_dir).unlink(missing_ok=True)
    elif log:
        log(f"cached result {path}")
    if out is not None:
        atomic_write_json(result, Path(out))
    return result


def _train(config: Config, cache_dir: str | os.PathLike[str] | None, log: Callable[[str], None] | None,
           progress: bool | None) -> dict[str, Any]:
    trainer = Trainer(config, dataset(config.dataset), checkpoint=checkpoint_path(config, cache_dir), log=log,
                      progress=progress)
    return trainer.fit()
