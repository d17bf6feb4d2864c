"""Analyses: minimum-eps search (DS Fig. 8), prediction similarity (CAT Fig. 1), time to accuracy (CAT Tables)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from _synthetic import make_data, smoke

from advsel.analysis import (
    MinEpsProbe,
    SimilarityProbe,
    cosine_similarity,
    minimum_eps,
    summarize,
    time_to_accuracy,
)
from advsel.attacks import pgd
from advsel.data import MEAN_STD, to_float
from advsel.models import build_model
from advsel.trainer import Trainer


class MeanThreshold(nn.Module):
    """Two classes, logits (0, s * (mean(x) - t)): predicts 1 iff mean(x) > t.

    PGD's signed gradient moves every pixel by the full budget (up for label 0, down for
    label 1), so a sample of constant value v flips at the first eps with v + eps > t
    (label 0) or v - eps < t (label 1): minimum eps known by hand.
    """

    def __init__(self, t: float = 0.5, s: float = 10.0) -> None:
        super().__init__()
        self.t, self.s = t, s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.flatten(1).mean(1)
        return torch.stack([torch.zeros_like(m), self.s * (m - self.t)], 1)


EPS, ALPHA, STEPS = 0.3, 0.15, 3  # grid of 8: step 0.0375


def _hand_batch() -> tuple[torch.Tensor, torch.Tensor]:
    #            label, constant pixel value
    rows = [(0, 0.48), (0, 0.45), (0, 0.40), (0, 0.21), (0, 0.15), (0, 0.05), (0, 0.60), (1, 0.70), (1, 0.40)]
    y = torch.tensor([r[0] for r in rows])
    x = torch.tensor([r[1] for r in rows]).view(-1, 1, 1, 1).expand(-1, 1, 2, 2).contiguous()
    return x, y


def _grid(k: int, grid: int = 8) -> float:
    return EPS * k / grid


def test_minimum_eps_hand_checked_values() -> None:
    x, y = _hand_batch()
    m = minimum_eps(MeanThreshold(), x, y, eps=EPS, alpha=ALPHA, steps=STEPS)
    assert m.dtype == torch.float64
    expected = [_grid(1), _grid(2), _grid(3), EPS, math.inf, math.inf, 0.0, _grid(6), 0.0]
    assert m.tolist() == pytest.approx(expected, abs=1e-12)
    assert m[3].item() == EPS and m[3].item() <= EPS  # flipped by the training attack itself: exactly eps


def test_minimum_eps_finer_grid_and_larger_eps_max_never_raise_a_value() -> None:
    x, y = _hand_batch()
    model = MeanThreshold()
    base = minimum_eps(model, x, y, eps=EPS, alpha=ALPHA, steps=STEPS, grid=8)
    fine = minimum_eps(model, x, y, eps=EPS, alpha=ALPHA, steps=STEPS, grid=16)
    wide = minimum_eps(model, x, y, eps=EPS, alpha=ALPHA, steps=STEPS, eps_max=0.4)
    # by hand: grid 16 (step 0.01875) finds 0.05625 for the margin 0.05; eps_max 0.4 finds 0.375 for 0.35
    assert fine[1].item() == pytest.approx(_grid(3, 16)) and fine[1] < base[1]
    assert wide[4].item() == pytest.approx(_grid(10)) and math.isinf(base[4].item())
    assert math.isinf(wide[5].item())  # margin 0.45 > 0.4125, the last point of that grid
    finite = torch.isfinite(base)
    assert torch.all(fine[finite] <= base[finite])
    assert torch.equal(wide[finite], base[finite])  # the points up to eps do not move with eps_max
    # a flip at eps_k counts for every larger threshold: the share of samples with m <= tau only grows with tau
    shares = [(base <= tau).float().mean().item() for tau in (0, _grid(2), _grid(5), EPS, 1.0)]
    assert shares == sorted(shares)


def _trained_cnn(x: torch.Tensor, y: torch.Tensor) -> nn.Module:
    torch.manual_seed(0)
    model = build_model("small-cnn", (1, 8, 8), 10, *MEAN_STD["mnist"])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(30):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def cnn_batch() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    d = make_data(n_train=60, size=8, seed=3)
    x, y = to_float(d.x_train), d.y_train.clone()
    model = _trained_cnn(x, y)
    y[:5] = (y[:5] + 1) % 10  # a few wrong labels: misclassified clean
    return model, x, y


def test_minimum_eps_on_a_cnn_agrees_with_the_training_attack(cnn_batch) -> None:
    model, x, y = cnn_batch
    eps, alpha, steps = 0.1, 0.04, 3
    m = minimum_eps(model, x, y, eps=eps, alpha=alpha, steps=steps, grid=4)
    with torch.no_grad():
        clean_wrong = model(x).argmax(1) != y
    adv = pgd(model, x, y, eps=eps, alpha=alpha, steps=steps, random_start=False)
    with torch.no_grad():
        flipped = model(adv).argmax(1) != y
    assert clean_wrong.sum() >= 5
    assert torch.equal(m == 0, clean_wrong)
    assert torch.all(m[flipped] <= eps)  # the training attack flips it: found no later than eps
    never = ~flipped & torch.isinf(m)
    assert never.any() and (torch.isfinite(m) & (m > 0)).any()  # a non-trivial spread
    points = {0.0, math.inf} | {eps * (k / 4) for k in range(1, 5)}
    assert set(m.tolist()) <= points
    fine = minimum_eps(model, x, y, eps=eps, alpha=alpha, steps=steps, grid=8)
    finite = torch.isfinite(m)
    assert torch.all(fine[finite] <= m[finite])
    wide = minimum_eps(model, x, y, eps=eps, alpha=alpha, steps=steps, grid=4, eps_max=2 * eps)
    assert torch.all(wide[finite] <= m[finite])
    assert torch.all(wide[~finite] > eps)


def test_minimum_eps_rejects_bad_arguments() -> None:
    x, y = _hand_batch()
    model = MeanThreshold()
    for kw, name in ((dict(eps=0.0), "eps"), (dict(eps=-0.1), "eps"), (dict(grid=0), "grid"),
                     (dict(grid=2.5), "grid"), (dict(eps_max=0.2), "eps_max"), (dict(eps_max=math.inf), "eps_max")):
        args = dict(eps=EPS, alpha=ALPHA, steps=STEPS) | kw
        with pytest.raises(ValueError, match=name):
            minimum_eps(model, x, y, **args)


def test_min_eps_probe_counts_samples_flipped_exactly_at_eps() -> None:
    x, y = _hand_batch()
    model = MeanThreshold()
    trainer = SimpleNamespace(step=0, sampler=SimpleNamespace(steps_per_epoch=4), model=model,
                              config=SimpleNamespace(eps=EPS, alpha=ALPHA, steps=STEPS))
    probe = MinEpsProbe(size=4)
    sel = SimpleNamespace(adv_index=torch.tensor([0, 2, 3, 4, 1]))
    probe.on_step(trainer, torch.arange(9), sel, x, None, y, None)
    record = {"selected_adv": 10.0}
    probe.on_epoch_end(trainer, record)
    # probed: margins 0.02, 0.1, 0.29 (flipped exactly at eps) and 0.35 (never)
    assert record["min_eps_probed"] == 4
    assert record["min_adv_share"] == pytest.approx(0.75)
    assert record["min_adv_selected"] == pytest.approx(7.5)
    assert record["min_eps_mean"] == pytest.approx((_grid(1) + _grid(3) + EPS) / 3)
    # not the first step of an epoch: nothing measured
    trainer.step = 1
    probe.on_step(trainer, torch.arange(9), sel, x, None, y, None)
    later = {"selected_adv": 10.0}
    probe.on_epoch_end(trainer, later)
    assert later == {"selected_adv": 10.0}


# ----------------------------------------------------------------------------- CAT Fig. 1
def test_cosine_similarity_and_summarize() -> None:
    p = torch.softmax(torch.randn(6, 10, generator=torch.Generator().manual_seed(0)), 1)
    torch.testing.assert_close(cosine_similarity(p, p.clone()), torch.ones(6))
    one_hot = torch.eye(3)
    torch.testing.assert_close(cosine_similarity(one_hot, one_hot.roll(1, 0)), torch.zeros(3))
    s = summarize(torch.arange(11.0))
    assert s == pytest.approx({"mean": 5.0, "q10": 1.0, "q25": 2.5, "q50": 5.0, "q75": 7.5, "q90": 9.0})


def test_similarity_probe_of_an_unchanged_model_is_one() -> None:
    trainer = Trainer(smoke(method="cat", similarity_probe=20), make_data())
    probe = SimilarityProbe(20, seed=0)
    a = probe._probs(trainer)
    b = probe._probs(trainer)
    assert len(probe.probe) == 20 and a[0].shape == (20, 10)
    cmp = SimilarityProbe._compare(a, b)
    assert abs(cmp["cosine"]["mean"] - 1) < 1e-6 and abs(cmp["cosine"]["q10"] - 1) < 1e-6
    assert cmp["asr_before"] == cmp["asr_after"]


def test_similarity_probe_records_per_epoch_and_does_not_change_training() -> None:
    data = make_data()
    with_probe = Trainer(smoke(method="cat", similarity_probe=20, epochs=2), data).fit()
    without = Trainer(smoke(method="cat", epochs=2), data).fit()
    first, second = with_probe["epochs"]
    assert "similarity_step" in first and "similarity_epoch" not in first  # no previous epoch yet
    assert "similarity_step" in second and "similarity_epoch" in second
    for rec in (first["similarity_step"], second["similarity_step"], second["similarity_epoch"]):
        qs = [rec["cosine"][k] for k in ("q10", "q25", "q50", "q75", "q90")]
        assert qs == sorted(qs) and 0 <= qs[0] and qs[-1] <= 1 + 1e-6
        assert 0 <= rec["asr_before"] <= 1 and 0 <= rec["asr_after"] <= 1
    # one optimizer step changes the model: the step similarity is not trivially 1
    assert first["similarity_step"]["cosine"]["q10"] < 1 - 1e-6
    # the probe only observes: the same training with and without it
    for a, b in zip(with_probe["epochs"], without["epochs"], strict=True):
        for key in ("train_loss", "clean_acc", "robust_acc", "forward_passes", "backward_passes"):
            assert a[key] == b[key], key


# ----------------------------------------------------------------------------- CAT Tables 1-2
def _history() -> dict:
    evals = [
        dict(step=2, epoch=1, train_time_s=1.0, forward_passes=100, backward_passes=50, clean_acc=0.30,
             robust_acc=0.10),
        dict(step=4, epoch=1, train_time_s=2.0, forward_passes=200, backward_passes=100, clean_acc=0.60,
             robust_acc=0.25),
        dict(step=6, epoch=2, train_time_s=3.0, forward_passes=300, backward_passes=150, clean_acc=0.55,
             robust_acc=0.40),
        dict(step=8, epoch=2, train_time_s=4.0, forward_passes=400, backward_passes=200, clean_acc=0.80,
             robust_acc=0.35),
    ]
    return {"evals": evals}


def test_time_to_accuracy_first_crossings() -> None:
    res = _history()
    clean = time_to_accuracy(res, [0.5, 0.6, 0.7, 0.9], metric="clean_acc")
    assert clean[0.5] == {"time_s": 2.0, "step": 4, "epoch": 1, "forward_passes": 200, "backward_passes": 100}
    assert clean[0.6]["step"] == 4  # reaching the threshold exactly counts
    assert clean[0.7]["step"] == 8 and clean[0.7]["time_s"] == 4.0
    assert clean[0.9] is None
    robust = time_to_accuracy(res, [0.1, 0.3, 0.4, 0.5])  # robust_acc by default
    assert robust[0.1]["step"] == 2 and robust[0.1]["time_s"] == 1.0
    assert robust[0.3]["step"] == 6 and robust[0.4]["step"] == 6  # the first crossing, although it drops later
    assert robust[0.5] is None


def test_time_to_accuracy_charges_pretraining() -> None:
    res = _history() | {"pretrain": {"train_time_s": 10.0, "forward_passes": 1000, "backward_passes": 500}}
    out = time_to_accuracy(res, [0.3, 0.99])
    assert out[0.3] == {"time_s": 13.0, "step": 6, "epoch": 2, "forward_passes": 1300, "backward_passes": 650}
    assert out[0.99] is None
    assert time_to_accuracy(res, [0.3], offset_s=5.0)[0.3]["time_s"] == 8.0
    assert time_to_accuracy(_history(), [0.3], offset_s=5.0)[0.3]["time_s"] == 8.0


@pytest.mark.parametrize("metric", ["acc", "train_acc", ""])
def test_time_to_accuracy_rejects_bad_metric(metric: str) -> None:
    with pytest.raises(ValueError, match="metric"):
        time_to_accuracy(_history(), [0.5], metric=metric)
