"""The GPU track: what its runs cost, which are done, and how the book and the queue read them.

The track (:func:`~advsel.repro.scope.gpu_track`) is the papers' model and data at the ``gpu`` profile,
computed a lent GPU session at a time by ``python scripts/gpu_track.py``.  This module holds what the
queue and the book share:

- the cost model (:func:`estimate_s`): seconds of one process alone on the GPU, from the measurements
  on an H200 (``../shared/measurements/README.md``), and what several processes sharing the GPU gain
  (:data:`SHARING`); :func:`session_seconds` turns a list of runs into the GPU time of a session;
- which runs are done (:func:`track_result`, :func:`progress`): a result in the run cache with the
  track's final evaluation;
- the book's view (:func:`status_line`, :func:`page_results`, :func:`ledger_column`): a line on every
  CIFAR-10 page, the GPU runs of the page's families, one ledger column;
- the archive a device call brings back (:func:`pack`, :func:`unpack`): result JSON only, never weights.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import tarfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import Config, config_from_dict
from ..evaluation import FinalEval
from ..runs import Result, atomic_write_json, default_cache_dir, load_result, model_path, result_path
from .scope import Family, Scope, Track, TrackRun, gpu_track

QUEUE_COMMAND = "python scripts/gpu_track.py --budget 540 --jobs 3"  # what advances the track (see the README)
BUDGET_S = 540  # the queue's budget in one device call: 10 minutes less a minute for installing and packing
RUNS_PER_SESSION = 8  # the profile is sized so that one session's budget finishes at least this many runs

# ---------------------------------------------------------------------------- the cost model
# ms per optimizer step at b' = 256 with PGD-20, ResNet-18, bf16 + channels-last, one process alone on an H200:
# (attack, training), measured with advsel at commit c46c42a (../shared/measurements/gpu-h200-2026-12-04, item 2)
MEASURED_STEPS, MEASURED_BATCH = 20, 256
STEP_MS: dict[str, tuple[float, float]] = {"standard": (0.0, 14.6), "robust": (141.9, 12.4), "ds": (161.3, 19.8),
                                           "cat": (172.7, 14.7), "prescreen": (169.4, 12.9)}
COSTS_LIKE = {"random": "ds", "ds-adaptive": "ds", "cat-uniform": "cat", "ds-cat": "cat", "dong": "robust"}
PASS_MS = STEP_MS["robust"][0] / MEASURED_STEPS  # one PGD step (forward + backward of 256 samples): 7.1 ms
# throughput of k processes sharing the GPU, relative to one alone (item 4: 1.33 for two, 1.36 for three; more
# processes were not measured and are counted as three)
SHARING = {1: 1.0, 2: 1.33, 3: 1.36}
# AutoAttack (standard) seconds per test sample alone on the GPU: an assumption (AutoAttack's cost was not
# measured), replaced by the queue's measured times once runs of the session finish
AUTOATTACK_S_PER_SAMPLE = 0.08


TRAIN_IMAGES = {"cifar10": 50_000, "mnist": 60_000}


def sharing(jobs: int) -> float:
    """The throughput of ``jobs`` processes sharing the GPU, relative to one alone (:data:`SHARING`)."""
    return SHARING[min(max(jobs, 1), max(SHARING))]


def steps_per_epoch(c: Config) -> int:
    """Optimizer steps per epoch: the training images (less a validation split) over b', the last part dropped;
    Dong et al. at ``dong_steps="pgd-at"`` take as many as PGD-AT, at ``epochs`` its kept share of them."""
    n = (c.train_size or TRAIN_IMAGES[c.dataset]) - c.validation_size
    if c.method == "dong" and c.dong_steps == "epochs":
        n = int(n * c.dong_keep)
    return max(1, n // c.batch_size)


def step_ms(c: Config) -> float:
    """One optimizer step of ``c`` alone on the GPU: the measured attack time scaled with the PGD steps, plus
    the measured training time, both scaled with b' (linear: the measurements are at b' = 256 only)."""
    attack, train = STEP_MS[COSTS_LIKE.get(c.method, c.method)]
    return (attack * c.steps / MEASURED_STEPS + train) * c.batch_size / MEASURED_BATCH


def evaluation_s(samples: int, steps: int, restarts: int) -> float:
    """A PGD evaluation of ``samples`` test images: clean pass plus ``steps`` x ``restarts`` PGD steps per batch
    of 256, at :data:`PASS_MS` a step."""
    return math.ceil(samples / MEASURED_BATCH) * (steps * restarts + 1) * PASS_MS / 1000


def estimate_s(c: Config, final: FinalEval, *, train: bool = True) -> float:
    """Seconds of GPU time (one process alone) for training ``c`` with its per-epoch evaluation (``train``) and
    its ``final`` evaluation (PGD and, when asked, AutoAttack)."""
    total = final_eval_s(final)
    if train:
        total += c.epochs * (steps_per_epoch(c) * step_ms(c) / 1000
                             + evaluation_s(c.test_size, c.eval_steps, c.eval_restarts))
    return total


def final_eval_s(final: FinalEval) -> float:
    """Seconds of GPU time alone for a final evaluation (PGD on ``n``, AutoAttack on ``autoattack_n``)."""
    return evaluation_s(final.n, final.steps, final.restarts) + final.autoattack_n * AUTOATTACK_S_PER_SAMPLE


def run_estimate_s(track: Track, run: TrackRun, *, weights: bool = False) -> float:
    """GPU seconds alone for one queue item: its training and final evaluation, or, for an AutoAttack item whose
    run's weights are at hand (``weights``), its final evaluation only."""
    return estimate_s(track.config(run), track.final_of(run), train=not (run.autoattack and weights))


def session_seconds(track: Track, runs: Sequence[TrackRun], jobs: int) -> float:
    """GPU seconds for ``runs`` with ``jobs`` processes sharing the GPU: their time alone over :func:`sharing`."""
    return sum(run_estimate_s(track, r) for r in runs) / sharing(jobs)


# ---------------------------------------------------------------------------- what is done
def _cache(cache_dir: str | os.PathLike[str] | None) -> Path:
    return Path(cache_dir) if cache_dir is not None else default_cache_dir()


def track_result(track: Track, run: TrackRun, cache_dir: str | os.PathLike[str] | None = None) -> Result | None:
    """The result of ``run`` in the run cache when it is done: complete, with the track's final evaluation
    (for an AutoAttack item: with AutoAttack; for a training item: with or without), else None."""
    c = track.config(run)
    path = result_path(c, _cache(cache_dir))
    result = load_result(path, c) if path.is_file() else None
    if result is None:
        return None
    finals = [track.final_of(run)] if run.autoattack else [track.final_of(run), track.final_of(_with_aa(run))]
    record = result.get("final_eval")
    ok = any(f.matches(record, c.effective_eval_eps, c.effective_eval_alpha) for f in finals)
    return result if ok else None


def _with_aa(run: TrackRun) -> TrackRun:
    return TrackRun(run.family, run.seed, autoattack=True)


def progress(track: Track, cache_dir: str | os.PathLike[str] | None = None) -> tuple[int, int]:
    """(done, total) queue items of ``track``."""
    runs = track.runs()
    return sum(track_result(track, r, cache_dir) is not None for r in runs), len(runs)


def pending(track: Track, cache_dir: str | os.PathLike[str] | None = None) -> list[TrackRun]:
    """The queue items not yet done, in the queue's order."""
    return [r for r in track.runs() if track_result(track, r, cache_dir) is None]


def has_weights(track: Track, run: TrackRun, work_dir: str | os.PathLike[str]) -> bool:
    """Whether the weights of ``run`` are in ``work_dir`` (the queue's cache): an AutoAttack item then only
    evaluates."""
    return model_path(track.config(run), work_dir).is_file()


# ---------------------------------------------------------------------------- the book's view
def setting(track: Track) -> str:
    """The track's setting in words: ``ResNet-18, all 50,000 CIFAR-10 training images with crop + flip, ...``."""
    c = track.scope.base()
    model = {"resnet18": "ResNet-18", "preact-resnet18": "PreAct ResNet-18"}.get(c.model, c.model)
    images = f"all {TRAIN_IMAGES[c.dataset]:,}" if c.train_size is None else f"{c.train_size:,}"
    data = "CIFAR-10" if c.dataset == "cifar10" else "MNIST"
    aug = " with crop + flip" if c.augment else ""
    return (f"{model}, {images} {data} training images{aug}, b' = {c.batch_size}, {c.epochs} epochs of "
            f"PGD-{c.steps} training, lr {c.lr:g} {c.lr_schedule}")


def status_line(track: Track | None = None, cache_dir: str | os.PathLike[str] | None = None) -> str:
    """The line each CIFAR-10 page shows about the GPU track: its setting, ``k of n runs done`` and the command
    that advances it."""
    track = track or gpu_track()
    k, n = progress(track, cache_dir)
    state = "no runs yet" if k == 0 else "complete" if k == n else "incomplete"
    return (f"**GPU track** ({setting(track)}; final evaluation PGD-{track.final.steps} x {track.final.restarts} "
            f"on {track.final.n:,} test images): {state}, {k} of {n} runs done; computed by `{QUEUE_COMMAND}` on a "
            "machine with a GPU (see the README).")


def page_results(runs: Mapping[str, Sequence[Result]], page_scope: Scope, track: Track | None = None,
                 cache_dir: str | os.PathLike[str] | None = None) -> dict[str, list[Result]]:
    """The GPU-track results of the families a page shows: {label: done results}, for each label of ``runs``
    whose results are the runs of a track family in ``page_scope`` (the page's CPU track), labels without a
    done GPU run left out."""
    track = track or gpu_track()
    by_key: dict[str, Family] = {}
    families = list(dict.fromkeys(r.family for r in track.runs()))
    for f in families:
        for c in page_scope.configs(f):
            by_key.setdefault(c.key(), f)
    out: dict[str, list[Result]] = {}
    for label, rs in runs.items():
        fams = {by_key.get(config_from_dict(r["config"]).key()) for r in rs}
        if len(fams) != 1 or (f := fams.pop()) is None:
            continue
        done = [r for s in track.scope.seeds_of(f)
                if (r := track_result(track, TrackRun(f, s), cache_dir)) is not None]
        if done:
            out[label] = done
    return out


class MissingTrackRun(LookupError):
    """A run the GPU track has not computed yet (or that is not on the track)."""

    def __init__(self, config: Config) -> None:
        super().__init__(f"no GPU-track result for {config.method} seed {config.seed} (key {config.key()})")
        self.config = config


def loader(track: Track, cache_dir: str | os.PathLike[str] | None = None) -> Callable[[Config], Result]:
    """A :class:`Scope` loader that reads the track's done runs and raises :class:`MissingTrackRun` for any
    other (it never trains)."""
    by_key = {track.config(r).key(): r for r in track.runs() if not r.autoattack}

    def load(c: Config) -> Result:
        run = by_key.get(c.key())
        result = track_result(track, run, cache_dir) if run is not None else None
        if result is None:
            raise MissingTrackRun(c)
        return result
    return load


def ledger_column(claims: Sequence[Any], track: Track | None = None,
                  cache_dir: str | os.PathLike[str] | None = None) -> list[Any]:
    """The ledger's GPU-track cell of each claim: ``no runs`` while the track has none; the claim's verdict on the
    track's runs once all it reads are done; else ``k of n runs done`` (or ``not on the GPU track`` for a claim
    about another data set or about runs the track does not make)."""
    track = track or gpu_track()
    k, n = progress(track, cache_dir)
    if k == 0:
        return ["no runs"] * len(claims)
    scope = track.scope.replace(loader=loader(track, cache_dir))
    keys = {track.config(r).key() for r in track.runs()}
    cells: list[Any] = []
    for claim in claims:
        if claim.dataset != track.scope.dataset:
            cells.append("not on the GPU track")
            continue
        try:
            cells.append(claim.run(scope))
        except MissingTrackRun as e:
            cells.append(f"{k} of {n} runs done" if e.config.key() in keys else "not on the GPU track")
    return cells


# ---------------------------------------------------------------------------- the archive a device call brings back
ARCHIVE = "gpu-track-results.tar.gz"  # its name under $OUT
_RESULT_NAME = re.compile(r"^(mnist|cifar10)-[a-z0-9-]+-[0-9a-f]{16}\.json$")


class ArchiveError(ValueError):
    """An archive that is not a GPU-track result archive; the message says what is wrong."""


def pack(paths: Sequence[Path], archive: Path) -> None:
    """Write the result files ``paths`` into the gzipped tar ``archive`` (atomically: a reader never sees half)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for p in sorted(set(paths), key=lambda p: p.name):
            tar.add(p, arcname=p.name)
    data = buf.getvalue()
    tmp = archive.with_name(f".{archive.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, archive)


def unpack(archive: Path, cache_dir: str | os.PathLike[str] | None = None) -> dict[str, list[str]]:
    """Copy the results in ``archive`` into the run cache: {"new": names, "updated": names, "same": names}.

    Only complete result files named as the run cache names them (``cifar10-ds-<key>.json``) whose config has
    that key are taken; anything else (a path, a link, a partial result) raises :class:`ArchiveError` before
    anything is written.
    """
    cache = _cache(cache_dir)
    try:
        tar = tarfile.open(archive, mode="r:gz")
    except (OSError, tarfile.TarError) as e:
        raise ArchiveError(f"{archive} is not a gzipped tar archive ({e})") from None
    results: dict[str, Result] = {}
    with tar:
        for m in tar.getmembers():
            if not (m.isfile() and _RESULT_NAME.match(m.name)):
                raise ArchiveError(f"{archive}: member {m.name!r} is not a result file (cifar10-<method>-<key>.json)")
            f = tar.extractfile(m)
            try:
                result = json.loads(f.read() if f is not None else b"")
                config = config_from_dict(result["config"])
            except (ValueError, KeyError, TypeError) as e:
                raise ArchiveError(f"{archive}: {m.name} is not a result ({type(e).__name__}: {e})") from None
            if m.name != result_path(config, Path()).name or result.get("complete") is not True:
                raise ArchiveError(f"{archive}: {m.name} is partial or its config has another key")
            results[m.name] = result
    done: dict[str, list[str]] = {"new": [], "updated": [], "same": []}
    for name, result in sorted(results.items()):
        target = cache / name
        before = json.loads(target.read_text()) if target.is_file() else None
        done["new" if before is None else "same" if before == result else "updated"].append(name)
        if before != result:
            atomic_write_json(result, target)
    return done
