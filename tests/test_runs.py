"""The runs cache: atomic writes, reuse of complete results, recomputation of corrupt ones."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
import torch

from advsel import experiments
from advsel import runs as runs_module
from advsel.data import TensorData
from advsel.runs import (
    RESULT_SCHEMA,
    Processes,
    WriteError,
    atomic_copy,
    atomic_torch_save,
    atomic_write_json,
    checkpoint_path,
    default_cache_dir,
    load_result,
    model_path,
    result_path,
    unwritable_file,
    unwritable_folder,
)
from advsel.trainer import Trainer


@pytest.fixture
def count_fits(monkeypatch: pytest.MonkeyPatch) -> list[Trainer]:
    """Every Trainer.fit call of the test, recorded (the real fit still runs)."""
    calls: list[Trainer] = []
    real_fit = Trainer.fit

    def fit(self: Trainer) -> dict[str, Any]:
        calls.append(self)
        return real_fit(self)

    monkeypatch.setattr(Trainer, "fit", fit)
    return calls


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ------------------------------------------------------------------ atomic files


def test_atomic_write_json_round_trips_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "r.json"
    atomic_write_json({"a": [1, 2.5], "b": None}, path)
    assert json.loads(path.read_text()) == {"a": [1, 2.5], "b": None}
    atomic_write_json({"a": 3}, path)
    assert json.loads(path.read_text()) == {"a": 3}
    assert leftovers(path.parent) == []


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    atomic_write_json({"ok": True}, path)
    with pytest.raises(TypeError):
        atomic_write_json({"bad": object()}, path)  # fails half-way through serialising
    assert json.loads(path.read_text()) == {"ok": True}
    assert leftovers(tmp_path) == []


def test_atomic_torch_save(tmp_path: Path) -> None:
    path = tmp_path / "t.pt"
    atomic_torch_save({"x": torch.arange(3)}, path)
    assert torch.equal(torch.load(path)["x"], torch.arange(3))
    assert leftovers(tmp_path) == []


# ------------------------------------------------------------------ paths and load_result


def test_result_and_checkpoint_paths(smoke_config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = smoke_config(method="ds")
    assert result_path(c, tmp_path) == tmp_path / f"mnist-ds-{c.key()}.json"
    assert checkpoint_path(c, tmp_path) == tmp_path / f"mnist-ds-{c.key()}.ckpt.pt"
    assert result_path(c, tmp_path) != result_path(c.replace(p_up=0.3), tmp_path)
    monkeypatch.setenv("ADVSEL_RUNS", str(tmp_path / "env"))
    assert default_cache_dir() == tmp_path / "env"
    assert result_path(c).parent == tmp_path / "env"
    monkeypatch.delenv("ADVSEL_RUNS")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "advsel" / "runs"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # not absolute: ignored, as the XDG spec says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "advsel" / "runs"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "advsel" / "runs"


def test_ad_hoc_runs_never_land_in_the_working_folders_results(synthetic_experiments: TensorData, smoke_config,
                                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ADVSEL_RUNS")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cfg = smoke_config()
    experiments.run(cfg, progress=False)
    assert result_path(cfg).parent == tmp_path / "xdg" / "advsel" / "runs" and result_path(cfg).is_file()
    assert not (tmp_path / "results").exists()


def test_several_processes_get_files_of_their_own(smoke_config, tmp_path: Path) -> None:
    """One process keeps the committed results' names; N processes (and their options) are another run."""
    c = smoke_config(method="ds")
    assert Processes().tag() == "" and result_path(c, tmp_path, Processes()) == result_path(c, tmp_path)
    assert result_path(c, tmp_path, Processes(2)) == tmp_path / f"mnist-ds-{c.key()}-ws2.json"
    ckpt = checkpoint_path(c, tmp_path, Processes(4, "rank", True))
    assert ckpt.name == f"mnist-ds-{c.key()}-ws4-rank-syncbn.ckpt.pt"
    assert model_path(c, tmp_path, Processes(2)).name == f"mnist-ds-{c.key()}-ws2.model.pt"
    assert Processes(1, "rank", True).tag() == "", "the options change nothing in one process"


def test_a_result_of_another_process_count_is_not_returned(smoke_config, tmp_path: Path) -> None:
    """A file of the one-process name written by torchrun before names knew the process count is recomputed."""
    c = smoke_config(method="ds")
    path = tmp_path / "r.json"
    two = _fake_result(c, world_size=2, distributed={"ds_selection": "global", "sync_bn": False})
    atomic_write_json(two, path)
    with pytest.warns(UserWarning, match=r"was computed by 2 process\(es\), this run has 1 .*recomputing"):
        assert load_result(path, c, Processes()) is None
    assert load_result(path, c, Processes(2)) == two
    with pytest.warns(UserWarning, match="computed by 2"):
        assert load_result(path, c, Processes(2, "rank")) is None
    atomic_write_json(_fake_result(c), path)  # an older result without world_size: one process
    assert load_result(path, c, Processes()) == _fake_result(c)


def test_unwritable_folders_and_files_are_found_before_the_work(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "f").write_text("x")
    assert unwritable_folder(tmp_path) is None and unwritable_folder(tmp_path / "new" / "deeper") is None
    assert not (tmp_path / "new").exists(), "checking creates nothing"
    assert unwritable_folder(tmp_path / "f") == "is a file, not a folder"
    assert unwritable_folder(tmp_path / "f" / "g") == f"cannot be created: {tmp_path}/f is a file, not a folder"
    assert unwritable_file(tmp_path / "r.json") is None
    assert unwritable_file(tmp_path) == f"is a folder; give a file name such as {tmp_path}/result.json"
    assert unwritable_file(tmp_path / "f" / "r.json") == f"its folder {tmp_path}/f is a file, not a folder"

    def read_only(**kwargs: Any) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(runs_module.tempfile, "TemporaryFile", read_only)  # what a read-only mount does
    assert unwritable_folder(tmp_path) == "is not writable (Read-only file system)"
    assert unwritable_folder(tmp_path / "new") == f"cannot be created: {tmp_path} is not writable (Read-only file " \
                                                  "system)"
    assert unwritable_file(tmp_path / "r.json") == f"its folder {tmp_path} is not writable (Read-only file system)"


class _DiskFull:
    """Pickling it fails as a full disk does while torch.save writes."""

    def __reduce__(self) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_failed_write_names_the_file_it_was_for_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "m.pt"
    with pytest.raises(WriteError) as e:
        atomic_torch_save({"x": _DiskFull()}, path)
    assert str(e.value) == f"{path}: could not be written (No space left on device)" and e.value.argument is None
    assert e.value.errno == errno.ENOSPC and not path.exists() and leftovers(tmp_path) == []
    (tmp_path / "f").write_text("x")
    with pytest.raises(WriteError, match=f"{tmp_path}/f/r.json: could not be written"):
        atomic_write_json({}, tmp_path / "f" / "r.json")


def test_run_checks_its_outputs_before_training(synthetic_experiments: TensorData, smoke_config, tmp_path: Path,
                                                count_fits: list[Trainer]) -> None:
    (tmp_path / "f").write_text("x")
    for kwargs, argument in ((dict(cache_dir=tmp_path / "f"), "cache_dir"), (dict(out=tmp_path), "out"),
                             (dict(save_model=tmp_path / "f" / "m.pt"), "save_model")):
        with pytest.raises(WriteError) as e:
            experiments.run(smoke_config(), **{"cache_dir": tmp_path / "runs", **kwargs})
        assert e.value.argument == argument and "nothing was done" in str(e.value)
    assert count_fits == []


def _fake_result(config, **changes: Any) -> dict[str, Any]:
    return {"schema": RESULT_SCHEMA, "complete": True, "config": config.to_dict(), "epochs": [], **changes}


def test_load_result_accepts_only_complete_matching_results(smoke_config, tmp_path: Path) -> None:
    c = smoke_config(method="ds")
    path = tmp_path / "r.json"
    assert load_result(path, c) is None  # missing: no warning
    atomic_write_json(_fake_result(c), path)
    assert load_result(path, c) == _fake_result(c)
    for bad in (dict(complete=False), dict(schema=RESULT_SCHEMA + 1), dict(epochs=None)):
        atomic_write_json(_fake_result(c, **bad), path)
        with pytest.warns(UserWarning, match="partial or does not match"):
            assert load_result(path, c) is None
    atomic_write_json(_fake_result(c), path)
    with pytest.warns(UserWarning, match="does not match its config"):
        assert load_result(path, c.replace(seed=3)) is None


@pytest.mark.parametrize("content", ["", "{\"schema\": 1, \"complete\": tr", "[1, 2]", "{\"complete\": true}"])
def test_load_result_warns_on_unreadable_files(content: str, smoke_config, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.warns(UserWarning, match=rf"result file {path} is unreadable .*recomputing"):
        assert load_result(path, smoke_config()) is None


# ------------------------------------------------------------------ experiments.run


def test_run_writes_the_result_and_reuses_it(synthetic_experiments: TensorData, smoke_config, tmp_path: Path,
                                            count_fits: list[Trainer]) -> None:
    cfg = smoke_config(method="ds", p_up=0.5)
    cache = tmp_path / "runs"
    lines: list[str] = []
    first = experiments.run(cfg, cache, progress=False)
    path = result_path(cfg, cache)
    assert len(count_fits) == 1
    assert json.loads(path.read_text()) == json.loads(json.dumps(first))
    assert first["complete"] and first["key"] == cfg.key() and first["data_source"] == synthetic_experiments.source
    assert not checkpoint_path(cfg, cache).exists(), "the checkpoint goes once the result is written"
    assert leftovers(cache) == []
    mtime = path.stat().st_mtime_ns

    second = experiments.run(cfg, cache, progress=False, log=lines.append)
    assert len(count_fits) == 1, "not trained again"
    assert second == json.loads(path.read_text())
    assert second["epochs"] == json.loads(json.dumps(first["epochs"]))
    assert path.stat().st_mtime_ns == mtime
    assert lines == [f"cached result {path}"]

    other = experiments.run(cfg.replace(p_up=0.25), cache, progress=False)
    assert len(count_fits) == 2 and other["config"]["p_up"] == 0.25
    assert len(list(cache.glob("*.json"))) == 2


def test_force_retrains(synthetic_experiments: TensorData, smoke_config, tmp_path: Path,
                        count_fits: list[Trainer]) -> None:
    cfg = smoke_config(method="standard")
    experiments.run(cfg, tmp_path, progress=False)
    experiments.run(cfg, tmp_path, progress=False, force=True)
    assert len(count_fits) == 2


def test_run_save_model_copies_the_kept_weights(synthetic_experiments: TensorData, smoke_config, tmp_path: Path,
                                                count_fits: list[Trainer], monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = smoke_config(method="standard")
    cache = tmp_path / "runs"
    experiments.run(cfg, cache, progress=False, save_model=tmp_path / "a" / "m.pt")
    kept = model_path(cfg, cache)
    assert (tmp_path / "a" / "m.pt").read_bytes() == kept.read_bytes() and len(count_fits) == 1
    experiments.run(cfg, cache, progress=False, save_model=tmp_path / "b.pt")
    assert (tmp_path / "b.pt").read_bytes() == kept.read_bytes() and len(count_fits) == 1, "from the cache"
    kept.unlink()  # a result cached without its weights
    monkeypatch.setenv("ADVSEL_CACHED_ONLY", "1")
    with pytest.raises(experiments.MissingResultError, match=r"has no kept weights"):
        experiments.run(cfg, cache, progress=False, save_model=tmp_path / "c.pt")
    monkeypatch.delenv("ADVSEL_CACHED_ONLY")
    experiments.run(cfg, cache, progress=False, save_model=tmp_path / "c.pt")
    assert len(count_fits) == 2 and (tmp_path / "c.pt").read_bytes() == kept.read_bytes(), "retrained for the weights"
    experiments.run(cfg, cache, progress=False)
    assert len(count_fits) == 2


def test_unused_parameters_share_the_cached_run(synthetic_experiments: TensorData, smoke_config, tmp_path: Path,
                                               count_fits: list[Trainer]) -> None:
    """Config.key() normalises parameters the method does not read: one cache entry, one training."""
    experiments.run(smoke_config(method="cat"), tmp_path, progress=False)
    experiments.run(smoke_config(method="cat", p_up=0.3, dong_keep=0.2, milestones=(0.1,)), tmp_path, progress=False)
    assert len(count_fits) == 1 and len(list(tmp_path.glob("*.json"))) == 1
    experiments.run(smoke_config(method="cat", cat_alpha=0.2), tmp_path, progress=False)
    assert len(count_fits) == 2


def test_run_uses_advsel_runs_by_default(synthetic_experiments: TensorData, smoke_config, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVSEL_RUNS", str(tmp_path / "env-runs"))
    cfg = smoke_config(method="standard")
    experiments.run(cfg, progress=False)
    assert (tmp_path / "env-runs" / result_path(cfg, ".").name).is_file()


def test_run_also_writes_out(synthetic_experiments: TensorData, smoke_config, tmp_path: Path) -> None:
    cfg = smoke_config(method="standard")
    result = experiments.run(cfg, tmp_path / "runs", progress=False, out=tmp_path / "copy" / "run.json")
    assert json.loads((tmp_path / "copy" / "run.json").read_text()) == json.loads(json.dumps(result))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "incomplete"])
def test_corrupt_result_is_recomputed_with_a_warning(damage: str, synthetic_experiments: TensorData, smoke_config,
                                                     tmp_path: Path, count_fits: list[Trainer]) -> None:
    cfg = smoke_config(method="robust")
    first = experiments.run(cfg, tmp_path, progress=False)
    path = result_path(cfg, tmp_path)
    text = path.read_text()
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff not json")
    else:
        path.write_text(json.dumps({**json.loads(text), "complete": False}))
    with pytest.warns(UserWarning, match=str(path)):
        again = experiments.run(cfg, tmp_path, progress=False)
    assert len(count_fits) == 2, "recomputed"
    assert json.loads(path.read_text()) == json.loads(json.dumps(again))
    assert [r["clean_acc"] for r in again["epochs"]] == [r["clean_acc"] for r in first["epochs"]]


def test_interrupted_run_resumes_from_its_checkpoint(synthetic_experiments: TensorData, smoke_config,
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = smoke_config(method="ds", epochs=2)
    reference = experiments.run(cfg, tmp_path / "ref", progress=False)

    def stop_after_epoch_1(line: str) -> None:  # the epoch's log line comes after its checkpoint
        if line.startswith("epoch   1/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        experiments.run(cfg, tmp_path, progress=False, log=stop_after_epoch_1)
    assert checkpoint_path(cfg, tmp_path).is_file() and not result_path(cfg, tmp_path).exists()
    lines: list[str] = []
    result = experiments.run(cfg, tmp_path, progress=False, log=lines.append)
    assert lines[0].startswith("resumed from") and "after epoch 1" in lines[0]
    strip = lambda rs: [{k: v for k, v in r.items() if not k.endswith("_s")} for r in rs]  # noqa: E731
    assert strip(result["epochs"]) == strip(reference["epochs"])
    assert result["resumed"] == [1] and reference["resumed"] == [], "the result says it was resumed, and when"
    assert json.loads(result_path(cfg, tmp_path).read_text())["resumed"] == [1]


def test_a_run_resumed_twice_records_both_epochs(synthetic_experiments: TensorData, smoke_config,
                                                 tmp_path: Path) -> None:
    cfg = smoke_config(method="robust", epochs=3)

    def stop_after(epoch: int) -> Any:
        def log(line: str) -> None:
            if line.startswith(f"epoch   {epoch}/"):
                raise KeyboardInterrupt
        return log

    for epoch in (1, 2):
        with pytest.raises(KeyboardInterrupt):
            experiments.run(cfg, tmp_path, progress=False, log=stop_after(epoch))
    assert experiments.run(cfg, tmp_path, progress=False)["resumed"] == [1, 2]


def test_dataset_is_loaded_once(monkeypatch: pytest.MonkeyPatch, tiny_data: TensorData) -> None:
    calls: list[str] = []
    monkeypatch.setattr(experiments, "_DATA", {})
    monkeypatch.setattr(experiments, "load", lambda name, download: calls.append((name, download)) or tiny_data)
    assert experiments.dataset("mnist", download=True) is tiny_data
    assert experiments.dataset("mnist") is tiny_data
    assert calls == [("mnist", True)]


# ------------------------------------------------------------------ permissions


@pytest.fixture
def umask():
    """Set the process umask for a test and restore it afterwards."""
    import os

    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_atomic_files_respect_the_umask(tmp_path: Path, umask, mask: int) -> None:
    """mkstemp makes 0600 files; results get what open() would give (0o666 & ~umask), e.g. group-readable."""
    umask(mask)
    expected = 0o666 & ~mask
    atomic_write_json({"a": 1}, tmp_path / "r.json")
    atomic_torch_save({"t": torch.zeros(2)}, tmp_path / "c.pt")
    atomic_copy(tmp_path / "c.pt", tmp_path / "sub" / "copy.pt")
    for name in ("r.json", "c.pt", "sub/copy.pt"):
        assert (tmp_path / name).stat().st_mode & 0o777 == expected, (name, oct(mask))
    assert torch.equal(torch.load(tmp_path / "sub" / "copy.pt", weights_only=True)["t"], torch.zeros(2))


def test_the_umask_is_read_without_being_changed(tmp_path: Path, umask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where /proc gives the umask, an atomic write never sets it (setting it races with other threads)."""
    if not Path("/proc/self/status").is_file():
        pytest.skip("no /proc: the umask is set and restored")
    umask(0o027)
    calls: list[int] = []
    real = os.umask
    monkeypatch.setattr(os, "umask", lambda mask: calls.append(mask) or real(mask))
    atomic_write_json({"a": 1}, tmp_path / "r.json")
    assert calls == [], "os.umask was called"
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o640
    assert real(0o027) == 0o027, "unchanged"
