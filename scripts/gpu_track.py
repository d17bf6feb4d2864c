"""Advance the GPU track: train its next runs, several processes sharing the GPU, within a time budget.

    python scripts/gpu_track.py --budget 540 --jobs 3     # on a machine with a CUDA GPU
    python scripts/gpu_track.py --status                  # anywhere: what is done, what a session would start
    python scripts/gpu_track.py --unpack ARCHIVE          # anywhere: results brought back from a device call

The queue (:meth:`advsel.repro.scope.Track.runs`) is fixed: seed 0 of the core families, then seeds 1 and 2,
then the later families, AutoAttack last.  The runs not yet in the run cache are started in that order while
their estimated end (:mod:`advsel.repro.track`'s cost model, scaled by the times of this session's finished
runs) stays within the budget; the first that would overrun it stops the starting, and the runs already
started finish.  Each run trains in a work folder (``--work-dir``: checkpoints per epoch, weights, never
committed) and its result JSON is then copied into the run cache, so a queue killed at any point loses no
finished run and resumes the others from their checkpoints.  With ``$OUT`` set (a device call), the results of
this session are packed into ``$OUT/gpu-track-results.tar.gz``, refreshed as each run finishes, and the per-run
times into ``$OUT/gpu-track-times.json``.  Without a CUDA GPU it exits with status 2, except ``--stand-in``
(a smoke-sized queue on the CPU, for tests).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from advsel import experiments
from advsel.repro import track as tr
from advsel.repro.scope import Track, TrackRun, gpu_track, stand_in_track
from advsel.runs import atomic_copy, atomic_write_json, default_cache_dir, result_path

WORK_DIR = ".gpu-work"  # the queue's own run cache: checkpoints and weights (ignored by git)
TIMES = "gpu-track-times.json"  # per-run times under $OUT


def _positive(kind: type) -> Callable[[str], float]:
    def read(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a{'n integer' if kind is int else ' number'}") \
                from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
        return value
    read.__name__ = kind.__name__
    return read


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python scripts/gpu_track.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", type=_positive(float), default=tr.BUDGET_S, metavar="SECONDS",
                   help=f"wall seconds in which every started run should end (default {tr.BUDGET_S}: a 10-minute "
                        "device call less installing and packing)")
    p.add_argument("--jobs", type=_positive(int), default=3, metavar="N",
                   help="runs at once, sharing the GPU (default 3: 1.36x the throughput of one)")
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="run cache the results go to (default $ADVSEL_RUNS or results/runs)")
    p.add_argument("--work-dir", type=Path, default=Path(WORK_DIR),
                   help=f"the queue's own cache: checkpoints and weights (default {WORK_DIR})")
    p.add_argument("--out", type=Path, default=Path(os.environ["OUT"]) if os.environ.get("OUT") else None,
                   help="folder for the archive of this session's results and the per-run times (default $OUT)")
    p.add_argument("--status", action="store_true", help="print what is done and what a session would start; train "
                                                         "nothing (no GPU needed)")
    p.add_argument("--unpack", type=Path, metavar="ARCHIVE",
                   help=f"copy the results of an archive ({tr.ARCHIVE}) into the run cache and exit (no GPU needed)")
    p.add_argument("--stand-in", action="store_true",
                   help="tests only: a smoke-sized queue (advsel.repro.scope.stand_in_track) that runs on the CPU")
    return p.parse_args(argv)


# ---------------------------------------------------------------------------- one run, in a worker process
def work(track: Track, run: TrackRun, work_dir: Path, cache_dir: Path, threads: int) -> float:
    """Train (or resume, or evaluate) ``run`` in ``work_dir`` and copy its result into ``cache_dir``: seconds taken."""
    import torch

    torch.set_num_threads(threads)
    t = time.perf_counter()
    config = track.config(run)
    experiments.run(config, work_dir, progress=False, final=track.final_of(run))
    atomic_copy(result_path(config, work_dir), result_path(config, cache_dir))
    return time.perf_counter() - t


# ---------------------------------------------------------------------------- the queue
@dataclass
class Queue:
    """Start the pending runs in order while they fit the budget, ``jobs`` at a time.

    ``submit(run)`` starts a run and returns its future (a process pool's in use; a thread pool's in tests),
    ``estimate(run)`` is its GPU seconds alone, ``clock`` the seconds since the queue began, ``log`` prints.
    """

    track: Track
    pending: list[TrackRun]
    budget: float
    jobs: int
    submit: Callable[[TrackRun], cf.Future[float]]
    estimate: Callable[[TrackRun], float]
    clock: Callable[[], float]
    log: Callable[[str], None] = print
    on_done: Callable[[TrackRun], None] = lambda run: None
    done: list[tuple[TrackRun, float, float]] = field(default_factory=list)  # (run, seconds, estimated seconds)
    failed: list[tuple[TrackRun, str]] = field(default_factory=list)
    stopped: TrackRun | None = None  # the first run that would have overrun the budget

    def factor(self) -> float:
        """Measured over estimated wall time of this session's finished runs (1 before any finishes)."""
        est = sum(e for _, _, e in self.done)
        return sum(s for _, s, _ in self.done) / est if est > 0 else 1.0

    def wall(self, run: TrackRun) -> float:
        """The estimated wall seconds of ``run`` with ``jobs`` runs sharing the GPU, scaled by :meth:`factor`."""
        return self.estimate(run) * self.jobs / tr.sharing(self.jobs)

    def blocked(self, run: TrackRun, running: Sequence[TrackRun]) -> bool:
        """Whether ``run`` must wait: a run it reads (its own training, Dong et al.'s pre-training) is running or
        still pending before it."""
        needs = {self.track.config(run).key()}
        config = self.track.config(run)
        if config.method == "dong":
            needs.add(experiments.pretrain_config(config).key())
        ahead = [*running, *(self.pending[:self.pending.index(run)] if run in self.pending else self.pending)]
        return any(self.track.config(r).key() in needs and r != run for r in ahead)

    def run(self) -> None:
        """Start, wait, start again, until nothing is pending or the budget stops the starting; the started runs
        always finish."""
        running: dict[cf.Future[float], tuple[TrackRun, float]] = {}
        while True:
            while self.stopped is None and len(running) < self.jobs:
                run = next((r for r in self.pending if not self.blocked(r, [x for x, _ in running.values()])), None)
                if run is None:
                    break
                wall, now = self.wall(run), self.clock()
                if now + wall * self.factor() > self.budget:
                    self.stopped = run
                    self.log(f"[{now:5.0f} s] not starting {run.name}: estimated {wall * self.factor():.0f} s "
                             f"would end at {now + wall * self.factor():.0f} s, past the budget of {self.budget:.0f} s")
                    break
                self.pending.remove(run)
                self.log(f"[{now:5.0f} s] start {run.name} (estimated {wall * self.factor():.0f} s)")
                running[self.submit(run)] = (run, wall)
            if not running:
                return
            finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                run, wall = running.pop(fut)
                try:
                    seconds = fut.result()
                except Exception as e:  # noqa: BLE001 - a failed run is reported, the others go on
                    self.failed.append((run, f"{type(e).__name__}: {e}"))
                    self.log(f"[{self.clock():5.0f} s] FAILED {run.name}: {type(e).__name__}: {e}")
                    continue
                self.done.append((run, seconds, wall))
                self.log(f"[{self.clock():5.0f} s] done {run.name} in {seconds:.0f} s (estimated {wall:.0f} s)")
                self.on_done(run)


# ---------------------------------------------------------------------------- the command
def summary(track: Track, cache_dir: Path, queue: Queue | None = None) -> str:
    """``GPU track: 12 of 42 runs done ...`` with what is left and, after a session, what it did."""
    k, n = tr.progress(track, cache_dir)
    left = tr.pending(track, cache_dir)
    lines = [f"GPU track: {k} of {n} runs done; left: {len(left)}"
             + (f", next: {', '.join(r.name for r in left[:5])}{' ...' if len(left) > 5 else ''}" if left else "")]
    if queue is not None:
        lines.insert(0, f"this session: {len(queue.done)} run(s) finished, {len(queue.failed)} failed"
                     + (f"; stopped before {queue.stopped.name} (budget)" if queue.stopped else ""))
    return "\n".join(lines)


def status(track: Track, cache_dir: Path, budget: float, jobs: int) -> str:
    """What is done, and which pending runs one session of ``budget`` seconds with ``jobs`` processes would start
    by the cost model (their GPU seconds alone, over what ``jobs`` processes sharing the GPU gain, within it)."""
    plan, alone = [], 0.0
    for run in tr.pending(track, cache_dir):
        est = tr.run_estimate_s(track, run)
        if (alone + est) / tr.sharing(jobs) > budget:
            break
        alone += est
        plan.append(f"  {run.name}: about {est:.0f} s alone on the GPU")
    return (summary(track, cache_dir) + f"\na session of {budget:.0f} s with {jobs} jobs would finish about "
            f"{len(plan)} run(s) ({alone / tr.sharing(jobs):.0f} s of GPU time by the cost model in "
            "advsel/repro/track.py):\n" + "\n".join(plan))


def refresh_outputs(out: Path, names: Sequence[Path], queue: Queue) -> None:
    """Pack this session's results into ``out`` and write the per-run times (both atomically)."""
    out.mkdir(parents=True, exist_ok=True)
    tr.pack(list(names), out / tr.ARCHIVE)
    atomic_write_json({"runs": [{"run": r.name, "seconds": round(s, 3), "estimated_s": round(e, 1)}
                                for r, s, e in queue.done],
                       "failed": [{"run": r.name, "error": e} for r, e in queue.failed], "jobs": queue.jobs,
                       "budget_s": queue.budget}, out / TIMES)


def seed_work_dir(track: Track, cache_dir: Path, work_dir: Path) -> None:
    """Copy the track's done results into the work folder, so that a run reading another (Dong et al.'s
    pre-training) finds it there instead of training it again."""
    for run in track.runs():
        src = result_path(track.config(run), cache_dir)
        dst = result_path(track.config(run), work_dir)
        if tr.track_result(track, run, cache_dir) is not None and not dst.is_file():
            atomic_copy(src, dst)


def main(argv: Sequence[str] | None = None) -> int:
    a = parse_args(argv)
    track = stand_in_track() if a.stand_in else gpu_track()
    cache = a.cache_dir or default_cache_dir()
    if a.unpack is not None:
        try:
            got = tr.unpack(a.unpack, cache)
        except tr.ArchiveError as e:
            print(f"gpu_track.py --unpack: {e}", file=sys.stderr)
            return 2
        print(f"unpacked {sum(map(len, got.values()))} results into {cache}: {len(got['new'])} new, "
              f"{len(got['updated'])} updated, {len(got['same'])} unchanged")
        print(summary(track, cache))
        return 0
    if a.status:
        print(status(track, cache, a.budget, a.jobs))
        return 0
    import torch

    if not a.stand_in and not torch.cuda.is_available():
        print("gpu_track.py: no CUDA GPU here (torch.cuda.is_available() is False); the GPU track trains ResNet-18 "
              "on all of CIFAR-10 and runs only on a machine with one. --status and --unpack work anywhere; see "
              "the README's GPU-track section for the device call.", file=sys.stderr)
        return 2
    start = time.monotonic()
    experiments.dataset(track.scope.dataset)  # decode the data once (kept in $ADVSEL_CACHE) before the workers read it
    seed_work_dir(track, cache, a.work_dir)
    pending = tr.pending(track, cache)
    print(summary(track, cache) + f"\nbudget {a.budget:.0f} s, {a.jobs} jobs; data ready after "
          f"{time.monotonic() - start:.0f} s", flush=True)
    threads = max(1, (os.cpu_count() or 2) // a.jobs)
    made: list[Path] = []
    with cf.ProcessPoolExecutor(a.jobs, mp_context=mp.get_context("spawn")) as pool:
        def on_done(run: TrackRun) -> None:
            made.append(result_path(track.config(run), cache))
            if a.out is not None:
                refresh_outputs(a.out, made, queue)

        def estimate(run: TrackRun) -> float:
            return tr.run_estimate_s(track, run, weights=tr.has_weights(track, run, a.work_dir))

        queue = Queue(track, pending, a.budget, a.jobs,
                      submit=lambda run: pool.submit(work, track, run, a.work_dir, cache, threads), estimate=estimate,
                      clock=lambda: time.monotonic() - start, log=lambda s: print(s, flush=True), on_done=on_done)
        queue.run()
    if a.out is not None:
        refresh_outputs(a.out, made, queue)
        print(f"archive: {a.out / tr.ARCHIVE} ({len(made)} result(s)); unpack it here with "
              f"`python scripts/gpu_track.py --unpack {tr.ARCHIVE}`")
    print(summary(track, cache, queue), flush=True)
    return 1 if queue.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
