"""Command line: flags, fractions, the result JSON, and usage errors (status 2, no traceback)."""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from advsel import experiments
from advsel.cli import GROUPS, build_parser, main, parse_number, show
from advsel.config import CHOICES, FIELD_HELP, METHODS, Config, make_config
from advsel.data import TensorData
from advsel.methods import REGISTRY, markdown_table

EPOCH_KEYS = ("epoch", "clean_acc", "robust_acc", "p_up", "selected_clean", "selected_adv", "time_s",
              "forward_passes", "backward_passes")


def train(tmp_path: Path, *flags: str) -> list[str]:
    """``train`` argv on the smoke profile with the run cache in tmp_path."""
    return ["train", "--profile", "smoke", "--cache-dir", str(tmp_path / "runs"), "--quiet", *flags]


# ------------------------------------------------------------------ parsing


@pytest.mark.parametrize(("text", "value"), [("8/255", 8 / 255), ("0.3", 0.3), ("1e-2", 0.01), ("2/10", 0.2),
                                             ("-1", -1.0)])
def test_parse_number_reads_fractions(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["abc", "1/0", "8/", "eps"])
def test_parse_number_rejects_non_numbers(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"is not a number \(write 0.031 or 8/255\)"):
        parse_number(text)


def test_every_config_field_is_a_flag() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["train"]
    flags = {s for a in sub._actions for s in a.option_strings}
    for f in dataclasses.fields(Config):
        assert "--" + f.name.replace("_", "-") in flags, f.name


def test_flags_parse_to_config_values() -> None:
    args = build_parser().parse_args(["train", "--eps", "8/255", "--alpha", "2/255", "--train-size", "all",
                                      "--milestones", "0.3,0.6", "--augment", "--steps", "3", "--p-up", "1/4"])
    assert args.eps == 8 / 255 and args.alpha == 2 / 255 and args.p_up == 0.25
    assert args.train_size is None and args.milestones == (0.3, 0.6) and args.augment is True and args.steps == 3
    assert not hasattr(build_parser().parse_args(["train"]), "eps"), "flags not given take the profile's value"
    assert build_parser().parse_args(["train", "--no-augment"]).augment is False


def test_help_returns_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--p-up" in out and "--eval-restarts" in out and "--eps" in out


def train_help(capsys: pytest.CaptureFixture[str]) -> str:
    """``train --help`` with its lines joined (argparse wraps them at the terminal width)."""
    assert main(["train", "--help"]) == 0
    return " ".join(capsys.readouterr().out.split())


def test_help_describes_every_method(capsys: pytest.CaptureFixture[str]) -> None:
    text = train_help(capsys)
    for m in REGISTRY.values():
        assert f"{m.name} {' '.join(m.description.split())}" in text, m.name


@pytest.mark.parametrize("name", sorted(CHOICES))
def test_help_lists_the_allowed_values_of_every_choice(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = train_help(capsys)
    assert all(value in text for value in CHOICES[name])
    if name != "method":
        assert f"one of: {', '.join(CHOICES[name])}" in text


def test_help_explains_every_flag_and_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    text = train_help(capsys)
    for f in dataclasses.fields(Config):
        assert " ".join(FIELD_HELP[f.name].split()) in text, f.name
    # the profile's value where a profile sets one, the dataclass default otherwise
    assert ("default: smoke profile: 1; cpu profile: 10; paper profile: 100 (mnist), 200 (cifar10); gpu profile: 8; "
            "else 10") in text
    assert "default: every profile: 0.3 (mnist), 8/255 (cifar10); else 0.3" in text
    assert "--momentum X SGD momentum, in [0, 1) default: 0.9" in text
    assert "used by: ds, random, ds-cat" in text, "method parameters say which methods read them"
    assert "--batch-size N, --sampling-number N" in text


def test_every_field_is_in_one_help_group() -> None:
    names = [n for _, group in GROUPS for n in group]
    assert sorted(names) == sorted(f.name for f in dataclasses.fields(Config))


@pytest.mark.parametrize(("name", "value", "text"), [("eps", 8 / 255, "8/255"), ("eps", 0.2, "0.2"),
                                                     ("train_size", None, "all"), ("augment", True, "on"),
                                                     ("milestones", (0.5, 0.75), "0.5,0.75"), ("steps", 7, "7")])
def test_show_writes_values_as_typed(name: str, value: object, text: str) -> None:
    assert show(name, value) == text


def test_methods_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    assert all(f"{m.name}: {m.description}" in out for m in REGISTRY.values())
    assert main(["methods", "--markdown"]) == 0
    assert capsys.readouterr().out == markdown_table() + "\n"


# ------------------------------------------------------------------ runs


def test_train_writes_the_result_json(synthetic_experiments: TensorData, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run.json"
    argv = ["train", "--profile", "smoke", "--method", "ds", "--p-up", "0.5", "--seed", "0", "--device", "cpu",
            "--out", str(out), "--cache-dir", str(tmp_path / "runs")]
    assert main(argv) == 0
    result = json.loads(out.read_text())
    assert {"config", "data_source", "epochs"} <= set(result)
    assert result["config"] == make_config("smoke", "mnist", method="ds", p_up=0.5, seed=0, device="cpu").to_dict()
    assert result["data_source"] == synthetic_experiments.source
    (rec,) = result["epochs"]
    assert set(EPOCH_KEYS) <= set(rec) and rec["p_up"] == 0.5
    stdout = capsys.readouterr().out
    assert stdout.splitlines()[0] == (f"run cache: {(tmp_path / 'runs').resolve()} (from --cache-dir; a new folder; "
                                      "--cache-dir or $ADVSEL_RUNS sets another)")
    assert stdout.splitlines()[1].startswith("epoch   1/1")
    assert f"done: clean {rec['clean_acc']:.4f}, robust {rec['robust_acc']:.4f} (ds, mnist" in stdout
    assert len(list((tmp_path / "runs").glob("mnist-ds-*.json"))) == 1, "also in the run cache"


def test_eps_as_a_fraction_reaches_the_run(synthetic_experiments: TensorData, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    assert main(train(tmp_path, "--method", "robust", "--eps", "8/255", "--alpha", "2/255", "--out", str(out))) == 0
    cfg = json.loads(out.read_text())["config"]
    assert cfg["eps"] == 8 / 255 and cfg["alpha"] == 2 / 255


def test_second_identical_call_uses_the_cache(synthetic_experiments: TensorData, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["train", "--profile", "smoke", "--method", "standard", "--cache-dir", str(tmp_path)]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"run cache: {tmp_path.resolve()} (from --cache-dir; --cache-dir or $ADVSEL_RUNS sets another)"
    assert lines[1].startswith("cached result ")


def test_the_cache_line_says_what_chose_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from advsel.cli import cache_line

    monkeypatch.setenv("ADVSEL_RUNS", str(tmp_path / "env-runs"))
    assert cache_line(None) == (f"run cache: {(tmp_path / 'env-runs').resolve()} (from $ADVSEL_RUNS; a new folder; "
                                "--cache-dir or $ADVSEL_RUNS sets another)")
    monkeypatch.delenv("ADVSEL_RUNS")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results" / "runs").mkdir(parents=True)  # never the default: the book's results stay apart
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_line(None) == (f"run cache: {(tmp_path / 'xdg' / 'advsel' / 'runs').resolve()} (from the default, "
                                "the user's cache; a new folder; --cache-dir or $ADVSEL_RUNS sets another)")


# ------------------------------------------------------------------ errors

BAD_FLAGS = [
    # (flags, texts stderr must contain): the flag as typed, the value as typed, the rule
    (["--p-up", "0"], ["error: --p-up 0: must be in (0, 1]"]),
    (["--p-up", "1.5"], ["error: --p-up 1.5: must be in (0, 1]"]),
    (["--p-up", "-1"], ["error: --p-up -1: must be in (0, 1]"]),
    (["--p-up", "3/2"], ["error: --p-up 3/2: must be in (0, 1]"]),
    (["--eps", "-0.1"], ["error: --eps -0.1: must be >= 0"]),
    (["--eps=-8/255"], ["error: --eps=-8/255: must be >= 0"]),
    # eps and alpha in the units people type: [0, 1] images
    (["--eps", "8"], ["error: --eps 8: must be < 1 (inputs are in [0, 1]); did you mean 8/255 = 0.0314?"]),
    (["--eps", "300/255"], ["error: --eps 300/255: must be < 1 (inputs are in [0, 1]; 8/255 = 0.0314)"]),
    (["--eps", "inf"], ["error: --eps inf: must be a finite number (inputs are in [0, 1]; 8/255 = 0.0314), not inf"]),
    (["--eps", "nan"], ["error: --eps nan: must be a finite number"]),
    (["--alpha", "2"], ["error: --alpha 2: must be < 1 (inputs are in [0, 1]); did you mean 2/255 = 0.0078?"]),
    (["--eval-eps", "16"], ["error: --eval-eps 16: must be < 1 (inputs are in [0, 1]); did you mean 16/255 = "
                            "0.0627?"]),
    (["--eval-alpha", "1"], ["error: --eval-alpha 1: must be < 1 (inputs are in [0, 1]); did you mean 1/255"]),
    (["--eval-eps", "inf"], ["error: --eval-eps inf: must be a finite number"]),
    (["--steps", "-1"], ["error: --steps -1: must be an integer >= 0"]),
    (["--p-up-floor", "-0.1"], ["error: --p-up-floor -0.1: must be in [0, 1]"]),
    (["--alpha", "0"], ["error: --alpha 0: must be > 0"]),
    (["--alpha", "-0.5"], ["error: --alpha -0.5: must be > 0"]),
    (["--method", "fgsm-at"], ["error: --method fgsm-at: not allowed; choose one of: " + ", ".join(METHODS)]),
    (["--model", "vgg"], ["error: --model vgg: not allowed; choose one of: small-cnn, madry-cnn, resnet18"]),
    (["--dataset", "svhn"], ["error: --dataset svhn: not allowed; choose one of: mnist, cifar10"]),
    (["--profile", "huge"], ["error: --profile huge: not allowed; choose one of: smoke, cpu, paper"]),
    (["--device", "tpu"], ["error: --device tpu: not allowed; choose one of: auto, cpu, cuda"]),
    (["--device", "cuda"], ["error: --device cuda: ", "no CUDA device", "choose auto or cpu"]),
    (["--batch-size", "500"], ["error: --batch-size 500: larger than the 200 training samples; it must be <= 200"]),
    (["--sampling-number", "500"], ["error: --sampling-number 500: larger than the 200 training samples"]),
    (["--sampling-number", "0"], ["error: --sampling-number 0: must be an integer >= 1"]),
    (["--train-size", "1000"], ["error: --train-size 1000: larger than the 300 training samples available; "
                                "it must be <= 300 (or all)"]),
    (["--train-size", "30"], ["error: --batch-size 50 (the smoke profile's value): larger than the 30 training "
                              "samples"]),
    (["--eval-restarts", "0"], ["error: --eval-restarts 0: must be an integer >= 1"]),
    (["--cat-alpha", "1"], ["error: --cat-alpha 1: must be in [0, 1)"]),
    (["--eps", "abc"], ["argument --eps", "'abc' is not a number"]),
    (["--epochs", "1.5"], ["argument --epochs", "invalid int value"]),
    (["--train-size", "some"], ["argument --train-size", "'some' is not an integer or 'all'"]),
    (["--no-such-flag", "1"], ["unrecognized arguments: --no-such-flag"]),
    # a method-specific flag the method does not read, milestones without multistep
    (["--method", "ds-adaptive", "--p-up", "0.3"], ["error: --p-up 0.3: not used by --method ds-adaptive; only ds, "
                                                    "random, ds-cat use it"]),
    (["--p-up", "0.3"], ["error: --p-up 0.3: not used by --method robust; only ds, random, ds-cat use it"]),
    (["--method", "robust", "--cat-alpha", "0.2"], ["error: --cat-alpha 0.2: not used by --method robust; only cat, "
                                                    "ds-cat use it"]),
    (["--method", "ds", "--dong-keep", "0.3"], ["error: --dong-keep 0.3: not used by --method ds; only dong use it"]),
    (["--method", "ds", "--p-up-floor", "0.3"], ["error: --p-up-floor 0.3: not used by --method ds; only "
                                                 "ds-adaptive use it"]),
    (["--method", "cat", "--adaptive-accuracy", "robust"], ["error: --adaptive-accuracy robust: not used by --method "
                                                            "cat; only ds-adaptive use it"]),
    (["--p-up-warmup-epochs", "1"], ["error: --p-up-warmup-epochs 1: not used by --method robust; only ds, random, "
                                      "ds-cat use it"]),
    (["--method", "ds-adaptive", "--p-up-warmup-epochs", "1"], ["error: --p-up-warmup-epochs 1: not used by "
                                                                "--method ds-adaptive"]),
    (["--method", "ds", "--dong-steps", "pgd-at"], ["error: --dong-steps pgd-at: not used by --method ds; only dong "
                                                    "use it"]),
    # the options of issue 9: bad values
    (["--method", "ds", "--p-up-warmup-epochs", "1"], ["error: --p-up-warmup-epochs 1: must be smaller than "
                                                       "epochs=1"]),
    (["--method", "ds", "--p-up-warmup-epochs", "-1"], ["error: --p-up-warmup-epochs -1: must be an integer >= 0"]),
    (["--method", "dong", "--dong-steps", "twice"], ["error: --dong-steps twice: not allowed; choose one of: epochs, "
                                                     "pgd-at"]),
    (["--validation-size", "200"], ["error: --validation-size 200: must be smaller than train_size=200"]),
    (["--method", "ds-adaptive", "--adaptive-accuracy", "clean"], ["error: --adaptive-accuracy clean: needs a "
                                                                   "validation split: set validation_size "
                                                                   "(--validation-size) > 0"]),
    (["--train-size", "all", "--validation-size", "300"], ["error: --validation-size 300: not smaller than the 300 "
                                                           "samples of the training pool"]),
    (["--milestones", "0.3,0.6"], ["error: --milestones 0.3,0.6: only used with --lr-schedule multistep; this "
                                   "run's schedule is constant"]),
    (["--lr-schedule", "cosine", "--milestones", "0.3"], ["error: --milestones 0.3: only used with --lr-schedule "
                                                          "multistep; this run's schedule is cosine"]),
    # two spellings of b' with different values
    (["--sampling-number", "40", "--batch-size", "60"], ["argument --batch-size/--sampling-number: --sampling-number "
                                                         "40 and --batch-size 60 set the same parameter to different "
                                                         "values; give one of them"]),
    (["--batch-size", "60", "--sampling-number", "40"], ["--batch-size 60 and --sampling-number 40 set the same "
                                                         "parameter to different values"]),
    (["--save-model", "."], ["error: --save-model .: is a folder; give a file name such as model.pt"]),
]


@pytest.mark.parametrize(("flags", "texts"), BAD_FLAGS, ids=[" ".join(f) for f, _ in BAD_FLAGS])
def test_bad_flags_exit_2_with_a_clear_message(flags: list[str], texts: list[str], synthetic_experiments: TensorData,
                                              tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(train(tmp_path, *flags)) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err
    for text in texts:
        assert text in err
    assert not list(tmp_path.rglob("*.json")), "nothing was written"


@pytest.mark.parametrize("flags", [["--method", "ds", "--p-up", "0.3"], ["--method", "ds-cat", "--cat-alpha", "0.2"],
                                   ["--lr-schedule", "multistep", "--milestones", "0.3"],
                                   ["--sampling-number", "40", "--batch-size", "40"],
                                   ["--batch-size", "40", "--batch-size", "30"]])
def test_used_parameters_and_agreeing_aliases_are_accepted(flags: list[str], synthetic_experiments: TensorData,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    assert main(train(tmp_path, *flags, "--out", str(out))) == 0
    cfg = json.loads(out.read_text())["config"]
    name, value = flags[-2].lstrip("-").replace("-", "_").replace("sampling_number", "batch_size"), flags[-1]
    assert str(cfg[name]).strip("[]()") == value or cfg[name] == [float(value)]


def test_the_python_api_accepts_unused_parameters_and_shares_the_run(synthetic_experiments: TensorData,
                                                                     tmp_path: Path) -> None:
    """make_config(method='robust', p_up=0.3) is accepted and is the cached robust run (normalised, not rejected)."""
    plain = experiments.run(make_config("smoke", "mnist", device="cpu"), tmp_path)
    again = experiments.run(make_config("smoke", "mnist", device="cpu", p_up=0.3, milestones=(0.2,)), tmp_path)
    assert again["key"] == plain["key"] and again["epochs"] == plain["epochs"]
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_labels_outside_the_classes_exit_2(data_factory, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    data = data_factory()
    data.y_train = data.y_train.clone()
    data.y_train[0] = 10
    monkeypatch.setattr(experiments, "_DATA", {"mnist": data})
    assert main(train(tmp_path)) == 2
    err = capsys.readouterr().err
    assert "training labels range over [0, 10] but the model has 10 classes; labels must be in [0, 9]" in err
    assert "Traceback" not in err


def test_missing_data_folder_exits_2_and_says_where_it_looked(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "no-data"
    empty.mkdir()
    monkeypatch.setenv("ADVSEL_DATA", str(empty))
    monkeypatch.setattr(experiments, "_DATA", {})
    assert main(train(tmp_path, "--method", "ds")) == 2
    err = capsys.readouterr().err
    assert f"MNIST not found in {empty}/MNIST/raw" in err
    assert "Set ADVSEL_DATA" in err and "--download" in err and "Traceback" not in err
    assert main(train(tmp_path, "--dataset", "cifar10")) == 2
    err = capsys.readouterr().err
    assert f"CIFAR-10 not found in {empty}" in err and "cifar10-jpeg.zip" in err and "cifar-10-batches-py" in err


def test_diverging_run_stops_with_status_1_and_names_epoch_and_step(synthetic_experiments: TensorData,
                                                                    tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(train(tmp_path, "--method", "robust", "--lr", "1e30")) == 1
    err = capsys.readouterr().err
    assert "stopped: training loss is" in err and "at epoch 1, step " in err and "Traceback" not in err
    # it stopped in its first epoch: no checkpoint exists, and none is named
    assert "no checkpoint was written (the run stopped in its first epoch)" in err and ".ckpt.pt" not in err
    assert not list((tmp_path / "runs").glob("*.ckpt.pt"))


# ------------------------------------------------------------------ writes checked before the work

WRITE_ERRORS = [
    # (flags with {tmp}, stderr must contain): each found before the run, exit 2, nothing trained or written
    (["--out", "{tmp}/folder"], "error: --out {tmp}/folder: is a folder; give a file name such as "
                                "{tmp}/folder/result.json"),
    (["--out", "{tmp}/new/"], "error: --out {tmp}/new/: is a folder; give a file name such as {tmp}/new/result.json"),
    (["--out", "{tmp}/a-file/r.json"], "error: --out {tmp}/a-file/r.json: its folder {tmp}/a-file is a file, not a "
                                       "folder"),
    (["--save-model", "{tmp}/a-file/sub/m.pt"], "error: --save-model {tmp}/a-file/sub/m.pt: its folder "
                                                "{tmp}/a-file/sub cannot be created: {tmp}/a-file is a file"),
    (["--save-model", "{tmp}/folder"], "error: --save-model {tmp}/folder: is a folder; give a file name such as "
                                       "{tmp}/folder/model.pt"),
    (["--cache-dir", "{tmp}/a-file"], "error: --cache-dir {tmp}/a-file: is a file, not a folder"),
    (["--cache-dir", "{tmp}/a-file/runs"], "error: --cache-dir {tmp}/a-file/runs: cannot be created: {tmp}/a-file "
                                           "is a file, not a folder"),
]


@pytest.mark.parametrize(("flags", "text"), WRITE_ERRORS, ids=[" ".join(f) for f, _ in WRITE_ERRORS])
def test_unwritable_outputs_are_usage_errors_before_the_run(flags: list[str], text: str,
                                                            synthetic_experiments: TensorData, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "a-file").write_text("a file")
    fits: list[object] = []
    monkeypatch.setattr(experiments.Trainer, "fit", lambda self: fits.append(self))
    assert main(train(tmp_path, *[f.format(tmp=tmp_path) for f in flags])) == 2
    err = capsys.readouterr().err
    assert text.format(tmp=tmp_path) in err and "Traceback" not in err
    assert fits == [], "nothing was trained"
    assert not list(tmp_path.rglob("*.json")) and not list(tmp_path.rglob("*.pt"))


def test_the_default_cache_is_named_with_its_source_when_unwritable(synthetic_experiments: TensorData, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a-file").write_text("a file")
    monkeypatch.setenv("ADVSEL_RUNS", str(tmp_path / "a-file"))
    assert main(["train", "--profile", "smoke", "--quiet"]) == 2
    assert (f"error: run cache {tmp_path}/a-file (from $ADVSEL_RUNS; --cache-dir or $ADVSEL_RUNS sets another): is "
            "a file, not a folder") in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="the superuser writes into read-only folders")
def test_a_read_only_cache_is_refused_before_the_first_epoch(synthetic_experiments: TensorData, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "ro"
    cache.mkdir(mode=0o500)
    try:
        assert main(["train", "--profile", "smoke", "--quiet", "--cache-dir", str(cache)]) == 2
        assert f"error: --cache-dir {cache}: is not writable (Permission denied)" in capsys.readouterr().err
    finally:
        cache.chmod(0o700)


def test_a_cached_run_is_returned_from_a_cache_that_is_not_checked(synthetic_experiments: TensorData, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache folder is checked only when a run will be written there: a cached result is read as before."""
    assert main(train(tmp_path)) == 0
    from advsel import runs

    monkeypatch.setattr(runs.tempfile, "TemporaryFile", lambda **kw: (_ for _ in ()).throw(PermissionError(13, "no")))
    assert main(train(tmp_path)) == 0


def test_a_write_failing_after_the_work_is_a_message_naming_what_is_kept(synthetic_experiments: TensorData,
                                                                        tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk when the result is written: status 1, no traceback, the checkpoint named (it exists) and
    resumed by the same command."""
    from advsel.runs import WriteError

    def full_disk(obj: object, path: Path) -> None:
        raise WriteError(errno.ENOSPC, "could not be written (No space left on device)", str(path))

    real = experiments.atomic_write_json
    monkeypatch.setattr(experiments, "atomic_write_json", full_disk)
    assert main(train(tmp_path, "--method", "robust")) == 1
    err = capsys.readouterr().err
    (ckpt,) = (tmp_path / "runs").glob("*.ckpt.pt")
    result = ckpt.with_suffix("").with_suffix(".json")
    assert err == (f"python -m advsel train: stopped: {result}: could not be written (No space left on device); the "
                   f"run's last checkpoint is kept: {ckpt} (the same run resumes from it)\n")
    monkeypatch.setattr(experiments, "atomic_write_json", real)
    argv = ["train", "--profile", "smoke", "--cache-dir", str(tmp_path / "runs"), "--method", "robust"]
    assert main(argv) == 0  # without --quiet: the resume is logged
    assert f"resumed from {ckpt} after epoch 1" in capsys.readouterr().out
    assert result.is_file() and not ckpt.exists()


def test_eval_checks_its_json_before_evaluating_and_reports_a_failed_write(saved_model: Path, tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str],
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from advsel import cli
    from advsel.runs import WriteError

    (tmp_path / "a-file").write_text("a file")
    evaluated: list[object] = []
    real_evaluate = cli.evaluate_model
    monkeypatch.setattr(cli, "evaluate_model", lambda *a, **k: evaluated.append(a) or {})
    capsys.readouterr()
    assert main(["eval", str(saved_model), "--json", str(tmp_path)]) == 2
    assert (f"error: --json {tmp_path}: is a folder; give a file name such as {tmp_path}/eval.json"
            in capsys.readouterr().err)
    assert main(["eval", str(saved_model), "--json", str(tmp_path / "a-file" / "e.json")]) == 2
    assert "a-file is a file, not a folder" in capsys.readouterr().err and evaluated == []
    monkeypatch.setattr(cli, "evaluate_model", real_evaluate)

    def full_disk(obj: object, path: str) -> None:
        raise WriteError(errno.ENOSPC, "could not be written (No space left on device)", str(path))

    monkeypatch.setattr(cli, "atomic_write_json", full_disk)
    assert main(["eval", str(saved_model), "--n", "10", "--steps", "1", "--json", str(tmp_path / "e.json")]) == 1
    captured = capsys.readouterr()
    assert "clean accuracy" in captured.out and "Traceback" not in captured.err
    assert captured.err.endswith(f"python -m advsel eval: stopped: {tmp_path / 'e.json'}: could not be written "
                                 "(No space left on device) (the numbers are printed above)\n")


# ------------------------------------------------------------------ a closed pipe


class _ClosedPipe:
    """A stdout whose reader went away (``| head -1``)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_quietly_with_status_141(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["methods"]) == 141
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_methods_into_head_prints_no_traceback(child_env: dict[str, str]) -> None:
    """``| head -1`` closes the pipe while or after the output is written (0 or 141, never a traceback);
    ``| true`` closes it before (the process takes seconds to start): 141."""
    pipe = f"set -o pipefail; {sys.executable} -m advsel methods"
    done = subprocess.run(["bash", "-c", f"{pipe} | head -1"], env=child_env, capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.startswith("standard: ") and done.stdout.count("\n") == 1
    assert done.stderr == "" and done.returncode in (0, 141)
    done = subprocess.run(["bash", "-c", f"{pipe} | true"], env=child_env, capture_output=True, text=True,
                          timeout=120)
    assert done.stderr == "" and done.returncode == 141


# ------------------------------------------------------------------ --config: a result's config back to train


def test_train_config_starts_from_a_result_and_flags_override(synthetic_experiments: TensorData, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert main(train(tmp_path, "--method", "ds", "--p-up", "0.25", "--seed", "3", "--out", str(first))) == 0
    before = json.loads(first.read_text())
    argv = ["train", "--config", str(first), "--epochs", "2", "--cache-dir", str(tmp_path / "runs"), "--quiet",
            "--out", str(second)]
    assert main(argv) == 0
    after = json.loads(second.read_text())
    assert after["config"] == {**before["config"], "epochs": 2}
    assert after["resumed"] == [] and len(after["epochs"]) == 2
    # a Config JSON (Config.to_dict()) works the same; the same config is the cached run
    plain = tmp_path / "config.json"
    plain.write_text(json.dumps(make_config("smoke", "mnist", method="ds", p_up=0.25, seed=3, epochs=2).to_dict()))
    capsys.readouterr()
    assert main(["train", "--config", str(plain), "--cache-dir", str(tmp_path / "runs"), "--out", str(second)]) == 0
    assert "cached result" in capsys.readouterr().out
    assert json.loads(second.read_text())["key"] == after["key"]


CONFIG_ERRORS = [
    # (content of the --config file, or None for none; extra flags; stderr must contain)
    (None, [], "error: --config {f}: no such file"),
    ("{{not json", [], "error: --config {f}: not a JSON file (Expecting property name enclosed in double quotes at "
                       "line 1)"),
    ("[1, 2]", [], "error: --config {f}: holds no config"),
    ('{{"method": "ds", "p_upp": 0.5}}', [], "error: --config {f}: unknown parameter(s) p_upp; known: "),
    ('{{"method": "robust", "eps": 8}}', [], "error: --eps 8 (the value in --config {f}): must be < 1 (inputs are in "
                                             "[0, 1]); did you mean 8/255 = 0.0314?"),
    ('{{"method": "robust", "milestones": 5}}', [], "error: --config {f}: "),
    ('{{"method": "robust"}}', ["--eps", "8"], "error: --eps 8: must be < 1"),
    ('{{"method": "robust"}}', ["--profile", "cpu"], "error: --profile cpu and --config {f} both give every value"),
    ('{{"method": "robust"}}', ["--p-up", "0.3"], "error: --p-up 0.3: not used by --method robust"),
]


@pytest.mark.parametrize(("content", "flags", "text"), CONFIG_ERRORS,
                         ids=[f"{c} {' '.join(f)}" for c, f, _ in CONFIG_ERRORS])
def test_bad_config_files_are_usage_errors(content: str | None, flags: list[str], text: str,
                                           synthetic_experiments: TensorData, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "c.json"
    if content is not None:
        f.write_text(content.format())
    assert main(["train", "--config", str(f), "--cache-dir", str(tmp_path / "runs"), *flags]) == 2
    err = capsys.readouterr().err
    assert text.format(f=f) in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


# ------------------------------------------------------------------ real processes


@pytest.mark.slow
def test_subprocess_bad_values_exit_2_without_traceback(tmp_path: Path, child_env: dict[str, str],
                                                         repo: Path) -> None:
    for flags, text in ((["--p-up", "1.5"], "error: --p-up 1.5: must be in (0, 1]"),
                        (["--eps", "1/0"], "'1/0' is not a number")):
        proc = subprocess.run([sys.executable, "-m", "advsel", "train", "--profile", "smoke", *flags],
                              cwd=tmp_path, env=child_env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert text in proc.stderr and "Traceback" not in proc.stderr
        assert proc.stdout == ""


@pytest.mark.slow
def test_subprocess_smoke_run_on_real_mnist(tmp_path: Path, child_env: dict[str, str], data_dir: Path) -> None:
    out = tmp_path / "run.json"
    proc = subprocess.run([sys.executable, "-m", "advsel", "train", "--profile", "smoke", "--method", "ds",
                           "--p-up", "0.5", "--seed", "0", "--device", "cpu", "--out", str(out)],
                          cwd=tmp_path, env={**child_env, "ADVSEL_DATA": str(data_dir)}, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert {"config", "data_source", "epochs"} <= set(result)
    assert result["config"]["method"] == "ds" and result["config"]["p_up"] == 0.5 and result["config"]["seed"] == 0
    assert "MNIST" in result["data_source"] and str(data_dir) in result["data_source"]
    (rec,) = result["epochs"]
    assert set(EPOCH_KEYS) <= set(rec)
    b, steps = result["config"]["batch_size"], rec["steps"]
    assert steps == result["config"]["train_size"] // b
    assert rec["selected_clean"] + rec["selected_adv"] == b, "P_up 0.5 of 2b'"
    assert rec["clean_acc"] > 0.2, "one smoke epoch on real MNIST beats chance"
    assert "done: clean" in proc.stdout
    assert list(Path(child_env["ADVSEL_RUNS"]).glob("mnist-ds-*.json"))


@pytest.mark.slow
def test_the_cli_and_trainer_import_no_plotting_or_notebook_modules(child_env: dict[str, str]) -> None:
    code = ("import sys, advsel.trainer, advsel.cli; "
            "print([m for m in ('matplotlib', 'pandas', 'seaborn', 'IPython') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], env=child_env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------ models out, evaluation in


@pytest.fixture
def saved_model(synthetic_experiments: TensorData, tmp_path: Path) -> Path:
    """A smoke run on the synthetic data, trained by ``train --save-model``."""
    path = tmp_path / "m.pt"
    assert main(train(tmp_path, "--method", "robust", "--device", "cpu", "--save-model", str(path))) == 0
    return path


def test_train_save_model_writes_loadable_weights(synthetic_experiments: TensorData, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from advsel.models import load_model
    from advsel.runs import model_path

    saved_model = tmp_path / "out" / "m.pt"
    assert main(train(tmp_path, "--method", "robust", "--device", "cpu", "--save-model", str(saved_model))) == 0
    assert capsys.readouterr().out.endswith(f"model: {saved_model} (evaluate: python -m advsel eval {saved_model})\n")
    model, meta = load_model(saved_model)
    config = make_config("smoke", "mnist", method="robust", device="cpu")
    assert meta["config"] == config.to_dict() and meta["key"] == config.key() and meta["epochs_trained"] == 1
    kept = model_path(config, tmp_path / "runs")
    assert kept.read_bytes() == saved_model.read_bytes(), "the cache keeps the same weights"
    assert not model.training


def test_eval_reports_clean_and_pgd_accuracy_as_the_final_evaluation_would(saved_model: Path, tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from advsel.evaluation import FinalEval

    out = tmp_path / "eval.json"
    capsys.readouterr()
    argv = ["eval", str(saved_model), "--n", "60", "--steps", "3", "--restarts", "2", "--eps", "0.2", "--device", "cpu",
            "--json", str(out)]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    record = json.loads(out.read_text())
    assert record["n"] == 60 and record["attack"] == {"name": "pgd", "eps": 0.2, "alpha": 0.05, "steps": 3,
                                                      "restarts": 2}
    assert "autoattack" not in record and record["dataset"] == "mnist" and record["method"] == "robust"
    assert f"clean accuracy      {record['clean_acc']:.4f}" in stdout
    assert f"PGD accuracy        {record['robust_acc']:.4f}  (PGD-3, 2 restarts, eps 0.2, alpha 0.05" in stdout
    # the same numbers as run(final=...) computes from the kept weights
    config = make_config("smoke", "mnist", method="robust", device="cpu")
    result = experiments.run(config, tmp_path / "runs", final=FinalEval(n=60, steps=3, restarts=2, eps=0.2, alpha=0.05))
    fe = result["final_eval"]
    assert (fe["clean_acc"], fe["robust_acc"]) == (record["clean_acc"], record["robust_acc"])
    assert record["robust_acc"] <= record["clean_acc"]
    # eps and alpha default to the run's evaluation attack
    assert main(["eval", str(saved_model), "--n", "20", "--steps", "1", "--json", str(out)]) == 0
    a = json.loads(out.read_text())["attack"]
    assert (a["eps"], a["alpha"]) == (config.effective_eval_eps, config.effective_eval_alpha)


def _user_model_file(tmp_path: Path) -> Path:
    from advsel.models import save_model

    path = tmp_path / "own.pt"
    save_model(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10)), path, config=None,
               image_shape=(1, 8, 8), num_classes=10)
    return path


EVAL_ERRORS = [
    # (argv after "eval" with {m} for the saved model, text stderr must contain)
    (["{tmp}/missing.pt"], "error: MODEL {tmp}/missing.pt: no such file"),
    (["{tmp}"], "error: MODEL {tmp}: no such file (it is a folder)"),
    (["{tmp}/garbage.pt"], "is not an advsel model file (torch.load(..., weights_only=True) cannot read it"),
    (["{tmp}/other.pt"], "is not an advsel model file (expected format 'advsel-model/1')"),
    (["{tmp}/own.pt"], "holds a user's own model (saved without an advsel config)"),
    (["{m}", "--n", "0"], "error: --n 0: must be an integer >= 1"),
    (["{m}", "--steps", "-1"], "error: --steps -1: must be an integer >= 0"),
    (["{m}", "--restarts", "0"], "error: --restarts 0: must be an integer >= 1"),
    (["{m}", "--eps=-8/255"], "error: --eps=-8/255: must be >= 0"),
    (["{m}", "--eps", "8"], "error: --eps 8: must be < 1 (inputs are in [0, 1]); did you mean 8/255 = 0.0314?"),
    (["{m}", "--eps", "inf"], "error: --eps inf: must be a finite number (inputs are in [0, 1]; 8/255 = 0.0314), "
                              "not inf"),
    (["{m}", "--alpha", "2/1"], "error: --alpha 2/1: must be < 1 (inputs are in [0, 1]); did you mean 2/255"),
    (["{m}", "--alpha", "0"], "error: --alpha 0: must be > 0"),
    (["{m}", "--eps", "abc"], "argument --eps: 'abc' is not a number"),
    (["{m}", "--n", "ten"], "argument --n: invalid int value: 'ten'"),
    (["{m}", "--attack", "cw"], "argument --attack: invalid choice: 'cw'"),
    (["{m}", "--dataset", "svhn"], "error: --dataset svhn: not allowed; choose one of: mnist, cifar10"),
    (["{m}", "--device", "tpu"], "error: --device tpu: not allowed; choose one of: auto, cpu, cuda"),
    (["{m}", "--device", "cuda"], "error: --device cuda: was asked for but no CUDA device"),
    (["{m}", "--bogus"], "unrecognized arguments: --bogus"),
    ([], "the following arguments are required: MODEL"),
]


@pytest.mark.parametrize(("argv", "text"), EVAL_ERRORS, ids=[" ".join(a) or "none" for a, _ in EVAL_ERRORS])
def test_eval_usage_errors_exit_2_naming_the_flag(argv: list[str], text: str, saved_model: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    (tmp_path / "garbage.pt").write_text("not a model")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    _user_model_file(tmp_path)
    capsys.readouterr()
    args = [a.format(m=saved_model, tmp=tmp_path) for a in argv]
    assert main(["eval", *args, "--json", str(tmp_path / "e.json")]) == 2
    err = capsys.readouterr().err
    assert text.format(tmp=tmp_path) in err and "Traceback" not in err
    assert not (tmp_path / "e.json").exists()


def test_eval_rejects_a_dataset_the_model_does_not_fit(saved_model: Path, tiny_data: TensorData,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import make_data

    monkeypatch.setitem(experiments._DATA, "cifar10", make_data(shape=(3, 8, 8), name="cifar10"))
    assert main(["eval", str(saved_model), "--dataset", "cifar10"]) == 2
    assert ("error: --dataset cifar10: the model takes 1x8x8 images and 10 classes, cifar10 has 3x8x8 images and "
            "10 classes") in capsys.readouterr().err


@pytest.mark.slow
def test_train_then_eval_with_autoattack_on_real_mnist(tmp_path: Path, child_env: dict[str, str],
                                                       data_dir: Path) -> None:
    """End to end in real processes: ``train --save-model`` then ``eval --attack autoattack`` (tiny n: it is slow)."""
    env = {**child_env, "ADVSEL_DATA": str(data_dir)}
    model = tmp_path / "m.pt"
    proc = subprocess.run([sys.executable, "-m", "advsel", "train", "--profile", "smoke", "--method", "robust",
                           "--device", "cpu", "--quiet", "--save-model", str(model)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"run cache: {Path(env['ADVSEL_RUNS']).resolve()} (from $ADVSEL_RUNS")
    out = tmp_path / "eval.json"
    proc = subprocess.run([sys.executable, "-m", "advsel", "eval", str(model), "--attack", "autoattack", "--n", "8",
                           "--device", "cpu", "--json", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(out.read_text())
    assert record["n"] == 8 and "robust_acc" not in record and "attack" not in record
    aa = record["autoattack"]
    assert aa["n"] == 8 and aa["version"] == "standard" and aa["eps"] == 0.3
    assert 0 <= aa["robust_acc"] <= record["clean_acc"], "AutoAttack never raises accuracy"
    assert "MNIST" in record["data_source"] and record["config"]["method"] == "robust"
    assert f"AutoAttack accuracy {aa['robust_acc']:.4f}  (standard, eps 0.3, n 8)" in proc.stdout
    assert "PGD accuracy" not in proc.stdout
