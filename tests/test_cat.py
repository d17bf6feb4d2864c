"""CAT (Fan et al.): information gain (eq. 3), smoothed weights (eq. 4), weighted class-balanced sampling."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
import torch

from advsel.cat import MIN_TOTAL, CATSampler, _gain_torch, information_gain
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


def test_numpy_and_torch_gains_agree() -> None:
    """CPU logits take the numpy path, others the torch one: both are eq. (3).  (The torch path is
    reached through information_gain only on a GPU, so it is called by name here.)"""
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(50, C, generator=g) * 5
    logits[:5, 3] = logits[:5, 0]  # ties between the true class and a wrong one
    y = torch.randint(0, C, (50,), generator=g)
    y[:5] = 0
    torch.testing.assert_close(_gain_torch(logits, y), information_gain(logits, y), atol=0, rtol=0)
    assert torch.all(information_gain(logits, y)[:5] >= 0)


# ----------------------------------------------------------------------------- batches
@pytest.mark.parametrize("draw", ["tree", "gumbel"])
@pytest.mark.parametrize("batch_size", [1, 3, 7, 10, 13, 20, 25, 57, 120])
def test_batches_have_no_repeats_and_class_shares(batch_size: int, draw: str) -> None:
    s = _sampler(batch_size=batch_size, seed=batch_size, draw=draw)
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
    torch.testing.assert_close(s.probabilities(), torch.full((120,), 1 / 12, dtype=torch.float64))


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
    torch.testing.assert_close(s.probabilities(), torch.softmax(level.double(), 0)[torch.arange(40) // C])


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
    torch.testing.assert_close(hot.probabilities(), torch.full((40,), 0.25, dtype=torch.float64), atol=1e-3, rtol=0)
    freq_hot, freq_cold = torch.zeros(40), torch.zeros(40)
    for _ in range(1500):
        freq_hot[hot.draw()] += 1
        freq_cold[cold.draw()] += 1
    per_level_hot = freq_hot.view(4, C).sum(1) / (1500 * C)
    per_level_cold = freq_cold.view(4, C).sum(1) / (1500 * C)
    torch.testing.assert_close(per_level_hot, torch.full((4,), 0.25), atol=0.025, rtol=0)
    assert per_level_cold[3] > 0.9  # T = 1: the heaviest sample dominates


def _successive_inclusion(p: list[float], k: int) -> tuple[dict[int, float], dict[tuple[int, int], float]]:
    """Exact inclusion probabilities of single items and of pairs in k successive weighted draws
    without replacement from probabilities p, by enumerating every ordered sequence."""
    single: dict[int, float] = dict.fromkeys(range(len(p)), 0.0)
    pair: dict[tuple[int, int], float] = dict.fromkeys(itertools.combinations(range(len(p)), 2), 0.0)
    for seq in itertools.permutations(range(len(p)), k):
        prob, rest = 1.0, 1.0
        for i in seq:
            prob, rest = prob * p[i] / rest, rest - p[i]
        for i in seq:
            single[i] += prob
        for ij in itertools.combinations(sorted(seq), 2):
            pair[ij] += prob
    return single, pair


@pytest.mark.slow
@pytest.mark.parametrize("batch_size", [4, 5])
def test_tree_and_gumbel_draws_match_exact_successive_inclusion(batch_size: int) -> None:
    """n = 12 in 2 classes, b' = 4 (2 per class) or 5 (2 or 3, the extra to a random class).

    10,000 batches per draw; the binomial standard error of a frequency is <= 0.005, the
    tolerance 0.0225 is 4.5 of them.  A sampler drawing in proportion to p without the
    successive renormalisation (inclusion k p) is off by 0.22, nine tolerances."""
    labels = torch.arange(12) % 2
    weights = torch.linspace(-2.0, 2.0, 12)
    n_draws, tol = 10_000, 0.0225
    freq = {}
    for draw in ("tree", "gumbel"):
        s = CATSampler(torch.arange(12), labels, batch_size, seed=11, num_classes=2, draw=draw)
        s.weights = weights
        single = np.zeros(12)
        pairs = np.zeros((12, 12))
        for _ in range(n_draws):
            b = s.draw().numpy()
            single[b] += 1
            pairs[b[:, None], b[None, :]] += 1
        freq[draw] = single / n_draws, pairs / n_draws
    p = s.probabilities().numpy()
    exact_single, exact_pair, naive = np.zeros(12), np.zeros((12, 12)), np.zeros(12)
    ks = [2] if batch_size == 4 else [2, 3]  # b' = 5: each class gets 2 or 3, with probability 1/2 each
    for c in range(2):
        members = np.arange(c, 12, 2)
        for k in ks:
            single, pair = _successive_inclusion(p[members].tolist(), k)
            for i, v in single.items():
                exact_single[members[i]] += v / len(ks)
                naive[members[i]] += k * p[members[i]] / len(ks)
            for (i, j), v in pair.items():
                exact_pair[members[i], members[j]] += v / len(ks)
                exact_pair[members[j], members[i]] += v / len(ks)
    assert np.abs(naive - exact_single).max() > 9 * tol  # the test can tell successive draws from naive ones
    for draw, (single, pairs) in freq.items():
        assert np.abs(single - exact_single).max() < tol, draw
        same_class = (labels[:, None] == labels[None, :]).numpy() & ~np.eye(12, dtype=bool)
        assert np.abs(pairs - exact_pair)[same_class].max() < tol, draw
    assert np.abs(freq["tree"][0] - freq["gumbel"][0]).max() < 2 * tol


def _assert_tree_is_fresh(s: CATSampler) -> None:
    """The sampler's trees are bit-identical to trees rebuilt from its weights and shifts (nothing
    left zeroed after a batch, every path up to date) and every class total is usable."""
    fresh = copy.deepcopy(s.forest)
    fresh.build(s.weights.numpy(), np.arange(s.num_classes), s.forest.shift.copy())
    assert np.array_equal(s.forest.tree, fresh.tree)
    roots = s.forest.root(np.arange(s.num_classes))
    assert np.all(np.isfinite(s.forest.tree)) and np.all(roots >= MIN_TOTAL)


def test_tree_is_restored_after_draws_and_updated_by_observe() -> None:
    s = _sampler(batch_size=57, seed=3)  # 5 or 6 of 12 per class: several rounds, zeroed leaves
    labels = _labels(24)
    g = torch.Generator().manual_seed(3)
    for _ in range(20):
        idx = s.draw()
        _assert_tree_is_fresh(s)
        s.observe(idx, torch.randn(len(idx), C, generator=g) * 4, labels[idx])
        _assert_tree_is_fresh(s)
    leaf_p = s.forest.tree[s.forest.leaf] / s.forest.root(s.forest.cls_of_pos)
    np.testing.assert_allclose(leaf_p, s.probabilities().numpy(), rtol=1e-12, atol=0)


@pytest.mark.filterwarnings("error")  # no overflow or invalid-value warnings from numpy
def test_tree_rebuilds_instead_of_overflowing_or_underflowing() -> None:
    labels = torch.arange(12) % 2
    s = CATSampler(torch.arange(12), labels, 12, seed=0, num_classes=2, temperature=0.01)
    before = s.forest.shift.copy()
    logits = torch.zeros(12, 2)
    logits[torch.arange(12), 1 - labels] = 100.0  # gain 100: w = 0.5 + 50, (w - shift) / T ~ 5000 > 500
    s.observe(torch.arange(12), logits, labels)
    assert np.all(s.forest.shift > before) and np.all(s.forest.shift == 50.5)
    _assert_tree_is_fresh(s)
    logits[torch.arange(12), 1 - labels] = -200.0  # gain -200: w = -74.75, every leaf would underflow to 0
    s.observe(torch.arange(12), logits, labels)
    _assert_tree_is_fresh(s)
    assert np.all(s.forest.shift == -74.75)
    assert sorted(s.draw().tolist()) == list(range(12))


@pytest.mark.filterwarnings("error")
def test_remaining_samples_that_underflow_are_still_drawn_exactly() -> None:
    """One heavy sample per class, the others 1000 T lighter (exp underflows to 0 next to it): a batch
    takes the heavy one first, then the second must come uniformly from the other five."""
    labels = torch.arange(12) % 2
    s = CATSampler(torch.arange(12), labels, 4, seed=1, num_classes=2)
    s.weights = torch.where(torch.arange(12) < 2, 0.0, -1000.0)  # samples 0 and 1 are heavy
    freq = np.zeros(12)
    for _ in range(1500):
        batch = s.draw().numpy()
        assert {0, 1} <= set(batch.tolist()) and len(set(batch.tolist())) == 4
        freq[batch] += 1
        _assert_tree_is_fresh(s)
    np.testing.assert_allclose(freq[2:] / 1500, 0.2, atol=0.05)  # binomial sd 0.010


# ----------------------------------------------------------------------------- resumability
@pytest.mark.parametrize("draw", ["tree", "gumbel"])
def test_state_dict_round_trip_reproduces_next_draws(draw: str) -> None:
    s = _sampler(batch_size=23, seed=7, draw=draw)
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
    other = _sampler(batch_size=23, seed=99, draw=draw)  # another seed: only the loaded state decides the draws
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


def test_labels_of_the_subset_only_are_rejected_with_a_clear_message() -> None:
    """labels is indexed by data-set index: passing only the subset's labels is the usual mistake."""
    all_labels = _labels(24)
    subset = torch.arange(100, 240)
    with pytest.raises(ValueError, match=r"labels has 140 entries but indices go up to 239.*whole data set"):
        CATSampler(subset, all_labels[subset], 20, 0, num_classes=C)
    CATSampler(subset, all_labels, 20, 0, num_classes=C)  # the whole data set's labels work


def test_bad_labels_and_indices_are_rejected() -> None:
    labels = _labels(12)
    with pytest.raises(ValueError, match=r"labels\[indices\] holds values outside \[0, num_classes=9\)"):
        CATSampler(torch.arange(120), labels, 20, 0, num_classes=9)
    with pytest.raises(ValueError, match="labels"):
        CATSampler(torch.arange(120), labels - 1, 20, 0, num_classes=C)
    with pytest.raises(TypeError, match="labels must hold integers"):
        CATSampler(torch.arange(120), labels.float(), 20, 0, num_classes=C)
    with pytest.raises(ValueError, match="indices holds repeated"):
        CATSampler(torch.cat([torch.arange(120), torch.tensor([3])]), labels, 20, 0, num_classes=C)
    with pytest.raises(ValueError, match="indices holds negative"):
        CATSampler(torch.arange(-1, 119), labels, 20, 0, num_classes=C)
    with pytest.raises(ValueError, match="draw="):
        CATSampler(torch.arange(120), labels, 20, 0, num_classes=C, draw="topk")  # type: ignore[arg-type]
    # labels of samples outside indices are not looked at (e.g. -1 for unlabelled ones)
    CATSampler(torch.arange(120), torch.cat([labels, torch.full((5,), -1)]), 20, 0, num_classes=C)


@pytest.mark.parametrize(("case", "error", "pattern"), [
    ("rows", ValueError, r"logits_adv has shape \(7, 10\); it must be \(len\(idx\)=8, num_classes=10\)"),
    ("columns", ValueError, r"logits_adv has 9 columns; it must have num_classes=10"),
    ("y_length", ValueError, r"y has 7 labels but idx has 8"),
    ("y_range", ValueError, r"y holds labels outside \[0, num_classes=10\)"),
    ("y_float", TypeError, r"y must hold integer"),
    ("logits_1d", ValueError, r"logits_adv has shape \(8,\)"),
    ("non_finite", ValueError, r"logits_adv holds non-finite"),
])
def test_observe_rejects_disagreeing_shapes_naming_the_argument(case: str, error: type, pattern: str) -> None:
    s = _sampler()
    idx = s.draw()[:8]
    y = _labels(24)[idx]
    logits = torch.randn(8, C)
    bad = {"rows": (idx, logits[:7], y), "columns": (idx, logits[:, :9], y), "y_length": (idx, logits, y[:7]),
           "y_range": (idx, logits, y + C), "y_float": (idx, logits, y.float()), "logits_1d": (idx, logits[:, 0], y),
           "non_finite": (idx, logits.index_fill(1, torch.tensor([0]), float("nan")), y)}[case]
    before = s.weights
    with pytest.raises(error, match=pattern):
        s.observe(*bad)
    assert torch.equal(s.weights, before)
    s.observe(idx, logits, y)  # the well-formed call goes through
    assert not torch.equal(s.weights, before)
