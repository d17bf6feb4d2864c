"""The methods cat, ds-cat and dong end to end: pass accounting, CAT weights from the training passes, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from _synthetic import REPO, has_real_mnist, make_data, real_data_dir, smoke

from advsel import cli, experiments
from advsel.cat import information_gain
from advsel.data import TensorData
from advsel.trainer import Trainer


class Recorder:
    """Observer keeping what each training step hands to the sampler and observers."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []

    def on_step(self, trainer: Trainer, idx: torch.Tensor, sel: Any, x: torch.Tensor, x_adv: torch.Tensor | None,
                y: torch.Tensor, logits_adv: torch.Tensor | None) -> None:
        self.steps.append({"idx": idx.clone(), "y": y.clone(), "logits_adv": logits_adv.clone(),
                           "from_scoring": logits_adv is sel.logits_adv, "scored": sel.scored,
                           "selected": len(sel.y)})


def _fit_counting_forwards(method: str, data: TensorData) -> tuple[Trainer, Recorder, int]:
    """One smoke epoch with evaluation and warm-up stubbed out; returns the samples forwarded by the model."""
    rec = Recorder()
    trainer = Trainer(smoke(method=method), data, observers=[rec])
    trainer.evaluate = lambda: {"clean_acc": 0.0, "robust_acc": 0.0}
    trainer.warm_up = lambda: None
    forwarded = []
    trainer.model.register_forward_pre_hook(lambda module, inputs: forwarded.append(inputs[0].shape[0]))
    trainer.fit()
    return trainer, rec, sum(forwarded)


def _replay_weights(trainer: Trainer, rec: Recorder) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. (4) replayed from the recorded steps; returns the expected weights and which positions were drawn."""
    s = trainer.sampler
    expected = torch.ones(len(s.indices), dtype=torch.float64)
    drawn = torch.zeros(len(s.indices), dtype=torch.bool)
    for step in rec.steps:
        pos = s.position[step["idx"]]
        gain = information_gain(step["logits_adv"], step["y"]).double()
        expected[pos] = s.alpha * expected[pos] + (1 - s.alpha) * gain
        drawn[pos] = True
    return expected, drawn


@pytest.mark.parametrize("method", ["ds-cat", "cat"])
def test_cat_weights_come_from_the_training_passes_without_an_extra_forward(method: str) -> None:
    trainer, rec, forwarded = _fit_counting_forwards(method, make_data())
    c = trainer.config
    b, spe = c.batch_size, trainer.sampler.steps_per_epoch
    assert spe == 4 and len(rec.steps) == spe
    if method == "ds-cat":
        k = round(c.p_up * 2 * b)
        per_step = c.steps * b + 2 * b + k  # attack + scoring pass over 2b' + training pass over the k selected
        assert all(st["from_scoring"] and st["scored"] == 2 * b and st["selected"] == k for st in rec.steps)
    else:
        per_step = c.steps * b + b  # attack + training pass over the b' adversarial samples
        assert all(st["scored"] == 0 and st["selected"] == b for st in rec.steps)
    assert forwarded == spe * per_step  # the weight update costs no forward pass
    assert trainer.pass_totals()["forward_passes"] == spe * per_step
    assert trainer.epochs[0]["forward_passes"] == spe * per_step
    assert all(st["logits_adv"].shape == (b, 10) for st in rec.steps)

    expected, drawn = _replay_weights(trainer, rec)
    weights = trainer.sampler.weights.double()
    assert drawn.any() and (~drawn).any()
    torch.testing.assert_close(weights, expected, atol=1e-5, rtol=0)
    assert torch.all(weights[~drawn] == 1)  # samples never drawn keep their initial weight
    assert torch.all(weights[drawn] != 1)


def test_cat_alpha_zero_makes_weights_the_last_gain() -> None:
    rec = Recorder()
    trainer = Trainer(smoke(method="cat", cat_alpha=0.0), make_data(), observers=[rec])
    trainer.evaluate = lambda: {"clean_acc": 0.0, "robust_acc": 0.0}
    trainer.fit()
    last: dict[int, float] = {}
    for st in rec.steps:
        for i, g in zip(st["idx"].tolist(), information_gain(st["logits_adv"], st["y"]).tolist(), strict=True):
            last[i] = g
    s = trainer.sampler
    got = {i: s.weights[s.position[i]].item() for i in last}
    assert got == pytest.approx(last, abs=1e-6)


def test_cat_batch_larger_than_data_is_a_config_error() -> None:
    from advsel.config import ConfigError

    with pytest.raises(ConfigError, match="batch_size"):
        Trainer(smoke(method="cat", batch_size=201), make_data())


# ----------------------------------------------------------------------------- the CLI on real MNIST
needs_mnist = pytest.mark.skipif(not has_real_mnist(), reason=f"real MNIST not found under {real_data_dir()}; "
                                 "set ADVSEL_DATA to the data folder")
_REAL: dict[str, TensorData] = {}  # experiments._DATA for these tests: MNIST is read once, by the CLI's own loader


@needs_mnist
@pytest.mark.parametrize("method", ["cat", "ds-cat", "dong"])
def test_cli_trains_one_smoke_epoch(method: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ADVSEL_DATA", str(real_data_dir()))
    monkeypatch.setattr(experiments, "_DATA", _REAL)
    out = tmp_path / "result.json"
    rc = cli.main(["train", "--profile", "smoke", "--method", method, "--device", "cpu",
                   "--cache-dir", str(tmp_path / "runs"), "--out", str(out), "--quiet"])
    assert rc == 0
    assert "done:" in capsys.readouterr().out
    res = json.loads(out.read_text())
    assert res["config"]["method"] == method and res["config"]["profile"] == "smoke"
    assert "MNIST" in res["data_source"] and "synthetic" not in res["data_source"]
    assert len(res["epochs"]) == 1 and res["complete"]
    rec = res["epochs"][0]
    assert 0 <= rec["clean_acc"] <= 1 and 0 <= rec["robust_acc"] <= 1
    assert rec["steps"] == res["train_size"] // 50
    if method == "dong":
        assert res["train_size"] == 100 and res["pretrain"]["subset_size"] == 100
        assert res["pretrain"]["train_time_s"] > 0
    else:
        assert res["train_size"] == 200
    if method == "ds-cat":  # PGD-2 on 50, scoring 100, training 50
        assert rec["forward_passes"] == 4 * (2 * 50 + 100 + 50)
    if method == "cat":
        assert rec["forward_passes"] == 4 * (2 * 50 + 50) and rec["selected_adv"] == 50


def test_cli_rejects_bad_cat_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for flag, value in (("--cat-alpha", "1"), ("--cat-temperature", "0")):
        rc = cli.main(["train", "--profile", "smoke", "--method", "cat", flag, value, "--device", "cpu",
                       "--cache-dir", str(tmp_path)])
        assert rc == 2
        assert f"{flag} {value}:" in capsys.readouterr().err


@pytest.mark.slow
@needs_mnist
def test_python_m_advsel_cat_subprocess(tmp_path: Path) -> None:
    env = dict(os.environ, ADVSEL_DATA=str(real_data_dir()), ADVSEL_RUNS=str(tmp_path / "runs"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    out = tmp_path / "cat.json"
    proc = subprocess.run([sys.executable, "-m", "advsel", "train", "--profile", "smoke", "--method", "cat",
                           "--cat-alpha", "0.5", "--device", "cpu", "--cache-dir", str(tmp_path / "runs"),
                           "--out", str(out)], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "epoch   1/1" in proc.stdout and "done:" in proc.stdout
    res = json.loads(out.read_text())
    assert res["config"]["method"] == "cat" and res["config"]["cat_alpha"] == 0.5
    assert len(res["epochs"]) == 1


# ------------------------------------------------------------------ prescreen: attack only the screened share
@pytest.mark.parametrize("share", [0.2, 0.5, 1.0])
def test_prescreen_attack_passes_are_the_share_of_pgd_ats(share: float) -> None:
    """Per step prescreen attacks share x b' samples: attack passes = share x PGD-AT's, exactly; its training
    forward passes are the b' screening pass plus the b' trained samples (attacked + clean)."""
    data = make_data()
    at, _, _ = _fit_counting_forwards("robust", data)
    pre = Trainer(smoke(method="prescreen", attack_share=share), data)
    pre.evaluate = lambda: {"clean_acc": 0.0, "robust_acc": 0.0}
    pre.warm_up = lambda: None
    pre.fit()
    steps = pre.epochs[0]["steps"]
    assert steps == at.epochs[0]["steps"] == 4
    for kind in ("attack_forward", "attack_backward"):
        assert pre.passes[kind] == round(share * at.passes[kind])
    assert pre.passes["train_forward"] == steps * (50 + 50) and pre.passes["train_backward"] == steps * 50


def test_prescreen_attacks_the_highest_clean_loss_and_skips_the_rest() -> None:
    from advsel.selectors import screen, screened

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    x, y = torch.rand(6, 1, 2, 2), torch.tensor([0, 1, 2, 0, 1, 2])
    attacked, others = screen(model, x, y, 0.5)
    with torch.no_grad():
        losses = torch.nn.functional.cross_entropy(model(x), y, reduction="none")
    assert set(attacked.tolist()) == set(losses.topk(3).indices.tolist())
    assert sorted(attacked.tolist() + others.tolist()) == list(range(6))
    x_adv = x[attacked] + 0.01
    keep = screened(x, y, x_adv, attacked, others, "clean")
    assert len(keep.y) == 6 and int(keep.n_adv) == 3 and int(keep.n_clean) == 3
    skip = screened(x, y, x_adv, attacked, others, "skip")
    assert len(skip.y) == 3 and torch.equal(skip.x, x_adv) and torch.equal(skip.y, y[attacked])
    with pytest.raises(ValueError, match="unattacked='drop' is not allowed"):
        screened(x, y, x_adv, attacked, others, "drop")


@needs_mnist
def test_cli_trains_prescreen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVSEL_DATA", str(real_data_dir()))
    monkeypatch.setattr(experiments, "_DATA", _REAL)
    out = tmp_path / "result.json"
    assert cli.main(["train", "--profile", "smoke", "--method", "prescreen", "--attack-share", "0.25",
                     "--unattacked", "skip", "--device", "cpu", "--cache-dir", str(tmp_path / "runs"), "--out",
                     str(out), "--quiet"]) == 0
    rec = json.loads(out.read_text())["epochs"][0]  # 4 steps: PGD-2 on 13 of 50, screening 50, training 13
    assert rec["forward_passes"] == 4 * (2 * 13 + 50 + 13) and rec["selected_adv"] == 13  # per step
