"""The GPU track: the profile's budget arithmetic, the queue's order, budget stop and resume, the archive, the
refusal without a GPU, and what the book shows of it (advsel.repro.track, scripts/gpu_track.py)."""

from __future__ import annotations

import concurrent.futures as cf
import importlib.util
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
import torch
from PIL import Image

from advsel.config import make_config
from advsel.data import CIFAR10_CLASSES
from advsel.provenance import git_commit, own_checkout
from advsel.repro import claims, notebook, tables
from advsel.repro import track as tr
from advsel.repro.scope import GPU_CORE, GPU_LATER, Family, Scope, TrackRun, gpu_track, stand_in_track
from advsel.runs import atomic_write_json, result_path

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("gpu_track_script", REPO / "scripts" / "gpu_track.py")
gpu_track_script = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = gpu_track_script  # its dataclass looks its module up there
_spec.loader.exec_module(gpu_track_script)  # type: ignore[union-attr]


# ---------------------------------------------------------------------------- the profile and its arithmetic
def test_the_gpu_profile_is_the_papers_model_and_data_on_a_short_schedule() -> None:
    c = make_config("gpu", "cifar10")
    assert (c.model, c.train_size, c.augment, c.batch_size, c.amp, c.channels_last) == \
        ("resnet18", None, True, 256, True, True)
    assert (c.steps, c.alpha, c.eps, c.lr, c.lr_schedule, c.epochs) == (5, 2 / 255, 8 / 255, 0.1, "cosine", 8)


def test_the_step_cost_arithmetic_follows_the_measurements() -> None:
    """PGD-AT at PGD-5: 141.9 ms of attack at PGD-20 scaled to 5 steps, plus 12.4 ms of training; 195 steps an
    epoch of 50,000 images at b' = 256; the final PGD-20 x 2 on 10,000 images: 40 batches x 41 passes x 7.1 ms."""
    c = make_config("gpu", "cifar10", method="robust")
    assert tr.steps_per_epoch(c) == 195
    assert tr.step_ms(c) == pytest.approx(141.9 * 5 / 20 + 12.4)
    assert tr.evaluation_s(10_000, 20, 2) == pytest.approx(40 * 41 * 141.9 / 20 / 1000)
    assert tr.estimate_s(c, gpu_track().final) == pytest.approx(
        8 * (195 * (141.9 / 4 + 12.4) / 1000 + 4 * 11 * 7.095 / 1000) + 40 * 41 * 7.095 / 1000)


def test_one_session_finishes_the_first_eight_runs_within_the_budget() -> None:
    """The profile's sizing: the first 8 runs of the queue, with their final evaluation, at 3 processes sharing the
    GPU (1.36x), fit the queue's 540 s budget and so 10 minutes of GPU compute."""
    track = gpu_track()
    first = track.runs()[:tr.RUNS_PER_SESSION]
    seconds = tr.session_seconds(track, first, jobs=3)
    assert seconds <= tr.BUDGET_S <= 600
    # the margin is real, not slack: two more epochs would not fit 10 minutes
    longer = track.scope.replace(seeds=(0, 1, 2))
    ten = sum(tr.estimate_s(longer.configs(r.family)[r.seed].replace(epochs=10), track.final) for r in first) / 1.36
    assert ten > 600


def test_the_sharing_factor_is_the_measured_one_and_not_extrapolated() -> None:
    assert (tr.sharing(1), tr.sharing(2), tr.sharing(3), tr.sharing(8)) == (1.0, 1.33, 1.36, 1.36)


# ---------------------------------------------------------------------------- the queue's order
def test_the_queue_order_is_the_issues_priority() -> None:
    runs = gpu_track().runs()
    names = [r.name for r in runs]
    core = [f.name for f in GPU_CORE]
    assert core == ["standard", "robust", "ds:0.5", "warmup:0.5", "ds:1.0", "cat", "random"]
    assert names[:21] == [f"{f} seed {s}" for s in (0, 1, 2) for f in core]
    later = [r for r in runs[21:] if not r.autoattack]
    assert [r.family for r in later] == [f for f in GPU_LATER for _ in gpu_track().scope.seeds_of(f)]
    assert [r.family.name for r in later][-4:] == ["ds:0.25"] + ["ds:0.75"] * 3  # 0.25: seed 0; 0.75: every seed
    aa = runs[len(runs) - len(GPU_CORE):]
    assert all(r.autoattack and r.seed == 0 for r in aa) and [r.family for r in aa] == list(GPU_CORE)
    assert len(runs) == len({(gpu_track().config(r).key(), r.autoattack) for r in runs}) == 44


def test_every_run_is_evaluated_on_all_test_images_and_autoattack_is_added_for_seed_0_of_the_core() -> None:
    track = gpu_track()
    for r in track.runs():
        f = track.final_of(r)
        assert (f.n, f.steps, f.restarts) == (10_000, 20, 2)
        assert f.autoattack_n == (1000 if r.autoattack else 0)


def test_a_one_epoch_profile_lists_a_warm_up_equal_to_its_plain_family_once() -> None:
    track = stand_in_track()
    smoke = track.__class__(track.scope, (Family.ds(0.5), Family.warmup(0.5)), (), track.final, 0)
    assert [r.name for r in smoke.runs()] == ["ds:0.5 seed 0", "ds:0.5 seed 1"]


# ---------------------------------------------------------------------------- the queue's scheduling (no training)
class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def make_queue(pending: list[TrackRun], budget: float, jobs: int, seconds: float = 100.0, fail: str = "",
               estimate: float = 100.0):
    """A queue over ``pending`` of the stand-in track whose runs 'take' ``seconds`` on a fake clock."""
    clock, started, log = Clock(), [], []
    pool = cf.ThreadPoolExecutor(jobs)

    def submit(run: TrackRun) -> cf.Future[float]:
        started.append(run.name)

        def body() -> float:
            if run.name == fail:
                raise RuntimeError("boom")
            return seconds
        fut = pool.submit(body)
        fut.add_done_callback(lambda _: setattr(clock, "t", clock.t + seconds / jobs))
        return fut
    q = gpu_track_script.Queue(stand_in_track(), list(pending), budget, jobs, submit=submit,
                               estimate=lambda run: estimate * 1.0 / jobs * 1.0, clock=clock, log=log.append)
    return q, started, log


def test_the_queue_starts_runs_in_order_and_stops_starting_at_the_first_that_would_overrun_the_budget() -> None:
    runs = stand_in_track().runs()
    q, started, log = make_queue(runs, budget=250, jobs=1)
    q.run()
    assert started == [r.name for r in runs[:2]]
    assert q.stopped == runs[2] and [r for r, _, _ in q.done] == runs[:2]
    assert any(line.endswith("past the budget of 250 s") and "not starting ds:0.5 seed 0" in line for line in log)


def test_the_queue_runs_several_at_once_and_reports_a_failed_run_without_stopping() -> None:
    runs = stand_in_track().runs()[:4]
    q, started, log = make_queue(runs, budget=10_000, jobs=2, fail="robust seed 0")
    q.run()
    assert started == [r.name for r in runs]
    assert [r.name for r, _ in q.failed] == ["robust seed 0"]
    assert len(q.done) == 3 and any("FAILED robust seed 0: RuntimeError: boom" in line for line in log)


def test_the_queue_scales_its_estimates_by_the_times_of_finished_runs() -> None:
    runs = stand_in_track().runs()[:3]
    q, started, _ = make_queue(runs, budget=350, jobs=1, seconds=200, estimate=100)
    q.run()  # the first takes twice its estimate, so the second (200 s, ending at 400 s) is not started
    assert started == [runs[0].name] and q.factor() == pytest.approx(2.0)


def test_dong_waits_for_its_pre_training_run() -> None:
    track = stand_in_track()
    runs = track.runs()
    dong = next(r for r in runs if r.family.kind == "dong" and r.seed == 0)
    robust = next(r for r in runs if r.family.name == "robust" and r.seed == 0)
    q, _, _ = make_queue([robust, dong], budget=1e9, jobs=2)
    assert q.blocked(dong, [robust]) and q.blocked(dong, [])  # running, or pending ahead of it
    q.pending.remove(robust)
    assert not q.blocked(dong, [])
    aa = TrackRun(robust.family, 0, autoattack=True)
    assert q.blocked(aa, [robust])  # AutoAttack waits for its own run


# ---------------------------------------------------------------------------- the archive and the run cache
def fake_result(track, run: TrackRun, *, clean: float = 0.5, robust: float = 0.3) -> dict:
    """A result file of ``run`` as the queue would leave it (numbers made up for the test)."""
    c = track.config(run)
    f = track.final_of(run)
    record = {"n": f.n, "n_asked": f.n, "seed": f.seed, "clean_acc": clean, "robust_acc": robust,
              "attack": {"name": "pgd", "eps": c.effective_eval_eps, "alpha": c.effective_eval_alpha,
                         "steps": f.steps, "restarts": f.restarts}}
    if f.autoattack_n:
        record["autoattack"] = {"n": f.autoattack_n, "n_asked": f.autoattack_n, "version": "standard",
                                "robust_acc": robust - 0.02}
    epochs = [{"epoch": e + 1, "clean_acc": clean, "robust_acc": robust, "train_loss": 1.5, "p_up": c.p_up,
               "train_time_s": 10.0 * (e + 1), "time_s": 10.0} for e in range(c.epochs)]
    return {"schema": 1, "complete": True, "config": c.to_dict(), "key": c.key(), "epochs": epochs,
            "final_eval": record, "train_time_s": 10.0 * c.epochs, "total_time_s": 11.0 * c.epochs,
            "test_size": c.test_size, "train_size": 50_000, "git_commit": "abc", "advsel_version": "0.1.0",
            "device": "cuda", "hardware": {"cuda_device": "NVIDIA H200"}, "data_source": "test"}


def write(track, run: TrackRun, cache: Path, **kw) -> Path:
    path = result_path(track.config(run), cache)
    atomic_write_json(fake_result(track, run, **kw), path)
    return path


def test_a_run_is_done_with_the_tracks_final_evaluation_only(tmp_path: Path) -> None:
    track = gpu_track()
    first = track.runs()[0]
    assert tr.progress(track, tmp_path) == (0, 44)
    path = write(track, first, tmp_path)
    assert tr.track_result(track, first, tmp_path) is not None and tr.progress(track, tmp_path) == (1, 44)
    assert tr.pending(track, tmp_path)[0] == track.runs()[1]
    aa = TrackRun(first.family, 0, autoattack=True)
    assert tr.track_result(track, aa, tmp_path) is None  # no AutoAttack yet
    write(track, aa, tmp_path)
    assert tr.track_result(track, aa, tmp_path) is not None and tr.track_result(track, first, tmp_path) is not None
    r = json.loads(path.read_text())
    r["final_eval"]["n_asked"] = 2000  # another final evaluation: not the track's
    atomic_write_json(r, path)
    assert tr.track_result(track, first, tmp_path) is None


def test_the_archive_round_trip_keeps_every_result(tmp_path: Path) -> None:
    track = gpu_track()
    device, here = tmp_path / "device", tmp_path / "here"
    paths = [write(track, r, device) for r in track.runs()[:3]]
    tr.pack(paths, tmp_path / tr.ARCHIVE)
    got = tr.unpack(tmp_path / tr.ARCHIVE, here)
    assert got == {"new": sorted(p.name for p in paths), "updated": [], "same": []}
    assert all((here / p.name).read_bytes() == p.read_bytes() for p in paths)
    assert tr.progress(track, here) == (3, 44)
    assert tr.unpack(tmp_path / tr.ARCHIVE, here)["same"] == sorted(p.name for p in paths)


@pytest.mark.parametrize("member", ["../evil.json", "notes.txt"])
def test_unpack_refuses_an_archive_with_anything_but_result_files(tmp_path: Path, member: str) -> None:
    archive = tmp_path / "a.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = b"{}"
        info = tarfile.TarInfo(member)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(tr.ArchiveError, match="is not a result file"):
        tr.unpack(archive, tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_unpack_refuses_a_result_whose_name_is_not_its_key(tmp_path: Path) -> None:
    track = gpu_track()
    path = write(track, track.runs()[0], tmp_path / "d")
    renamed = path.with_name(path.name.replace(path.name[-21:-5], "0" * 16))
    path.rename(renamed)
    tr.pack([renamed], tmp_path / tr.ARCHIVE)
    with pytest.raises(tr.ArchiveError, match="another key"):
        tr.unpack(tmp_path / tr.ARCHIVE, tmp_path / "cache")


def test_the_unpack_command_reports_what_it_did(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    track = gpu_track()
    tr.pack([write(track, track.runs()[0], tmp_path / "d")], tmp_path / tr.ARCHIVE)
    assert gpu_track_script.main(["--unpack", str(tmp_path / tr.ARCHIVE), "--cache-dir", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "unpacked 1 results into" in out and "1 new, 0 updated, 0 unchanged" in out
    assert "GPU track: 1 of 44 runs done; left: 43, next: robust seed 0" in out
    (tmp_path / "bad.tar.gz").write_bytes(b"not an archive")
    assert gpu_track_script.main(["--unpack", str(tmp_path / "bad.tar.gz")]) == 2
    assert "is not a gzipped tar archive" in capsys.readouterr().err


def test_the_status_command_needs_no_gpu_and_shows_the_plan(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert gpu_track_script.main(["--status", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "GPU track: 0 of 44 runs done; left: 44, next: standard seed 0, robust seed 0" in out
    assert "a session of 540 s with 3 jobs would finish about 8 run(s)" in out


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without a GPU")
def test_the_queue_refuses_without_a_gpu(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gpu_track_script.main(["--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no CUDA GPU here (torch.cuda.is_available() is False)" in err and "--status and --unpack" in err
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------------------- the book's view
def test_each_cifar10_page_gets_one_line_until_the_track_has_runs(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVSEL_RUNS", str(tmp_path))
    page_scope = Scope("smoke", "cifar10", seeds=(0, 1))
    items = notebook.gpu_track_items(page_scope, {"robust (PGD-AT)": []})
    assert len(items) == 1
    assert items[0].startswith("**GPU track** (ResNet-18, all 50,000 CIFAR-10 training images with crop + flip, "
                               "b' = 256, 8 epochs of PGD-5 training, lr 0.1 cosine; final evaluation PGD-20 x 2 on "
                               "10,000 test images): no runs yet, 0 of 44 runs done; computed by "
                               "`python scripts/gpu_track.py --budget 540 --jobs 3`")
    assert tr.ledger_column(claims.CLAIMS[:3]) == ["no runs"] * 3


def test_a_page_shows_the_gpu_runs_of_its_own_families(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVSEL_RUNS", str(tmp_path))
    track, page_scope = gpu_track(), Scope("cpu", "cifar10")
    robust = next(r for r in track.runs() if r.family.name == "robust" and r.seed == 0)
    write(track, robust, tmp_path, clean=0.7, robust=0.4)
    cpu = {"robust (PGD-AT)": [{"config": c.to_dict()} for c in page_scope.configs(Family.method("robust"))],
           "standard": [{"config": c.to_dict()} for c in page_scope.configs(Family.method("standard"))]}
    found = tr.page_results(cpu, page_scope, track)
    assert list(found) == ["robust (PGD-AT)"] and len(found["robust (PGD-AT)"]) == 1
    items = notebook.gpu_track_items(page_scope, cpu)
    assert "incomplete, 1 of 44 runs done" in items[0] and len(items) == 3
    assert items[2].loc["robust (PGD-AT)", ("robust_acc", "mean")] == pytest.approx(40.0)


def test_the_ledger_column_gives_a_verdict_once_a_claims_runs_are_done(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVSEL_RUNS", str(tmp_path))
    track = gpu_track()
    claim = next(c for c in claims.CLAIMS if c.id == "new-ds-warmup-clean")
    mnist = next(c for c in claims.CLAIMS if c.dataset == "mnist")
    write(track, track.runs()[0], tmp_path)
    waiting, other = tr.ledger_column([claim, mnist], track)
    assert waiting == "1 of 44 runs done" and other == "not on the GPU track"
    for r in track.runs():
        if r.family in (Family.warmup(0.5), Family.method("robust")) and not r.autoattack:
            write(track, r, tmp_path, clean=(0.75 if r.family.kind == "warmup" else 0.7) + 0.01 * r.seed)
    v = tr.ledger_column([claim], track)[0]
    assert not isinstance(v, str) and v.verdict in ("reproduced", "not reproduced", "inconclusive")
    df = tables.ledger_table([(claim, v), (mnist, v)], gpu=[v, "not on the GPU track"])
    assert list(df.columns) == ["paper", "item", "claim", "page", "verdict", tables.GPU_COLUMN, "numbers"]
    assert df[tables.GPU_COLUMN][1] == "not on the GPU track" and "<span" in df[tables.GPU_COLUMN][0]


# ---------------------------------------------------------------------------- the queue end to end (stand-in, CPU)
def cifar_zip(folder: Path, per_class_train: int = 20, per_class_test: int = 10) -> None:
    """A tiny CIFAR-10 in the layout of cifar10-jpeg.zip (train/<class>/N.jpg, test/<class>/N.jpg)."""
    g = torch.Generator().manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / "cifar10-jpeg.zip", "w") as zf:
        for split, n in (("train", per_class_train), ("test", per_class_test)):
            for k, name in enumerate(CIFAR10_CLASSES):
                for i in range(n):
                    x = (torch.rand(32, 32, 3, generator=g) * 100 + 15 * k).clamp(0, 255).to(torch.uint8)
                    buf = io.BytesIO()
                    Image.fromarray(x.numpy()).save(buf, format="JPEG")
                    zf.writestr(f"{split}/{name}/{i}.jpg", buf.getvalue())


@pytest.fixture
def queue_env(tmp_path: Path) -> dict[str, str]:
    cifar_zip(tmp_path / "data")
    env = {**os.environ, "ADVSEL_GIT_COMMIT": "0123456789abcdef-staged", "ADVSEL_DATA": str(tmp_path / "data"),
           "ADVSEL_CACHE": str(tmp_path / "cache"),
           "ADVSEL_RUNS": str(tmp_path / "runs"), "PYTHONPATH": str(REPO), "OUT": str(tmp_path / "out"),
           "PYTHONHASHSEED": "0"}
    return env


def queue_cmd(*args: str) -> list[str]:
    return [sys.executable, str(REPO / "scripts" / "gpu_track.py"), "--stand-in", *args]


@pytest.mark.slow
def test_the_stand_in_queue_survives_a_kill_and_resumes_the_rest(tmp_path: Path, queue_env: dict[str, str]) -> None:
    runs = tmp_path / "runs"
    proc = subprocess.Popen(queue_cmd("--jobs", "1", "--budget", "100000"), cwd=tmp_path, env=queue_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    while not list(runs.glob("*.json")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.kill()  # killed mid-queue: no clean-up of any kind
    proc.wait()
    first = {p.name: p.read_bytes() for p in runs.glob("*.json")}
    assert first, "no run finished before the kill"
    track = stand_in_track()
    assert 1 <= tr.progress(track, runs)[0] < len(track.runs())
    out = subprocess.run(queue_cmd("--jobs", "2", "--budget", "100000"), cwd=tmp_path, env=queue_env,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    assert tr.progress(track, runs) == (11, 11)
    assert "GPU track: 11 of 11 runs done; left: 0" in out.stdout
    kept = {p.name: p.read_bytes() for p in runs.glob("*.json") if p.name in first}
    aa_families = {track.config(r).key() for r in track.runs() if r.autoattack}
    for name, data in first.items():  # a finished run is never trained again (AutoAttack may be added to it)
        if not any(k in name for k in aa_families):
            assert kept[name] == data
    for r in track.runs():
        result = tr.track_result(track, r, runs)
        # the staged commit, unless these tests run in advsel's own checkout, whose commit wins
        # (advsel.provenance.git_commit; tests/test_provenance.py covers a copy without .git)
        staged = "0123456789abcdef-staged"
        assert result is not None and result["git_commit"] == (git_commit() if own_checkout() else staged)
        if r.autoattack:
            assert result["final_eval"]["autoattack"]["n_asked"] == 10
    assert not list(runs.glob("*.model.pt")), "weights stay in the work folder, never in the run cache"
    # the archive under $OUT holds this session's results and unpacks into another cache as they are
    here = tmp_path / "here"
    got = tr.unpack(tmp_path / "out" / tr.ARCHIVE, here)
    assert got["new"] and all((here / n).read_bytes() == (runs / n).read_bytes() for n in got["new"])
    times = json.loads((tmp_path / "out" / gpu_track_script.TIMES).read_text())
    # a worker the kill orphaned may have finished its run in the work folder: resuming it then takes ~0 s
    names = {r.name for r in track.runs()}
    assert times["jobs"] == 2 and times["runs"] and times["failed"] == []
    assert all(t["run"] in names and t["seconds"] >= 0 for t in times["runs"])
    assert any(t["seconds"] > 0.5 for t in times["runs"]), "no run of the second session trained"
    again = subprocess.run(queue_cmd(), cwd=tmp_path, env=queue_env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "this session: 0 run(s) finished" in again.stdout
