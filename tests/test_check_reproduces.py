"""Retraining committed runs and comparing them bit for bit (scripts/check_reproduces.py,
advsel.runs.result_differences)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from advsel.runs import result_differences

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "check_reproduces.py"


def test_result_differences_ignore_wall_times_and_the_machine_only() -> None:
    a = {"epochs": [{"train_loss": 1.5, "steps": 4, "time_s": 3.0}], "hardware": {"cpu_threads": 1},
         "git_commit": "a", "train_time_s": 9.0, "final_eval": {"clean_acc": 0.5, "attack": {"steps": 20}}}
    b = json.loads(json.dumps(a)) | {"hardware": {"cpu_threads": 8}, "git_commit": "b", "train_time_s": 1.0}
    b["epochs"][0]["time_s"] = 7.0
    assert result_differences(a, b) == []
    b["epochs"][0]["train_loss"] = 1.5000001
    b["final_eval"]["attack"]["steps"] = 10
    assert result_differences(a, b) == ["epochs[0].train_loss: 1.5 != 1.5000001", "final_eval.attack.steps: 20 != 10"]


def test_result_differences_report_missing_keys_lengths_and_types() -> None:
    a = {"epochs": [{"steps": 1}, {"steps": 2}], "evals": [], "n": 1}
    assert result_differences(a, {"epochs": [{"steps": 1}], "n": 1}) == \
        ["epochs: 2 entries != 1", "evals: only in the first result"]
    assert result_differences(a, a | {"n": True}) == ["n: 1 != True"]
    assert result_differences(a, a | {"n": 1.0}) == ["n: 1 != 1.0"]


def run_script(*args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize(("args", "message"), [
    (("--family", "mnist:nope"), "--family mnist:nope: not a run family of the book at profile 'smoke'"),
    (("--family", "mnist:timed:robust", "--seeds", "9"), "--seeds 9: mnist:timed:robust runs with seeds 0, 1, 2"),
    (("--all", "--family", "mnist:timed:robust"), "--all and --family exclude each other"),
    (("--jobs", "0"), "--jobs 0: use 1 or more"),
])
def test_bad_choices_are_refused_naming_the_flag(args: tuple[str, ...], message: str,
                                                 child_env: dict[str, str]) -> None:
    out = run_script("--profile", "smoke", *args, env=child_env, timeout=120)
    assert out.returncode == 2 and message in out.stderr, out.stderr


@pytest.mark.slow
def test_a_run_reproduces_bit_for_bit_and_a_changed_one_is_caught(tmp_path: Path, child_env: dict[str, str],
                                                                  data_dir: Path) -> None:
    committed = tmp_path / "committed"
    args = ("--profile", "smoke", "--family", "mnist:timed:robust", "--runs", str(committed), "--jobs", "1")
    missing = run_script(*args, env=child_env)
    assert missing.returncode == 1 and "no committed result" in missing.stdout, missing.stdout + missing.stderr
    env = child_env | {"ADVSEL_RUNS": str(committed), "ADVSEL_DATA": str(data_dir)}
    subprocess.run([sys.executable, "-c", "import torch; torch.set_num_threads(2); "
                    "from advsel.repro import Family, Scope; "
                    "Scope('smoke', 'mnist', seeds=(0,)).results(Family.timed('robust'))"],
                   cwd=REPO, env=env, check=True, timeout=300)
    same = run_script(*args, env=env)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "mnist:timed:robust seed 0 (2 threads): identical" in same.stdout and "1 of 1 runs reproduced" in same.stdout
    (path,) = committed.glob("*.json")
    result = json.loads(path.read_text())
    result["epochs"][-1]["train_loss"] += 1e-6
    path.write_text(json.dumps(result))
    changed = run_script(*args, env=env)
    assert changed.returncode == 1 and "DIFFERS in 1 field(s): epochs[0].train_loss" in changed.stdout, changed.stdout
