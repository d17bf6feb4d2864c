"""The final evaluation: FinalEval's checks and matching, evaluate_model, run(final=...) from kept weights,
and evaluation that never changes training."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from advsel import experiments
from advsel.data import TensorData
from advsel.evaluation import TEST_SUBSET_SEED, FinalEval, evaluate_model, final_eval
from advsel.evaluation import test_subset as subset_of  # (not named test_*: pytest would collect it)
from advsel.experiments import MissingResultError
from advsel.models import load_model
from advsel.runs import model_path, result_path
from advsel.trainer import Trainer

# ------------------------------------------------------------------ FinalEval


def test_final_eval_defaults_and_resolve() -> None:
    spec = FinalEval()
    assert (spec.n, spec.steps, spec.restarts, spec.eps, spec.alpha, spec.autoattack_n, spec.seed) == \
        (2000, 20, 2, None, None, 0, 0)
    assert spec.resolve(0.3, 0.075) == (0.3, 0.075), "None: the run's evaluation eps and alpha"
    assert FinalEval(eps=0.1).resolve(0.3, 0.075) == (0.1, 0.075)
    assert FinalEval(eps=0.1, alpha=0.02).resolve(0.3, 0.075) == (0.1, 0.02)
    assert FinalEval(eps=0).resolve(0.3, 0.075) == (0, 0.075), "eps 0 is allowed (clean accuracy through PGD)"
    assert FinalEval(n=5, autoattack_n=3).to_dict()["autoattack_n"] == 3


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(n=0), "n=0 is not allowed; n must be an integer >= 1"),
    (dict(n=1.5), "n=1.5 is not allowed; n must be an integer >= 1"),
    (dict(n=True), "n=True is not allowed"),
    (dict(steps=-1), "steps=-1 is not allowed; steps must be an integer >= 0"),
    (dict(restarts=0), "restarts=0 is not allowed; restarts must be an integer >= 1"),
    (dict(autoattack_n=-1), "autoattack_n=-1 is not allowed; autoattack_n must be an integer >= 0"),
    (dict(eps=-0.1), "eps=-0.1 is not allowed; eps must be a number >= 0 or None"),
    (dict(eps=math.nan), "eps=nan is not allowed"),
    (dict(eps=math.inf), "eps=inf is not allowed"),
    (dict(eps="8/255"), "eps='8/255' is not allowed"),
    (dict(eps=True), "eps=True is not allowed"),
    (dict(alpha=0.0), "alpha=0.0 is not allowed; alpha must be a number > 0 or None"),
    (dict(alpha=-1), "alpha=-1 is not allowed"),
])
def test_final_eval_rejects_bad_settings_naming_them(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        FinalEval(**kwargs)


def _record(spec: FinalEval, eps: float = 0.3, alpha: float = 0.075) -> dict[str, Any]:
    """A record as evaluate_model writes it for ``spec`` (no model needed)."""
    e, a = spec.resolve(eps, alpha)
    rec = {"n": spec.n, "n_asked": spec.n, "seed": spec.seed, "precision": "fp32", "clean_acc": 0.9,
           "attack": {"name": "pgd", "eps": e, "alpha": a, "steps": spec.steps, "restarts": spec.restarts},
           "robust_acc": 0.5}
    if spec.autoattack_n:
        rec["autoattack"] = {"n": spec.autoattack_n, "n_asked": spec.autoattack_n, "version": "standard", "eps": e,
                             "robust_acc": 0.4}
    return rec


@pytest.mark.parametrize("other", [dict(n=100), dict(steps=10), dict(restarts=1), dict(eps=0.2), dict(alpha=0.05),
                                   dict(seed=1), dict(autoattack_n=50)])
def test_matches_only_a_record_made_with_the_same_settings(other: dict[str, Any]) -> None:
    spec = FinalEval(n=200, steps=20, restarts=2)
    rec = _record(spec)
    assert spec.matches(rec, 0.3, 0.075)
    assert FinalEval(n=200, steps=20, restarts=2, eps=0.3, alpha=0.075).matches(rec, 0.3, 0.075), \
        "explicit eps/alpha equal to the run's are the same settings"
    changed = FinalEval(**{**spec.to_dict(), **other})
    assert not changed.matches(rec, 0.3, 0.075)
    assert changed.matches(_record(changed), 0.3, 0.075)


def test_matches_takes_the_runs_eps_and_alpha_and_rejects_no_record() -> None:
    spec = FinalEval(n=10)
    rec = _record(spec, eps=0.3, alpha=0.075)
    assert not spec.matches(rec, 8 / 255, 2 / 255), "another run's evaluation eps"
    assert not spec.matches(None, 0.3, 0.075) and not spec.matches({}, 0.3, 0.075)
    with_aa = FinalEval(n=10, autoattack_n=4)
    assert with_aa.matches(_record(with_aa), 0.3, 0.075) and not spec.matches(_record(with_aa), 0.3, 0.075)


# ------------------------------------------------------------------ evaluate_model, test_subset


def test_test_subset_is_fixed_class_balanced_and_nested(tiny_data: TensorData) -> None:
    x, y = subset_of(tiny_data, 40)
    assert x.dtype == torch.float32 and 0 <= float(x.min()) and float(x.max()) <= 1
    assert torch.bincount(y, minlength=10).tolist() == [4] * 10
    x2, y2 = subset_of(tiny_data, 40)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    xs, _ = subset_of(tiny_data, 20)
    assert all(any(torch.equal(a, b) for b in x) for a in xs), "the smaller subset lies inside the larger"
    assert len(subset_of(tiny_data, 10_000)[1]) == len(tiny_data.y_test), "capped by the test set"
    assert TEST_SUBSET_SEED == 1234


def _trained(tiny_data: TensorData, smoke_config, **overrides: Any) -> Trainer:
    trainer = Trainer(smoke_config(**overrides), tiny_data)
    trainer.fit()
    return trainer


def test_evaluate_model_depends_on_the_weights_alone(tiny_data: TensorData, smoke_config) -> None:
    model = _trained(tiny_data, smoke_config, method="robust").model
    x, y = subset_of(tiny_data, 50)
    kw = dict(eps=0.3, alpha=0.1, steps=3, restarts=2, seed=0)
    torch.manual_seed(0)
    a = evaluate_model(model, x, y, **kw)
    state = torch.get_rng_state()
    torch.manual_seed(123)
    b = evaluate_model(model, x, y, **kw)
    assert a == b, "the random starts come from the record's seed, not torch's global generator"
    torch.manual_seed(0)
    evaluate_model(model, x, y, **kw)
    assert torch.equal(torch.get_rng_state(), state), "the global generator is not consumed"
    assert a["n"] == a["n_asked"] == 50 and a["attack"] == {"name": "pgd", "eps": 0.3, "alpha": 0.1, "steps": 3,
                                                            "restarts": 2}
    assert 0 <= a["robust_acc"] <= a["clean_acc"] <= 1
    assert evaluate_model(model, x, y, **{**kw, "seed": 1})["clean_acc"] == a["clean_acc"]
    no_pgd = evaluate_model(model, x, y, **kw, pgd=False)
    assert "attack" not in no_pgd and "robust_acc" not in no_pgd and no_pgd["clean_acc"] == a["clean_acc"]


def test_autoattack_runs_on_a_class_balanced_part(tiny_data: TensorData, smoke_config,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from advsel import evaluation

    seen: list[torch.Tensor] = []
    monkeypatch.setattr(evaluation, "autoattack_accuracy", lambda model, x, y, **kw: seen.append(y) or 0.25)
    model = _trained(tiny_data, smoke_config, method="standard").model
    x, y = subset_of(tiny_data, 60)
    rec = evaluate_model(model, x, y, eps=0.3, alpha=0.1, steps=1, restarts=1, autoattack_n=20)
    assert rec["autoattack"] == {"n": 20, "n_asked": 20, "version": "standard", "eps": 0.3, "robust_acc": 0.25}
    assert torch.bincount(seen[0], minlength=10).tolist() == [2] * 10
    rec = evaluate_model(model, x, y, eps=0.3, alpha=0.1, steps=1, restarts=1, autoattack_n=500)
    assert rec["autoattack"]["n"] == 60 and rec["autoattack"]["n_asked"] == 500 and torch.equal(seen[1], y)


# ------------------------------------------------------------------ run(final=...)


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch):
    """Call to make any further training fail the test."""

    def forbid() -> None:
        def fit(self: Trainer) -> dict[str, Any]:
            raise AssertionError("trained although the weights were kept")

        monkeypatch.setattr(Trainer, "fit", fit)

    return forbid


def test_run_final_adds_the_record_and_reuses_it(synthetic_experiments: TensorData, smoke_config, tmp_path,
                                                 no_training, monkeypatch: pytest.MonkeyPatch) -> None:
    config = smoke_config(method="robust")
    spec = FinalEval(n=50, steps=3, restarts=2)
    first = experiments.run(config, tmp_path, final=spec)
    fe = first["final_eval"]
    assert spec.matches(fe, config.effective_eval_eps, config.effective_eval_alpha)
    assert fe["attack"]["eps"] == config.effective_eval_eps and fe["attack"]["alpha"] == config.effective_eval_alpha
    assert model_path(config, tmp_path).is_file(), "the final weights are kept beside the result"
    # the record equals an evaluation of the kept weights
    model, meta = load_model(model_path(config, tmp_path))
    assert meta["key"] == config.key()
    direct = final_eval(model, synthetic_experiments, spec, eps=config.effective_eval_eps,
                        alpha=config.effective_eval_alpha)
    assert direct == fe

    no_training()
    evaluations: list[int] = []
    real = experiments.final_eval
    monkeypatch.setattr(experiments, "final_eval", lambda *a, **k: evaluations.append(1) or real(*a, **k))
    again = experiments.run(config, tmp_path, final=spec)
    assert again["final_eval"] == fe and evaluations == [], "reused: neither trained nor evaluated again"
    # other settings: evaluated from the kept weights, without training, and stored
    stronger = FinalEval(n=50, steps=5, restarts=3, eps=0.2)
    third = experiments.run(config, tmp_path, final=stronger)
    assert evaluations == [1] and third["epochs"] == first["epochs"]
    assert stronger.matches(third["final_eval"], config.effective_eval_eps, config.effective_eval_alpha)
    assert third["final_eval"]["attack"]["steps"] == 5 and third["final_eval"]["attack"]["eps"] == 0.2
    stored = experiments.run(config, tmp_path)
    assert stored["final_eval"] == third["final_eval"], "written to the cache"


def test_run_final_on_a_result_cached_without_it(synthetic_experiments: TensorData, smoke_config, tmp_path,
                                                 no_training, monkeypatch: pytest.MonkeyPatch) -> None:
    config = smoke_config(method="standard")
    plain = experiments.run(config, tmp_path)
    assert "final_eval" not in plain
    no_training()
    spec = FinalEval(n=30, steps=2, restarts=1)
    monkeypatch.setenv("ADVSEL_CACHED_ONLY", "1")
    with pytest.raises(MissingResultError, match="has no final evaluation with these settings"):
        experiments.run(config, tmp_path, final=spec)
    monkeypatch.delenv("ADVSEL_CACHED_ONLY")
    result = experiments.run(config, tmp_path, final=spec)
    assert result["epochs"] == plain["epochs"] and spec.matches(result["final_eval"], config.effective_eval_eps,
                                                                config.effective_eval_alpha)


def test_run_final_retrains_a_result_without_kept_weights(synthetic_experiments: TensorData, smoke_config,
                                                          tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = smoke_config(method="standard")
    first = experiments.run(config, tmp_path)
    model_path(config, tmp_path).unlink()  # a result without kept weights
    monkeypatch.setenv("ADVSEL_CACHED_ONLY", "1")
    with pytest.raises(MissingResultError, match=r"has no kept weights \(.*\.model\.pt\)"):
        experiments.run(config, tmp_path, final=FinalEval(n=20, steps=1))
    monkeypatch.delenv("ADVSEL_CACHED_ONLY")
    fits: list[int] = []
    real = Trainer.fit
    monkeypatch.setattr(Trainer, "fit", lambda self: fits.append(1) or real(self))
    result = experiments.run(config, tmp_path, final=FinalEval(n=20, steps=1))
    assert fits == [1] and "final_eval" in result and model_path(config, tmp_path).is_file()
    assert [r["train_loss"] for r in result["epochs"]] == [r["train_loss"] for r in first["epochs"]]
    assert result_path(config, tmp_path).is_file()


# ------------------------------------------------------------------ evaluation never changes training


@pytest.mark.parametrize("method", ["ds", "random", "cat", "ds-adaptive"])
def test_evaluating_more_often_leaves_training_bit_identical(tiny_data: TensorData, smoke_config,
                                                             method: str) -> None:
    runs = {}
    for every in (0, 1):
        trainer = Trainer(smoke_config(method=method, epochs=2, eval_every=every), tiny_data)
        runs[every] = (trainer.fit(), {k: v.clone() for k, v in trainer.model.state_dict().items()})
    (quiet, w0), (busy, w1) = runs[0], runs[1]
    steps = sum(r["steps"] for r in quiet["epochs"])
    assert len(quiet["evals"]) == 2 and len(busy["evals"]) == steps, "evaluated after every step"
    for a, b in zip(quiet["epochs"], busy["epochs"], strict=True):
        for k in ("train_loss", "train_acc", "p_up", "selected_clean", "selected_adv", "clean_acc", "robust_acc"):
            assert a[k] == b[k], (k, a["epoch"])
    assert all(torch.equal(w0[k], w1[k]) for k in w0), "the same final weights"
