"""Device staging (scripts/device_pack.py): the data staged, the weights moved aside and back, the commit
recorded, the size checked, the device command printed, and a clear refusal where git would not ignore it."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from advsel.provenance import git_commit, own_checkout

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("device_pack", REPO / "scripts" / "device_pack.py")
device_pack = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = device_pack
_spec.loader.exec_module(device_pack)  # type: ignore[union-attr]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=cwd, check=True,
                   capture_output=True)


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git checkout with committed weights in results/runs, the .gitignore lines, and CIFAR-10's zip beside it."""
    repo = tmp_path / "repo"
    (repo / "results" / "runs").mkdir(parents=True)
    (repo / ".gitignore").write_text("\n".join(device_pack.GITIGNORE) + "\n")
    (repo / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    (repo / "requirements").mkdir()
    (repo / "requirements" / "book.txt").write_text((REPO / "requirements" / "book.txt").read_text())
    (repo / "results" / "runs" / "cifar10-robust-0123456789abcdef.json").write_text("{}")
    (repo / "results" / "runs" / "cifar10-robust-0123456789abcdef.model.pt").write_bytes(os.urandom(3 << 20))
    data = tmp_path / "shared" / "data"
    data.mkdir(parents=True)
    (data / device_pack.ZIP).write_bytes(os.urandom(1 << 20))
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "init")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("ADVSEL_DATA", str(data))
    monkeypatch.setenv("ADVSEL_GIT_COMMIT", "feedc0de")
    return repo


@pytest.mark.slow  # starts git
def test_stage_moves_the_weights_aside_stages_the_data_and_prints_the_call(
        checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    weights = checkout / "results" / "runs" / "cifar10-robust-0123456789abcdef.model.pt"
    original = weights.read_bytes()
    assert device_pack.main(["stage", "--no-wheels"]) == 0
    out = capsys.readouterr().out
    assert not weights.exists() and (checkout / ".device-aside" / "results" / "runs" / weights.name).is_file()
    assert (checkout / ".device" / "data" / device_pack.ZIP).stat().st_size == 1 << 20
    # the staged commit is what a result made from this code records: advsel's own checkout's, else the variable
    assert (checkout / ".device" / "COMMIT").read_text() == (git_commit() if own_checkout() else "feedc0de") + "\n"
    assert "the call carries 1.0 MiB of 64 MiB" in out  # the zip; the weights stay behind
    assert "moved aside to .device-aside/: 1 file(s)" in out
    assert 'carry: [".device"]' in out and "timeout_s: 600" in out
    assert "python3 scripts/gpu_track.py --budget 540 --jobs 3" in out
    assert "python scripts/gpu_track.py --unpack FILES_AT/gpu-track-results.tar.gz" in out
    assert device_pack.main(["restore", "--clean"]) == 0
    assert weights.read_bytes() == original
    assert not (checkout / ".device").exists() and not (checkout / ".device-aside").exists()
    assert "moved 1 file(s) back" in capsys.readouterr().out


def test_the_device_command_installs_the_carried_wheel_and_fits_the_device_tool() -> None:
    cmd = device_pack.device_command(wheels=True)
    assert cmd.startswith("python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade "
                          "--target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site || exit; ")
    assert "ADVSEL_GIT_COMMIT=$(cat .device/COMMIT)" in cmd and "ADVSEL_DATA=$PWD/.device/data" in cmd
    assert len(cmd) <= 2000
    assert device_pack.torchattacks_requirement() == "torchattacks==3.5.1"


@pytest.mark.slow  # starts git
def test_stage_refuses_when_git_would_not_ignore_its_folders(checkout: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    (checkout / ".gitignore").write_text("")
    assert device_pack.main(["stage", "--no-wheels"]) == 2
    err = capsys.readouterr().err
    assert "git does not ignore /.device/, /.device-aside/, /.whl/, /.gpu-work/" in err
    assert (checkout / "results" / "runs" / "cifar10-robust-0123456789abcdef.model.pt").is_file()


@pytest.mark.slow  # starts git
def test_stage_refuses_a_checkout_over_the_limit(checkout: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(device_pack, "LIMIT_MIB", 0.5)
    assert device_pack.main(["stage", "--no-wheels"]) == 2
    assert "the call carries 1.0 MiB of 0.5 MiB" in capsys.readouterr().err


@pytest.mark.slow  # starts git
def test_stage_names_the_missing_zip(checkout: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert device_pack.main(["stage", "--no-wheels", "--data", str(tmp_path / "nowhere")]) == 2
    assert f"{tmp_path / 'nowhere' / device_pack.ZIP} not found: give the folder" in capsys.readouterr().err


@pytest.mark.slow  # starts git
def test_restore_keeps_a_moved_file_that_differs_from_the_one_in_its_place(
        checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert device_pack.main(["stage", "--no-wheels"]) == 0
    weights = checkout / "results" / "runs" / "cifar10-robust-0123456789abcdef.model.pt"
    weights.write_bytes(b"other")
    assert device_pack.main(["restore"]) == 2
    assert "differ from the file now in their place" in capsys.readouterr().err
    assert (checkout / ".device-aside" / "results" / "runs" / weights.name).is_file()
