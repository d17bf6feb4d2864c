"""Results on disk: atomic writes, a cache keyed by the run's config, checkpoints.

A run's result is a JSON file named after its method, dataset and config key.  It is
written to a temporary file in the same folder and moved into place, so a reader never
sees half a file; a file that does not parse or does not match its key is reported with
a warning and the run is recomputed.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

from .config import Config, config_from_dict

RESULT_SCHEMA = 1
Result = dict[str, Any]  # a run's result, as written to and read from its JSON file


def _umask() -> int:
    """The process's umask, read without changing it where the platform allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (not atomic with respect to other threads)
    os.umask(mask)
    return mask


def _atomic(path: Path, write: Any, mode: str) -> None:
    """Write through ``write(f)`` to a temporary file beside ``path``, then rename it into place.

    ``mkstemp`` creates the temporary file readable by its owner only (0600); it is given
    the mode an ordinary ``open()`` would give (``0o666 & ~umask``) before the rename, so
    result files are as readable by the group as any other file the user writes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (temp file + rename)."""
    _atomic(Path(path), lambda f: json.dump(obj, f, indent=1, sort_keys=False), "w")


def atomic_torch_save(obj: Any, path: str | os.PathLike[str]) -> None:
    """``torch.save`` to ``path`` atomically."""
    _atomic(Path(path), lambda f: torch.save(obj, f), "wb")


def atomic_copy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Copy the file ``src`` to ``dst`` atomically (creating ``dst``'s folder)."""
    data = Path(src).read_bytes()
    _atomic(Path(dst), lambda f: f.write(data), "wb")


def default_cache_dir() -> Path:
    """``$ADVSEL_RUNS`` if set, else ``results/runs`` under the working directory."""
    return Path(os.environ.get("ADVSEL_RUNS", "results/runs"))


def result_path(config: Config, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return cache / f"{config.dataset}-{config.method}-{config.key()}.json"


def model_path(config: Config, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where a run's final weights are kept, beside its result (see :func:`advsel.models.save_model`)."""
    return result_path(config, cache_dir).with_suffix(".model.pt")


def checkpoint_path(config: Config, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    return result_path(config, cache_dir).with_suffix(".ckpt.pt")


def load_result(path: str | os.PathLike[str], config: Config | None = None) -> Result | None:
    """The result at ``path`` if it is complete and (when given) matches ``config``.

    Returns None for a missing file; warns and returns None for a corrupt, partial or
    mismatched one, so the caller recomputes it.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        result = json.loads(path.read_text())
        ok = (result.get("complete") is True and result.get("schema") == RESULT_SCHEMA
              and isinstance(result.get("epochs"), list))
        cfg = config_from_dict(result["config"])
        if config is not None and cfg.key() != config.key():
            ok = False
    except Exception as e:  # noqa: BLE001 - any unreadable file is recomputed
        warnings.warn(f"result file {path} is unreadable ({type(e).__name__}: {e}); recomputing the run",
                      stacklevel=2)
        return None
    if not ok:
        warnings.warn(f"result file {path} is partial or does not match its config; recomputing the run",
                      stacklevel=2)
        return None
    return result
