"""CAT (Fan et al.): information gain (eq. 3), smoothed weights (eq. 4), weighted class-balanced sampling."""

from __future__ import annotations

import math

import pytest
import torch

from advsel.cat import CATSampler, information_gain
from advsel.samplers import UniformSampler

C = 10


def _labels(n_per_class: int = 12, extra: int = 0) -> torch.Tensor:
    """Labels of a 'data set' of C * n_per_class + extra samples (cycling through the classes)."""
    return torch.arange(C * n_per_class + extra) % C


def _sampler(batch_size: int = 20, seed: int = 0, n_per_class: int = 12, **kw) -> CATSampler:
    """CAT over every other sample of a data set twice as large (so positions != data-set indices)."""
    labels = _labels(2 * n_per_class)
    half = len(labels) // 2  # even indices of the first half (even classes), odd ones of the second (odd classes)
    indices = torch.cat([torch.arange(0, half, 2), torch.arange(half + 1, len(labels), 2)])
    return CATSampler(indices, labels, batch_size, seed, num_classes=C, **kw)


def _gain_reference(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Eq. (3) computed independently: max_{k != y} log p_k - log p_y, from log-softmax in float64."""
    out = []
    for row, t in zip(logits.double().tolist(), y.tolist(), strict=True):
        m = max(row)
        lse = m + math.log(sum(math.exp(v - m) for v in row))
        logp = [v - lse for v in row]
        out.append(max(lp for k, lp in enumerate(logp) if k != t) - logp[t])
    return torch.tensor(out, dtype=torch.float64)


# ----------------------------------------------------------------------------- eq. (3)
def test_information_gain_hand_example() -> None:
    logits = torch.tensor([[2.0, 1.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 0.0], [5.0, -1.0, 3.0], [0.5, 4.0, 4.0]])
    y = torch.tensor([0, 2, 1, 1, 2])
    # differences of log-probabilities are differences of logits
    expected = torch.tensor([1.0 - 2.0, 2.0 - 0.0, 0.0, 5.0 - (-1.0), 4.0 - 4.0])
    got = information_gain(logits, y)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
    assert got[0] < 0  # a correctly classified sample with a margin has negative gain


def test_information_gain_matches_log_softmax_reference() -> None:
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(64, C, generator=g) * 4
    y = torch.randint(0, C, (64,), generator=g)
    torch.testing.assert_close(information_gain(logits, y).double(), _gain_reference(logits, y), atol=1e-5, rtol=0)
    # half precision logits still give float32 gains
    assert information_gain(logits.bfloat16(), y).dtype == torch.float32


# ----------------------------------------------------------------------------- batches
@pytest.mark.parametrize("batch_size", [1, 3, 7, 10, 13, 20, 25, 57, 120])
def test_batches_have_no_repeats_and_class_shares(batch_size: int) -> None:
    s = _sampler(batch_size=batch_size, seed=batch_size)
    g = torch.Generator().manual_seed(5)
    s.weights = torch.randn(len(s.weights), generator=g) * 3  # non-uniform weights
    labels = _labels(24)
    allowed = set(s.indices.tolist())
    per, extra = divmod(batch_size, C)
    extras = torch.zeros(C)
    for _ in range(40):
        batch = s.draw()
        assert batch.dtype == torch.int64 and len(batch) == batch_size
        assert len(set(batch.tolist())) == batch_size, "an index repeats within a batch"
        assert set(batch.tolist()) <= allowed
        counts = torch.bincount(labels[batch], minlength=C)
        assert int(counts.sum()) == batch_size
        if extra == 0:
            assert torch.equal(counts, torch.full((C,), per))
        else:
            assert set(counts.tolist()) <= {per, per + 1}
            assert int((counts == per + 1).sum()) == extra
            extras += (counts == per + 1).float()
    if extra:
        # the remaining places go to random classes: every class gets them sometimes
        assert (extras > 0).sum() >= C - 2


def test_epoch_length_and_batches_per_epoch() -> None:
    s = _sampler(batch_size=25)
    assert s.steps_per_epoch == 120 // 25
    assert len(list(s.batches(0))) == s.steps_per_epoch


def test_weights_start_at_one() -> None:
    s = _sampler()
    assert len(s.weights) == len(s.indices) == 120
    assert torch.all(s.weights == 1)
    # equal weights: equal within-class probabilities
    torch.testing.assert_close(s.probabilities(), torch.full((120,), 1 / 12))


# ----------------------------------------------------------------------------- eq. (4)
@pytest.mark.parametrize("alpha", [0.5, 0.3, 0.0])
def test_observe_updates_only_drawn_samples_by_eq4(alpha: float) -> None:
    s = _sampler(batch_size=30, alpha=alpha)
    labels = _labels(24)
    g = torch.Generator().manual_seed(2)
    expected = torch.ones(len(s.indices), dtype=torch.float64)
    pos_of = {int(i): p for p, i in enumerate(s.indices.tolist())}
    for _ in range(3):
        idx = s.draw()
        logits = torch.randn(len(idx), C, generator=g) * 3
        y = labels[idx]
        s.observe(idx, logits, y)
        w = _gain_reference(logits, y)
        for i, wi in zip(idx.tolist(), w.tolist(), strict=True):
            p = pos_of[i]
            expected[p] = alpha * expected[p] + (1 - alpha) * wi
        torch.testing.assert_close(s.weights.double(), expected, atol=1e-5, rtol=0)
    untouched = expected == 1
    assert untouched.any() and (~untouched).any()
    assert torch.all(s.weights[untouched] == 1)


def test_observe_rejects_missing_logits_and_unknown_indices() -> None:
    s = _sampler()
    with pytest.raises(ValueError, match="logits"):
        s.observe(s.indices[:3], None, torch.zeros(3, dtype=torch.long))
    odd = torch.tensor([int(s.indices.max()) - 1])  # a data-set index that is not one of s.indices
    assert odd.item() not in set(s.indices.tolist())
    before = s.weights.clone()
    with pytest.raises(ValueError, match="does not draw from"):
        s.observe(odd, torch.zeros(1, C), torch.zeros(1, dtype=torch.long))
    assert torch.equal(s.weights, before)


# ----------------------------------------------------------------------------- weighted draws
def test_single_draw_per_class_follows_softmax_of_weights() -> None:
    """With one sample per class per batch, P(sample) is exactly softmax(w / T) within its class."""
    labels = _labels(4)
    s = CATSampler(torch.arange(40), labels, C, seed=3, num_classes=C)
    level = torch.tensor([0.0, 0.5, 1.0, 2.0])
    s.weights = level[torch.arange(40) // C]  # sample i has weight level[i // C]: each class holds all four levels
    freq = torch.zeros(40)
    n = 3000
    for _ in range(n):
        freq[s.draw()] += 1
    freq /= n
    for lvl in range(4):
        empirical = freq[lvl * C:(lvl + 1) * C].mean().item()
        assert empirical == pytest.approx(torch.softmax(level, 0)[lvl].item(), abs=0.015)
    torch.testing.assert_close(s.probabilities(), torch.softmax(level, 0)[torch.arange(40) // C])


def test_high_weight_samples_are_drawn_more_often() -> None:
    labels = _labels(8)
    s = CATSampler(torch.arange(80), labels, 20, seed=4, num_classes=C)
    high = torch.arange(80) < 40  # half of every class (labels cycle)
    s.weights = torch.where(high, 3.0, 0.0)
    freq = torch.zeros(80)
    for _ in range(800):
        freq[s.draw()] += 1
    f_high, f_low = freq[high].mean().item(), freq[~high].mean().item()
    assert f_high > 5 * f_low
    # each batch holds 2 of the 8 samples of a class: the draw frequencies add up to 2 per class per batch
    assert freq.sum().item() == 800 * 20


def test_large_temperature_is_near_uniform() -> None:
    labels = _labels(4)
    level = torch.tensor([0.0, 1.0, 3.0, 6.0])
    weights = level[torch.arange(40) // C]
    hot = CATSampler(torch.arange(40), labels, C, seed=5, num_classes=C, temperature=1e4)
    cold = CATSampler(torch.arange(40), labels, C, seed=5, num_classes=C, temperature=1.0)
    hot.weights, cold.weights = weights.clone(), weights.clone()
    torch.testing.assert_close(hot.probabilities(), torch.full((40,), 0.25), atol=1e-3, rtol=0)
    freq_hot, freq_cold = torch.zeros(40), torch.zeros(40)
    for _ in range(1500):
        freq_hot[hot.draw()] += 1
        freq_cold[cold.draw()] += 1
    per_level_hot = freq_hot.view(4, C).sum(1) / (1500 * C)
    per_level_cold = freq_cold.view(4, C).sum(1) / (1500 * C)
    torch.testing.assert_close(per_level_hot, torch.full((4,), 0.25), atol=0.025, rtol=0)
    assert per_level_cold[3] > 0.9  # T = 1: the heaviest sample dominates


# ----------------------------------------------------------------------------- resumability
def test_state_dict_round_trip_reproduces_next_draws() -> None:
    s = _sampler(batch_size=23, seed=7)
    labels = _labels(24)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        idx = s.draw()
        s.observe(idx, torch.randn(len(idx), C, generator=g), labels[idx])
    state = s.state_dict()
    saved_weights = s.weights.clone()
    first = [s.draw() for _ in range(4)]
    s.observe(first[0], torch.randn(len(first[0]), C, generator=g), labels[first[0]])  # change the weights
    assert not torch.equal(s.weights, saved_weights)
    assert torch.equal(state["weights"], saved_weights)  # the state is a copy

    s.load_state_dict(state)
    assert torch.equal(s.weights, saved_weights)
    again = [s.draw() for _ in range(4)]
    other = _sampler(batch_size=23, seed=99)  # another seed: only the loaded state decides the draws
    other.load_state_dict(state)
    third = [other.draw() for _ in range(4)]
    for a, b, c in zip(first, again, third, strict=True):
        assert torch.equal(a, b) and torch.equal(a, c)


# ----------------------------------------------------------------------------- distributed sharding
def test_uniform_sampler_ranks_take_disjoint_halves_of_the_global_batch() -> None:
    indices = torch.arange(3, 103)
    single = UniformSampler(indices, 12, seed=4)
    ranks = [UniformSampler(indices, 6, seed=4, rank=r, world_size=2) for r in range(2)]
    assert ranks[0].steps_per_epoch == ranks[1].steps_per_epoch == single.steps_per_epoch == 100 // 12
    for epoch in (0, 1):
        for glob, b0, b1 in zip(single.batches(epoch), ranks[0].batches(epoch), ranks[1].batches(epoch),
                                strict=True):
            assert len(b0) == len(b1) == 6
            assert not set(b0.tolist()) & set(b1.tolist())
            assert sorted(b0.tolist() + b1.tolist()) == sorted(glob.tolist())
            assert torch.equal(b0, glob[0::2]) and torch.equal(b1, glob[1::2])


def test_cat_sampler_ranks_take_disjoint_halves_and_stay_in_sync() -> None:
    labels = _labels(24)
    g = torch.Generator().manual_seed(1)
    weights = torch.randn(120, generator=g)
    single = _sampler(batch_size=14, seed=6)
    shards = [_sampler(batch_size=7, seed=6, rank=r, world_size=2) for r in range(2)]
    for s in (single, *shards):
        s.weights = weights.clone()
    assert shards[0].steps_per_epoch == single.steps_per_epoch == 120 // 14

    for _ in range(3):
        glob = single.draw()
        b0, b1 = (next(iter(s.batches(0))) for s in shards)
        assert len(b0) == len(b1) == 7
        assert not set(b0.tolist()) & set(b1.tolist())
        assert torch.equal(b0, glob[0::2]) and torch.equal(b1, glob[1::2])
        # feedback: every rank must end with the weights the single process computes from the global batch
        logits = torch.randn(14, C, generator=g)
        order = torch.cat([torch.arange(0, 14, 2), torch.arange(1, 14, 2)])
        single.observe(glob[order], logits[order], labels[glob[order]])
        for s, part in zip(shards, (slice(0, 14, 2), slice(1, 14, 2)), strict=True):
            # a fake all_gather: the concatenation, in rank order, of what both ranks hold
            calls = iter([glob[order], information_gain(logits[order], labels[glob[order]])])
            s.all_gather = lambda t, calls=calls: next(calls)
            s.observe(glob[part], logits[part], labels[glob[part]])
        assert torch.equal(shards[0].weights, single.weights)
        assert torch.equal(shards[1].weights, single.weights)


# ----------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("alpha", [1.0, 1.5, -0.1, float("nan")])
def test_bad_alpha_is_rejected(alpha: float) -> None:
    with pytest.raises(ValueError, match="cat_alpha"):
        _sampler(alpha=alpha)


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan")])
def test_bad_temperature_is_rejected(temperature: float) -> None:
    with pytest.raises(ValueError, match="cat_temperature"):
        _sampler(temperature=temperature)


def test_batch_larger_than_data_is_rejected() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        _sampler(batch_size=121)
    with pytest.raises(ValueError, match="batch_size"):
        _sampler(batch_size=61, world_size=2)
    # enough samples overall but a class too small for its share
    labels = torch.cat([torch.zeros(50, dtype=torch.long), torch.arange(1, C).repeat(2)])
    with pytest.raises(ValueError, match="batch_size"):
        CATSampler(torch.arange(len(labels)), labels, 30, 0, num_classes=C)
    with pytest.raises(ValueError, match="batch_size"):
        _sampler(batch_size=0)
    with pytest.raises(ValueError, match="rank"):
        _sampler(rank=2, world_size=2)
