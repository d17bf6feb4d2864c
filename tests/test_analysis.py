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
    probe_positions,
    ranks,
    same_class_pairs,
    spearman,
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


@pytest.mark.slow
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


def _probe_trainer(model: nn.Module, steps_per_epoch: int = 4, step: int = 0, seed: int = 0) -> SimpleNamespace:
    return SimpleNamespace(step=step, sampler=SimpleNamespace(steps_per_epoch=steps_per_epoch), model=model,
                           config=SimpleNamespace(eps=EPS, alpha=ALPHA, steps=STEPS, seed=seed))


def _sel(*adv_index: int) -> SimpleNamespace:
    return SimpleNamespace(adv_index=torch.tensor(adv_index, dtype=torch.long))


def test_probe_positions_spread_over_the_epoch() -> None:
    assert probe_positions(10, 4) == [0, 2, 5, 7]
    assert probe_positions(4, 4) == [0, 1, 2, 3]
    assert probe_positions(3, 8) == [0, 1, 2]  # never more than every step
    assert probe_positions(100, 1) == [0]
    assert probe_positions(5, 0) == []


def test_min_eps_probe_hand_checked_record() -> None:
    x, y = _hand_batch()
    trainer = _probe_trainer(MeanThreshold())
    probe = MinEpsProbe(size=5, probe_steps=1)
    # all 5 selected adversarial samples probed: margins 0.02, 0.1, 0.29 (flipped exactly at eps),
    # 0.35 (never) and one misclassified clean (0)
    probe.before_update(trainer, torch.arange(9), _sel(0, 2, 3, 4, 6), x, None, y)
    record = {"selected_adv": 10.0}
    probe.on_epoch_end(trainer, record)
    assert record["min_eps_probed"] == 5 and record["min_eps_probe_steps"] == 1
    assert record["min_adv_share"] == pytest.approx(0.8)
    assert record["min_adv_selected"] == pytest.approx(4.0)  # 5 selected adversarial x 0.8 at the probed step
    assert record["min_adv_selected_adv"] == 5
    assert record["min_eps_mean"] == pytest.approx((0 + _grid(1) + _grid(3) + EPS) / 4)
    assert record["min_eps_inf_share"] == pytest.approx(0.2)
    assert record["min_eps_zero_share"] == pytest.approx(0.2)
    assert record["min_eps_near_share"] == pytest.approx(0.2)  # only the one flipped at eps, not before
    #                               0  1  2  3  4  5  6  7  8=eps inf
    assert record["min_eps_hist"] == [1, 1, 0, 1, 0, 0, 0, 0, 1, 1]
    # not a probed step (one probed step per epoch: the first): nothing measured, nothing recorded
    trainer.step = 1
    probe.before_update(trainer, torch.arange(9), _sel(0, 2, 3, 4, 6), x, None, y)
    later = {"selected_adv": 10.0}
    probe.on_epoch_end(trainer, later)
    assert later == {"selected_adv": 10.0}
    assert not hasattr(probe, "on_step")  # measured before the update only


def test_min_eps_probe_pools_several_steps_per_epoch() -> None:
    x, y = _hand_batch()
    trainer = _probe_trainer(MeanThreshold(), steps_per_epoch=4)
    probe = MinEpsProbe(size=8, probe_steps=4)  # 2 samples at each of the 4 steps
    selections = [_sel(0, 3), _sel(1, 2), _sel(4, 5), _sel()]  # 2 minimum, 2 minimum, 2 never, none selected
    for step, sel in enumerate(selections):
        trainer.step = 4 + step  # second epoch: positions within the epoch count
        probe.before_update(trainer, torch.arange(9), sel, x, None, y)
    record: dict = {}
    probe.on_epoch_end(trainer, record)
    assert record["min_eps_probe_steps"] == 4 and record["min_eps_probed"] == 6
    assert record["min_adv_share"] == pytest.approx(4 / 6)
    assert record["min_adv_selected"] == pytest.approx((2 + 2 + 0 + 0) / 4)
    assert record["min_adv_selected_adv"] == pytest.approx(6 / 4)
    assert record["min_eps_inf_share"] == pytest.approx(2 / 6)
    assert record["min_eps_mean"] == pytest.approx((_grid(1) + EPS + _grid(2) + _grid(3)) / 4)
    assert record["min_eps_near_share"] == pytest.approx(1 / 6)
    assert sum(record["min_eps_hist"]) == 6


def test_min_eps_probe_draws_a_seeded_random_subset_apart_from_training() -> None:
    x, y = _hand_batch()
    sel = _sel(0, 1, 2, 3, 4, 5, 7)

    def picks(seed: int, trainer_generator: bool = False) -> list[list[float]]:
        probe = MinEpsProbe(size=2, probe_steps=1)
        out = []
        for epoch in range(6):
            trainer = _probe_trainer(MeanThreshold(), steps_per_epoch=1, step=epoch, seed=seed)
            if trainer_generator:  # the trainer's evaluation-side generator, asked for the probe's purpose
                trainer.eval_generator = lambda purpose, s=seed, t=epoch: torch.Generator().manual_seed(
                    1000 * s + 10 * t + purpose)
            probe.before_update(trainer, torch.arange(9), sel, x, None, y)
            out.append(probe.steps[-1][1].tolist())
            probe.on_epoch_end(trainer, {})
        return out

    rng = torch.get_rng_state()
    a = picks(0)
    assert torch.equal(rng, torch.get_rng_state())  # the global (training) generator is untouched
    assert a == picks(0)  # seeded by (seed, step): a resumed run draws the same subsets
    assert a != picks(1)
    # not the first entries of the selection every time (the old protocol's bias)
    assert any(p != a[0] for p in a)
    b = picks(0, trainer_generator=True)
    assert b == picks(0, trainer_generator=True) and b != a  # the trainer's generator is the one used
    with pytest.raises(ValueError, match="probe_steps"):
        MinEpsProbe(size=3, probe_steps=0)


MIN_EPS_KEYS = ("min_eps_probed", "min_eps_probe_steps", "min_adv_share", "min_adv_selected", "min_adv_selected_adv",
                "min_eps_mean", "min_eps_inf_share", "min_eps_zero_share", "min_eps_near_share", "min_eps_hist")


def test_min_eps_probe_in_a_ds_run_records_every_epoch_and_does_not_change_training() -> None:
    data = make_data()
    config = smoke(method="ds", p_up=0.5, min_eps_probe=8, epochs=2)
    with_probe = Trainer(config, data).fit()
    without = Trainer(smoke(method="ds", p_up=0.5, epochs=2), data).fit()
    grid, eps = 8, config.eps
    for rec in with_probe["epochs"]:
        assert set(MIN_EPS_KEYS) <= set(rec)
        assert rec["min_eps_probe_steps"] == min(4, rec["steps"])
        assert 0 < rec["min_eps_probed"] <= 8 and sum(rec["min_eps_hist"]) == rec["min_eps_probed"]
        assert len(rec["min_eps_hist"]) == grid + 2
        for key in ("min_adv_share", "min_eps_inf_share", "min_eps_zero_share", "min_eps_near_share"):
            assert 0 <= rec[key] <= 1, key
        assert rec["min_adv_share"] == pytest.approx(1 - rec["min_eps_inf_share"])
        assert rec["min_eps_near_share"] == pytest.approx(rec["min_eps_hist"][grid] / rec["min_eps_probed"])
        assert 0 <= rec["min_adv_selected"] <= rec["min_adv_selected_adv"] <= config.batch_size
        assert math.isnan(rec["min_eps_mean"]) or 0 <= rec["min_eps_mean"] <= eps + 1e-12
    for a, b in zip(with_probe["epochs"], without["epochs"], strict=True):
        for key in ("train_loss", "clean_acc", "robust_acc", "selected_adv", "forward_passes", "backward_passes"):
            assert a[key] == b[key], key


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


def test_same_class_pairs() -> None:
    i, j = same_class_pairs(torch.tensor([3, 1, 3, 3, 2, 1]))
    assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 2), (1, 5), (2, 3), (3, 0), (5, 1)]
    i, j = same_class_pairs(torch.tensor([0, 1, 2]))  # no class with two samples
    assert len(i) == len(j) == 0


def test_same_class_baseline_differs_from_the_same_sample_cosine() -> None:
    # two samples of class 0: the model keeps each prediction between the two iterations (same-sample
    # cosine 1) but predicts them differently (sample 0 -> class 0, sample 1 -> class 1): baseline ~0
    before = torch.tensor([[0.98, 0.01, 0.01], [0.01, 0.98, 0.01], [0.01, 0.01, 0.98], [0.01, 0.01, 0.98]])
    after = before.clone()
    y = torch.tensor([0, 0, 2, 1])
    cmp = SimilarityProbe._compare((before, before.argmax(1) != y), (after, after.argmax(1) != y), y)
    assert cmp["cosine"]["mean"] == pytest.approx(1.0)
    assert cmp["same_class_pairs"] == 2
    expected = (2 * 0.98 * 0.01 + 0.01 ** 2) / (0.98 ** 2 + 2 * 0.01 ** 2)
    assert cmp["cosine_same_class"]["mean"] == pytest.approx(expected) and expected < 0.03
    assert cmp["asr_before"] == cmp["asr_after"] == 0.5
    # and the converse: confident predictions of different samples of a class are near-identical
    # (baseline ~1) while one sample's prediction moved: the baseline exceeds the same-sample cosine
    moved = torch.tensor([[0.98, 0.01, 0.01], [0.98, 0.01, 0.01], [0.01, 0.01, 0.98], [0.01, 0.01, 0.98]])
    cmp = SimilarityProbe._compare((before, before.argmax(1) != y), (moved, moved.argmax(1) != y), y)
    assert cmp["cosine_same_class"]["mean"] == pytest.approx(1.0)
    assert cmp["cosine"]["mean"] == pytest.approx((3 + expected) / 4)
    assert "cosine_same_class" not in SimilarityProbe._compare((before, y), (after, y), torch.tensor([0, 1, 2, 3]))


def test_ranks_and_spearman_hand_computed() -> None:
    assert ranks(torch.tensor([10.0, 30.0, 20.0, 30.0])).tolist() == [1.0, 3.5, 2.0, 3.5]
    a = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    # no ties: 1 - 6 * sum(d^2) / (n (n^2 - 1)) with d = (-1, 1, -1, 1, 0): 1 - 6 * 4 / 120
    assert spearman(a, torch.tensor([2.0, 1.0, 4.0, 3.0, 5.0])) == pytest.approx(0.8)
    # ties: ranks of b are (1, 2, 3.5, 5, 3.5); Pearson of the ranks = 8 / sqrt(10 * 9.5)
    assert spearman(a, torch.tensor([5.0, 6.0, 7.0, 8.0, 7.0])) == pytest.approx(8 / math.sqrt(95))
    assert spearman(a, torch.exp(a)) == pytest.approx(1.0)  # invariant to monotone maps
    assert spearman(a, -a ** 3) == pytest.approx(-1.0)
    assert math.isnan(spearman(a, torch.ones(5))) and math.isnan(spearman(a[:1], a[:1]))
    with pytest.raises(ValueError, match="paired"):
        spearman(a, a[:3])


def _gain_logits(*gains: float) -> torch.Tensor:
    """Two-class logits with label 0 whose eq. (3) information gain is each given value."""
    g = torch.tensor(gains)
    return torch.stack([torch.zeros_like(g), g], 1)


def test_similarity_probe_pairs_the_gains_of_consecutive_draws() -> None:
    trainer = SimpleNamespace(step=0, y_train=torch.zeros(6, dtype=torch.long))
    probe = SimilarityProbe(4)
    draws = [(5, [0, 1, 2], (1.0, 2.0, 3.0)), (6, [1, 2, 3], (10.0, 30.0, 5.0)), (8, [0, 2], (0.0, 1.0))]
    for step, idx, gains in draws:
        trainer.step = step
        probe._record_gains(trainer, torch.tensor(idx), torch.zeros(len(idx), dtype=torch.long), _gain_logits(*gains))
    probe._record_gains(trainer, torch.tensor([4]), torch.zeros(1, dtype=torch.long), None)  # no logits: ignored
    # pairs (then, now, gap): sample 1 (2, 10, 1), sample 2 (3, 30, 1), sample 0 (1, 0, 3), sample 2 (30, 1, 2)
    # ranks then (2, 3, 1, 4), now (3, 4, 1, 2): d = (-1, -1, 0, 2), 1 - 6 * 6 / (4 * 15) = 0.4
    out = probe.gain_summary()
    assert out["gain_spearman"] == pytest.approx(0.4)
    assert out["gain_spearman_pairs"] == 4 and out["gain_spearman_gap_steps"] == pytest.approx(7 / 4)
    assert probe.last_gain.tolist()[:4] == [0.0, 10.0, 1.0, 5.0] and probe.last_step.tolist() == [8, 6, 8, 6, -1, -1]
    # the next epoch starts with no pairs but remembers the last gains
    empty = probe.gain_summary()
    assert empty["gain_spearman_pairs"] == 0 and math.isnan(empty["gain_spearman"])
    trainer.step = 9
    probe._record_gains(trainer, torch.tensor([3, 1]), torch.zeros(2, dtype=torch.long), _gain_logits(4.0, 20.0))
    again = probe.gain_summary()
    assert again["gain_spearman_pairs"] == 2 and again["gain_spearman"] == pytest.approx(1.0)
    assert again["gain_spearman_gap_steps"] == pytest.approx((3 + 3) / 2)
    resumed = SimilarityProbe(4)
    resumed.load_state_dict(probe.state_dict())
    assert torch.equal(resumed.last_gain, probe.last_gain) and torch.equal(resumed.last_step, probe.last_step)


def test_similarity_probe_records_per_epoch_and_does_not_change_training() -> None:
    data = make_data()
    with_probe = Trainer(smoke(method="cat", similarity_probe=20, epochs=2), data).fit()
    without = Trainer(smoke(method="cat", epochs=2), data).fit()
    first, second = with_probe["epochs"]
    assert "similarity_step" in first and "similarity_epoch" not in first  # no previous epoch yet
    assert "similarity_step" in second and "similarity_epoch" in second
    for rec in (first["similarity_step"], second["similarity_step"], second["similarity_epoch"]):
        for key in ("cosine", "cosine_same_class"):
            qs = [rec[key][k] for k in ("q10", "q25", "q50", "q75", "q90")]
            assert qs == sorted(qs) and 0 <= qs[0] and qs[-1] <= 1 + 1e-6
            assert qs[0] <= rec[key]["mean"] <= qs[-1]
        assert 0 <= rec["asr_before"] <= 1 and 0 <= rec["asr_after"] <= 1
        assert 0 < rec["same_class_pairs"] <= 20
    # eq. (3) gains of samples drawn twice: pairs within the first epoch already (CAT draws by weight),
    # and more in the second one, whose pairs can reach back into the first
    for rec in (first, second):
        assert rec["gain_spearman_pairs"] > 0 and -1 <= rec["gain_spearman"] <= 1
        assert rec["gain_spearman_gap_steps"] >= 1
    assert second["gain_spearman_pairs"] > first["gain_spearman_pairs"]
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
