"""Results on disk: atomic writes, a cache keyed by the run's config, checkpoints.

A run's result is a JSON file named after its method, dataset and config key (and, for a
run of several processes, their number: :class:`Processes`).  It is written to a
temporary file in the same folder and moved into place, so a reader never sees half a
file; a file that does not parse or does not match its key is reported with a warning
and the run is recomputed.  A write that fails raises :class:`WriteError` naming the
file it was meant for; :func:`unwritable_folder` and :func:`unwritable_file` find such a
failure before the work that would be lost to it.

The run cache of ad-hoc runs (:func:`default_cache_dir`) is ``$ADVSEL_RUNS``, else the
user's cache folder; the book's committed results in the repository's ``results/runs``
are read only by the book (:func:`advsel.repro.scope.book_runs`), never by default.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, NamedTuple

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


class WriteError(OSError):
    """A result, model or checkpoint file could not be written (disk full, no permission...), or would
    not be, as a check before the work found (:func:`advsel.experiments.check_writable`).

    ``filename`` is the file or folder that was to be written (never the temporary file
    beside it, which is removed), ``strerror`` what went wrong; ``argument`` names the
    argument of :func:`advsel.experiments.run` that gave the path (``cache_dir``, ``out``,
    ``save_model``) when the check found it before the work, and is None for a write that
    failed.
    """

    def __init__(self, *args: Any, argument: str | None = None) -> None:
        super().__init__(*args)
        self.argument = argument

    def __str__(self) -> str:
        before = " (found before the run started: nothing was done)" if self.argument is not None else ""
        return f"{self.filename}: {self.strerror}{before}"


def unwritable_folder(folder: str | os.PathLike[str]) -> str | None:
    """Why files cannot be written into ``folder`` (created as the writes here create it); None when they can.

    Tried, not inferred from permission bits (which the superuser, read-only mounts and
    ACLs make wrong): a temporary file is created and removed in the folder, or in its
    nearest existing parent when the folder does not exist yet.
    """
    folder = Path(folder).absolute()
    probe = folder
    while not os.path.lexists(probe) and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        return "is a file, not a folder" if probe == folder else f"cannot be created: {probe} is a file, not a folder"
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as e:
        what = f"is not writable ({e.strerror})"
        return what if probe == folder else f"cannot be created: {probe} {what}"
    return None


def unwritable_file(path: str | os.PathLike[str], example: str = "result.json") -> str | None:
    """Why the file ``path`` cannot be written: it is a folder (a file name such as ``example`` in it is
    suggested) or its folder is not writable (:func:`unwritable_folder`); None when it can."""
    if Path(path).is_dir() or str(path).endswith(("/", os.sep)):
        return f"is a folder; give a file name such as {Path(path) / example}"
    folder = Path(path).absolute().parent
    reason = unwritable_folder(folder)
    return None if reason is None else f"its folder {folder} {reason}"


def _atomic(path: Path, write: Any, mode: str) -> None:
    """Write through ``write(f)`` to a temporary file beside ``path``, then rename it into place.

    ``mkstemp`` creates the temporary file readable by its owner only (0600); it is given
    the mode an ordinary ``open()`` would give (``0o666 & ~umask``) before the rename, so
    result files are as readable by the group as any other file the user writes.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise WriteError(e.errno, f"could not be written ({e.strerror})", str(path)) from e
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):  # named after the file it was meant for, not the removed temporary one
            raise WriteError(e.errno, f"could not be written ({e.strerror})", str(path)) from e
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
    """The run cache of runs asked for without a folder: ``$ADVSEL_RUNS`` if set, else
    ``$XDG_CACHE_HOME/advsel/runs``, else ``~/.cache/advsel/runs``.

    Never the repository's ``results/runs``: an ad-hoc run must not land among the book's
    committed results, which the book reads explicitly.
    """
    runs = os.environ.get("ADVSEL_RUNS")
    if runs:
        return Path(runs)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"  # relative: invalid (XDG spec)
    return base / "advsel" / "runs"


class Processes(NamedTuple):
    """The processes that train a run (``torchrun``, :mod:`advsel.distributed`): their number and the
    distributed options, which change its result (BatchNorm statistics per rank, the selection)."""

    world_size: int = 1
    ds_selection: str = "global"
    sync_bn: bool = False

    def tag(self) -> str:
        """What a run file's name adds for these processes: nothing for one process (the names of the
        committed results), else ``-ws{N}`` and the options that differ from their defaults."""
        if self.world_size <= 1:
            return ""
        options = ("-rank" if self.ds_selection != "global" else "") + ("-syncbn" if self.sync_bn else "")
        return f"-ws{self.world_size}{options}"

    def matches(self, result: Result) -> bool:
        """Whether ``result`` was computed by such processes (a result without the fields: by one)."""
        if result.get("world_size", 1) != self.world_size:
            return False
        recorded = result.get("distributed") or {}
        return self.world_size <= 1 or (recorded.get("ds_selection"), recorded.get("sync_bn")) == (
            self.ds_selection, self.sync_bn)


ONE_PROCESS = Processes()


def result_path(config: Config, cache_dir: str | os.PathLike[str] | None = None,
                processes: Processes = ONE_PROCESS) -> Path:
    """The run's result file in the cache (:func:`default_cache_dir` without ``cache_dir``): named after its
    dataset, method, config key and, when several processes train it, :meth:`Processes.tag`."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return cache / f"{config.dataset}-{config.method}-{config.key()}{processes.tag()}.json"


def model_path(config: Config, cache_dir: str | os.PathLike[str] | None = None,
               processes: Processes = ONE_PROCESS) -> Path:
    """Where a run's final weights are kept, beside its result (see :func:`advsel.models.save_model`)."""
    return result_path(config, cache_dir, processes).with_suffix(".model.pt")


def checkpoint_path(config: Config, cache_dir: str | os.PathLike[str] | None = None,
                    processes: Processes = ONE_PROCESS) -> Path:
    return result_path(config, cache_dir, processes).with_suffix(".ckpt.pt")


def load_result(path: str | os.PathLike[str], config: Config | None = None,
                processes: Processes | None = None) -> Result | None:
    """The result at ``path`` if it is complete and (when given) matches ``config`` and was computed by
    ``processes`` (a file of the one-process name written by several processes before the name
    knew their number is not returned as the one-process run).

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
        other = processes is not None and not processes.matches(result)
    except Exception as e:  # noqa: BLE001 - any unreadable file is recomputed
        warnings.warn(f"result file {path} is unreadable ({type(e).__name__}: {e}); recomputing the run",
                      stacklevel=2)
        return None
    if not ok:
        warnings.warn(f"result file {path} is partial or does not match its config; recomputing the run",
                      stacklevel=2)
        return None
    if other:
        warnings.warn(f"result file {path} was computed by {result.get('world_size', 1)} process(es), this run has "
                      f"{processes.world_size} (with {processes.ds_selection!r} selection, sync_bn "
                      f"{processes.sync_bn}); recomputing the run", stacklevel=2)
        return None
    return result


# what a run measures about the machine it ran on rather than computes: wall times (``*_s``), the machine, the
# commit, where the data was read from, whether it resumed
MACHINE_FIELDS = frozenset({"hardware", "git_commit", "data_source", "resumed"})


def result_differences(a: Result, b: Result, path: str = "") -> list[str]:
    """Where two results of one config differ in what the run computed: losses, accuracies, pass counts,
    selections, P_up, final evaluations.  Wall times (keys ending in ``_s``) and :data:`MACHINE_FIELDS` are
    left out, so an empty list means the run was reproduced bit for bit (floats compared exactly).

    Each entry is ``path: a != b`` (``epochs[3].train_loss: 1.61 != 1.62``); a key or list length that
    only one side has is reported as such.
    """
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b), key=str):
            if k in MACHINE_FIELDS or str(k).endswith("_s"):
                continue
            where = f"{path}.{k}" if path else str(k)
            if k not in a or k not in b:
                out.append(f"{where}: only in the {'second' if k not in a else 'first'} result")
            else:
                out += result_differences(a[k], b[k], where)
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} entries != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in result_differences(x, y, f"{path}[{i}]")]
    return [] if a == b and type(a) is type(b) else [f"{path}: {a!r} != {b!r}"]
