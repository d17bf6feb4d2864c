"""Trainer: one smoke epoch per method, pass counts, eq. (9) wiring, resume, determinism, errors."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from _synthetic import PoisonWeights

from advsel import checkpoint
from advsel.config import ConfigError
from advsel.data import TensorData
from advsel.device import resolve_device
from advsel.epoch import EpochStats
from advsel.optimization import lr_factor
from advsel.p_up import adaptive_p_up
from advsel.trainer import NonFiniteLossError, Trainer

METHODS = ("standard", "robust", "ds", "ds-adaptive", "random")
EPOCH_KEYS = ("epoch", "clean_acc", "robust_acc", "p_up", "selected_clean", "selected_adv", "time_s",
              "forward_passes", "backward_passes")


def untimed(record: dict[str, Any]) -> dict[str, Any]:
    """A record without its wall-clock fields (``time_s`` and every ``*_s``)."""
    return {k: v for k, v in record.items() if not k.endswith("_s")}


def weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class Interrupt:
    """Raises KeyboardInterrupt at the end of epoch ``at`` (before that epoch's checkpoint is written)."""

    def __init__(self, at: int | None) -> None:
        self.at = at

    def on_epoch_end(self, trainer: Trainer, record: dict[str, Any]) -> None:
        if record["epoch"] == self.at:
            raise KeyboardInterrupt


# ------------------------------------------------------------------ one smoke epoch per method


def expected_passes(method: str, b: int, steps_per_epoch: int, attack_steps: int, p_up: float) -> dict[str, int]:
    """Sample passes of one epoch as the methods define them (attack + scoring + training)."""
    two_b = 2 * b
    k = max(1, math.floor(p_up * two_b + 0.5))  # |S| = round(P_up * 2b')
    attack = 0 if method == "standard" else attack_steps * b
    train_fwd, train_bwd = {
        "standard": (b, b),
        "robust": (b, b),
        "ds": (two_b + k, k),  # the no-grad scoring pass over 2b', then the selected samples again
        "ds-adaptive": (two_b + k, k),
        "random": (k, k),  # no scoring pass
    }[method]
    return {"forward_passes": steps_per_epoch * (attack + train_fwd),
            "backward_passes": steps_per_epoch * (attack + train_bwd), "k": k}


@pytest.mark.parametrize("method", METHODS)
def test_each_method_trains_one_smoke_epoch(method: str, tiny_data: TensorData, smoke_config) -> None:
    config = smoke_config(method=method, p_up=0.5)
    trainer = Trainer(config, tiny_data, progress=False)
    before = weights(trainer)
    result = trainer.fit()
    assert not same_weights(before, weights(trainer)), "the model was updated"
    assert result["complete"] is True and result["config"] == config.to_dict() and result["key"] == config.key()
    assert result["data_source"] == tiny_data.source
    assert result["train_size"] == config.train_size and result["test_size"] == config.test_size
    (rec,) = result["epochs"]
    assert set(EPOCH_KEYS) <= set(rec)
    assert rec["epoch"] == 1
    assert 0 <= rec["clean_acc"] <= 1 and 0 <= rec["robust_acc"] <= 1
    assert rec["time_s"] > 0 and math.isfinite(rec["train_loss"])
    b = config.batch_size
    spe = config.train_size // b
    assert rec["steps"] == spe
    p_up = 1.0 if method == "ds-adaptive" else (0.5 if method in ("ds", "random") else 1.0)
    assert rec["p_up"] == p_up
    want = expected_passes(method, b, spe, config.steps, p_up)
    assert rec["forward_passes"] == want["forward_passes"]
    assert rec["backward_passes"] == want["backward_passes"]
    # the selection set: k samples per step, split into clean and adversarial
    k = {"standard": b, "robust": b}.get(method, want["k"])
    assert rec["selected_clean"] + rec["selected_adv"] == pytest.approx(k)
    if method == "standard":
        assert (rec["selected_clean"], rec["selected_adv"]) == (b, 0)
    if method == "robust":
        assert (rec["selected_clean"], rec["selected_adv"]) == (0, b)
    if method == "ds-adaptive":
        assert (rec["selected_clean"], rec["selected_adv"]) == (b, b), "P_up(0) = 1 keeps all 2b'"
    # the whole-run totals agree with the epochs and the last evaluation
    assert result["evals"][-1]["forward_passes"] == rec["forward_passes"]
    assert result["evals"][-1]["clean_acc"] == rec["clean_acc"]


def test_ds_backpropagates_half_of_two_b_and_scores_all_of_it(tiny_data: TensorData, smoke_config) -> None:
    cfg = smoke_config(method="ds", p_up=0.5)
    ds = Trainer(cfg, tiny_data, progress=False).fit()["epochs"][0]
    robust = Trainer(cfg.replace(method="robust"), tiny_data, progress=False).fit()["epochs"][0]
    standard = Trainer(cfg.replace(method="standard"), tiny_data, progress=False).fit()["epochs"][0]
    b, spe = cfg.batch_size, ds["steps"]
    attack = cfg.steps * b * spe
    assert ds["backward_passes"] - attack == b * spe == robust["backward_passes"] - attack
    assert ds["forward_passes"] - robust["forward_passes"] == 2 * b * spe, "the 2b' scoring pass"
    assert standard["forward_passes"] == standard["backward_passes"] == b * spe, "no attack passes"


@pytest.mark.parametrize("p_up", [0.25, 0.75, 1.0])
def test_ds_selection_size_follows_p_up(p_up: float, tiny_data: TensorData, smoke_config) -> None:
    rec = Trainer(smoke_config(method="ds", p_up=p_up), tiny_data, progress=False).fit()["epochs"][0]
    b = 50
    assert rec["selected_clean"] + rec["selected_adv"] == pytest.approx(round(p_up * 2 * b))
    assert rec["p_up"] == p_up


@pytest.mark.parametrize("driver", ["train", "clean", "robust"])
def test_ds_adaptive_applies_eq9_between_epochs(driver: str, tiny_data: TensorData, smoke_config) -> None:
    # clean/robust: the accuracy of a validation split held out of the training pool, never the test subset's
    split = {} if driver == "train" else {"validation_size": 50, "train_size": 250}
    cfg = smoke_config(method="ds-adaptive", epochs=3, p_up_floor=0.2, adaptive_accuracy=driver, **split)
    epochs = Trainer(cfg, tiny_data, progress=False).fit()["epochs"]
    key = {"train": "train_acc", "clean": "val_clean_acc", "robust": "val_robust_acc"}[driver]
    assert epochs[0]["p_up"] == 1.0
    for prev, cur in zip(epochs, epochs[1:], strict=False):
        assert cur["p_up"] == pytest.approx(adaptive_p_up(prev["p_up"], prev[key], 0.2))
        assert cur["p_up"] <= prev["p_up"] and cur["p_up"] >= 0.2
        k = round(cur["p_up"] * 2 * cfg.batch_size)
        assert cur["selected_clean"] + cur["selected_adv"] == pytest.approx(k, abs=0.5)


def test_standard_training_learns_the_synthetic_task(tiny_data: TensorData, smoke_config) -> None:
    result = Trainer(smoke_config(method="standard", epochs=4, lr=0.05), tiny_data, progress=False).fit()
    assert result["epochs"][-1]["clean_acc"] >= 0.5, "well above chance (0.1)"
    assert result["epochs"][-1]["train_loss"] < result["epochs"][0]["train_loss"]


def test_eval_every_records_intermediate_evaluations(tiny_data: TensorData, smoke_config) -> None:
    cfg = smoke_config(method="standard", epochs=2, eval_every=3)
    result = Trainer(cfg, tiny_data, progress=False).fit()
    spe = cfg.train_size // cfg.batch_size
    total = cfg.epochs * spe
    want = sorted({s for s in range(1, total + 1) if s % 3 == 0 and s % spe != 0} | {spe * e for e in (1, 2)})
    assert len(want) > cfg.epochs, "some evaluations fall inside an epoch"
    assert [e["step"] for e in result["evals"]] == want
    assert [e["epoch"] for e in result["evals"]] == [(s - 1) // spe + 1 for s in want]
    fwd = [e["forward_passes"] for e in result["evals"]]
    assert fwd == sorted(fwd) and fwd[0] > 0


def test_log_gets_one_line_per_epoch(tiny_data: TensorData, smoke_config) -> None:
    lines: list[str] = []
    Trainer(smoke_config(method="ds", epochs=2), tiny_data, progress=False, log=lines.append).fit()
    assert len(lines) == 2 and lines[0].startswith("epoch   1/2") and "P_up 0.500" in lines[1]


def test_progress_lines_per_epoch_and_the_same_training(tiny_data: TensorData, smoke_config,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """progress=True on a stream that is no terminal: a line when an epoch's steps start and end; the run
    is the same as without progress."""
    cfg = smoke_config(method="ds", epochs=2, eval_every=2)
    quiet = Trainer(cfg, tiny_data, progress=False)
    rq = quiet.fit()
    assert capsys.readouterr().err == ""
    shown = Trainer(cfg, tiny_data, progress=True)
    rs = shown.fit()
    err = capsys.readouterr().err.splitlines()
    assert [untimed(r) for r in rs["epochs"]] == [untimed(r) for r in rq["epochs"]]
    assert [e["robust_acc"] for e in rs["evals"]] == [e["robust_acc"] for e in rq["evals"]]
    assert same_weights(weights(quiet), weights(shown))
    assert [line.split(": done in ")[0] for line in err] == ["training epoch 1/2 ...", "training epoch 1/2",
                                                              "training epoch 2/2 ...", "training epoch 2/2"]
    assert err[1].startswith("training epoch 1/2: done in ") and err[1].endswith(" s")
    Trainer(cfg.replace(epochs=1), tiny_data).fit()
    assert capsys.readouterr().err == "", "the default (None): bars on a terminal only"


# ------------------------------------------------------------------ resume and determinism


@pytest.mark.parametrize("method", METHODS)
def test_resume_after_interruption_equals_an_uninterrupted_run(method: str, tiny_data: TensorData, smoke_config,
                                                               tmp_path: Path) -> None:
    cfg = smoke_config(method=method, epochs=3, augment=True, lr_schedule="cosine", p_up=0.4)
    full = Trainer(cfg, tiny_data, checkpoint=tmp_path / "full.pt", observers=[Interrupt(None)], progress=False)
    full_result = full.fit()

    ckpt = tmp_path / "interrupted.pt"
    first = Trainer(cfg, tiny_data, checkpoint=ckpt, observers=[Interrupt(2)], progress=False)
    with pytest.raises(KeyboardInterrupt):
        first.fit()
    assert len(first.epochs) == 1
    assert len(torch.load(ckpt, weights_only=True)["epochs"]) == 1, "epoch 1's checkpoint is on disk"

    lines: list[str] = []
    resumed = Trainer(cfg, tiny_data, checkpoint=ckpt, observers=[Interrupt(None)], progress=False, log=lines.append)
    result = resumed.fit()
    assert lines[0] == f"resumed from {ckpt} after epoch 1"
    assert [r["epoch"] for r in result["epochs"]] == [1, 2, 3]
    assert [untimed(r) for r in result["epochs"]] == [untimed(r) for r in full_result["epochs"]]
    assert [untimed(e) for e in result["evals"]] == [untimed(e) for e in full_result["evals"]]
    assert same_weights(weights(resumed), weights(full))
    assert resumed.step == full.step and resumed.passes == full.passes


def _plain_types(obj: Any, path: str = "checkpoint") -> None:
    """Fail unless ``obj`` holds only tensors, numbers, strings, None and plain containers."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert isinstance(k, (str, int)), f"{path}: key {k!r}"
            _plain_types(v, f"{path}[{k!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _plain_types(v, f"{path}[{i}]")
    else:
        assert obj is None or isinstance(obj, (torch.Tensor, bool, int, float, str)), f"{path}: {type(obj)}"


@pytest.mark.parametrize("method", ["ds-adaptive", "cat", "robust"])
def test_checkpoint_loads_with_weights_only_and_round_trips(method: str, tiny_data: TensorData, smoke_config,
                                                           tmp_path: Path) -> None:
    """A checkpoint holds plain data only (torch.load(weights_only=True)); loading it restores every state."""
    import random

    cfg = smoke_config(method=method, epochs=2, augment=True, min_eps_probe=4, similarity_probe=8)
    ckpt = tmp_path / "c.pt"
    first = Trainer(cfg, tiny_data, checkpoint=ckpt, observers=[Interrupt(2)], progress=False)
    with pytest.raises(KeyboardInterrupt):
        first.fit()
    saved = torch.load(ckpt, weights_only=True)
    _plain_types(saved)
    assert isinstance(saved["py_rng"], list) and isinstance(saved["py_rng"][1], list)

    random.seed(12345)  # the resumed run must restore the Python generator, not keep this one
    again = Trainer(cfg, tiny_data, checkpoint=ckpt, observers=[Interrupt(None)], progress=False)
    state = checkpoint.read(ckpt, cfg.key(), again.observers, map_location="cpu")
    assert state is not None
    checkpoint.restore(again, state)
    restored = checkpoint.state(again)
    for name in ("model", "py_rng", "torch_rng", "aug_gen", "sel_gen", "sampler", "observers", "epochs", "step", "p_up",
                 "passes", "optimizer", "scheduler"):
        assert _equal(restored[name], saved[name]), name


def _equal(a: Any, b: Any) -> bool:
    """Deep equality where tensors compare by value (NaN equal to NaN)."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a.cpu(), b.cpu())
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(_equal, a, b))
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def test_no_checkpoint_is_loaded_with_weights_only_false(repo: Path) -> None:
    assert not [p for p in (repo / "advsel").rglob("*.py") if "weights_only=False" in p.read_text()]


def test_resume_with_other_observers_starts_over_with_a_warning(tiny_data: TensorData, smoke_config,
                                                                tmp_path: Path) -> None:
    cfg = smoke_config(method="ds", epochs=3)
    ckpt = tmp_path / "c.pt"
    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg, tiny_data, checkpoint=ckpt, observers=[Interrupt(2)], progress=False).fit()
    with pytest.warns(UserWarning, match="observers"):
        result = Trainer(cfg, tiny_data, checkpoint=ckpt, progress=False).fit()
    fresh = Trainer(cfg, tiny_data, progress=False).fit()
    assert [untimed(r) for r in result["epochs"]] == [untimed(r) for r in fresh["epochs"]]


def test_a_finished_checkpoint_is_not_trained_again(tiny_data: TensorData, smoke_config, tmp_path: Path) -> None:
    cfg = smoke_config(method="robust", epochs=2)
    first = Trainer(cfg, tiny_data, checkpoint=tmp_path / "c.pt", progress=False)
    r1 = first.fit()
    again = Trainer(cfg, tiny_data, checkpoint=tmp_path / "c.pt", progress=False)
    again.train_step = None  # type: ignore[assignment,method-assign]  # any training step would fail
    r2 = again.fit()
    assert r2["epochs"] == r1["epochs"] and same_weights(weights(first), weights(again))


def test_checkpoint_of_another_config_is_ignored_with_a_warning(tiny_data: TensorData, smoke_config,
                                                               tmp_path: Path) -> None:
    ckpt = tmp_path / "c.pt"
    Trainer(smoke_config(method="robust"), tiny_data, checkpoint=ckpt, progress=False).fit()
    other = Trainer(smoke_config(method="ds"), tiny_data, checkpoint=ckpt, progress=False)
    with pytest.warns(UserWarning, match="another config"):
        result = other.fit()
    assert len(result["epochs"]) == 1 and result["config"]["method"] == "ds"


def test_corrupt_checkpoint_starts_over_with_a_warning(tiny_data: TensorData, smoke_config, tmp_path: Path) -> None:
    ckpt = tmp_path / "c.pt"
    ckpt.write_bytes(b"not a checkpoint")
    cfg = smoke_config(method="standard")
    with pytest.warns(UserWarning, match="unusable"):
        result = Trainer(cfg, tiny_data, checkpoint=ckpt, progress=False).fit()
    fresh = Trainer(cfg, tiny_data, progress=False).fit()
    assert [untimed(r) for r in result["epochs"]] == [untimed(r) for r in fresh["epochs"]]


@pytest.mark.parametrize("method", ["ds", "random", "ds-adaptive"])
def test_identical_runs_give_identical_results(method: str, tiny_data: TensorData, smoke_config) -> None:
    cfg = smoke_config(method=method, epochs=2, augment=True)
    a = Trainer(cfg, tiny_data, progress=False)
    ra = a.fit()
    torch.rand(10)  # unrelated use of the global generator in between
    b = Trainer(cfg, tiny_data, progress=False)
    rb = b.fit()
    assert [untimed(r) for r in ra["epochs"]] == [untimed(r) for r in rb["epochs"]]
    assert same_weights(weights(a), weights(b))
    c = Trainer(cfg.replace(seed=1), tiny_data, progress=False)
    c.fit()
    assert not same_weights(weights(a), weights(c)), "the seed matters"


def test_result_does_not_depend_on_when_fit_is_called(tiny_data: TensorData, smoke_config) -> None:
    cfg = smoke_config(method="robust")
    a, b = Trainer(cfg, tiny_data, progress=False), Trainer(cfg, tiny_data, progress=False)
    ra, rb = a.fit(), b.fit()
    assert [untimed(r) for r in ra["epochs"]] == [untimed(r) for r in rb["epochs"]]


# ------------------------------------------------------------------ helpers


def test_lr_factor_schedules() -> None:
    assert lr_factor("constant", 37, 100, (0.5,)) == 1.0
    assert lr_factor("cosine", 0, 100, ()) == pytest.approx(1.0)
    assert lr_factor("cosine", 50, 100, ()) == pytest.approx(0.5)
    assert lr_factor("cosine", 100, 100, ()) == pytest.approx(0.0)
    assert lr_factor("cosine", 150, 100, ()) == pytest.approx(0.0)
    ms = (0.5, 0.75)
    assert [lr_factor("multistep", s, 100, ms) for s in (0, 49, 50, 74, 75, 99)] == pytest.approx(
        [1, 1, 0.1, 0.1, 0.01, 0.01])


def test_lr_schedule_reaches_the_optimizer(tiny_data: TensorData, smoke_config) -> None:
    cfg = smoke_config(method="standard", epochs=2, lr=0.1, lr_schedule="multistep", milestones=(0.5,))
    epochs = Trainer(cfg, tiny_data, progress=False).fit()["epochs"]
    assert [r["lr"] for r in epochs] == pytest.approx([0.01, 0.01])  # after epoch 1 = step 4 of 8: past 0.5
    cfg = cfg.replace(lr_schedule="constant")
    assert [r["lr"] for r in Trainer(cfg, tiny_data, progress=False).fit()["epochs"]] == [0.1, 0.1]


def test_resolve_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match=r"device='cuda' .* no CUDA device .* choose auto or cpu"):
        resolve_device("cuda")
    with pytest.raises(ConfigError, match=r"device='tpu' is not allowed; choose one of: auto, cpu, cuda"):
        resolve_device("tpu")


# ------------------------------------------------------------------ errors


def test_cuda_without_a_gpu_is_a_config_error(monkeypatch: pytest.MonkeyPatch, tiny_data: TensorData,
                                             smoke_config) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"device='cuda'.*torch\.cuda\.is_available\(\) is False"):
        Trainer(smoke_config(device="cuda"), tiny_data)


def test_batch_larger_than_the_data_is_a_config_error(tiny_data: TensorData, smoke_config) -> None:
    with pytest.raises(ConfigError, match=r"batch_size=500 .* larger than the 200 training samples; "
                                          r"it must be <= 200") as info:
        Trainer(smoke_config(batch_size=500), tiny_data)
    assert (info.value.param, info.value.value) == ("batch_size", 500)


def test_train_size_larger_than_the_data_is_a_config_error(tiny_data: TensorData, smoke_config) -> None:
    with pytest.raises(ConfigError, match=r"train_size=1000 is larger than the 300 training samples available; "
                                          r"it must be <= 300 \(or all\)") as info:
        Trainer(smoke_config(train_size=1000), tiny_data)
    assert (info.value.param, info.value.value) == ("train_size", 1000)


@pytest.mark.parametrize(("split", "bad"), [("training", 10), ("test", 10), ("training", -1)])
def test_labels_outside_the_classes_are_a_config_error(split: str, bad: int, data_factory, smoke_config) -> None:
    data = data_factory()
    y = (data.y_train if split == "training" else data.y_test).clone()
    y[5] = bad
    if split == "training":
        data.y_train = y
    else:
        data.y_test = y
    lo, hi = min(bad, 0), max(bad, 9)
    with pytest.raises(ConfigError, match=rf"{split} labels range over \[{lo}, {hi}\] but the model has 10 classes; "
                                          r"labels must be in \[0, 9\]"):
        Trainer(smoke_config(), data)


def test_nan_loss_names_epoch_and_step_and_keeps_the_checkpoint(tiny_data: TensorData, smoke_config,
                                                               tmp_path: Path) -> None:
    ckpt = tmp_path / "run.ckpt.pt"
    cfg = smoke_config(method="ds", epochs=3)
    with pytest.raises(NonFiniteLossError) as info:
        Trainer(cfg, tiny_data, checkpoint=ckpt, observers=[PoisonWeights(at=2)], progress=False).fit()
    msg = str(info.value)
    assert "epoch 2, step 2" in msg and "nan" in msg and str(ckpt) in msg
    assert isinstance(info.value, RuntimeError)
    state = torch.load(ckpt, weights_only=True)
    assert len(state["epochs"]) == 1
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    # the kept checkpoint is good: training resumes from it
    result = Trainer(cfg, tiny_data, checkpoint=ckpt, observers=[PoisonWeights(at=99)], progress=False).fit()
    assert [r["epoch"] for r in result["epochs"]] == [1, 2, 3]


def test_a_huge_learning_rate_diverges_with_a_clear_error(tiny_data: TensorData, smoke_config) -> None:
    with pytest.raises(NonFiniteLossError, match=r"training loss is (nan|inf) at epoch 1, step \d+; "
                                                 r"this run writes no checkpoint"):
        Trainer(smoke_config(method="robust", lr=1e30, epochs=2), tiny_data, progress=False).fit()


def test_epoch_stats_sum_the_counts_over_the_ranks_and_keep_steps_and_times() -> None:
    s = EpochStats.start()
    s.loss_sum += 1.5
    s.correct += 2
    s.n_selected, s.scored, s.steps, s.time_attack_s = 3, 4, 2, 0.5
    s.reduce(lambda v: v * 2)  # two ranks that hold the same sums
    assert (s.n_selected, s.scored, float(s.loss_sum), float(s.correct)) == (6, 8, 3.0, 4.0)
    assert isinstance(s.n_selected, int) and s.loss_sum.dtype == torch.float32, "types kept"
    assert (s.steps, s.time_attack_s) == (2, 0.5), "steps and times stay this rank's"
    assert s.train_loss == 0.5 and s.train_acc == 0.0, "scored but none correct: eq. (9)'s training accuracy"
