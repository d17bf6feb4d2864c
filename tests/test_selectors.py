"""DS selection (top P_up of 2b' by loss), its baselines, prescreen's screening, frozen BatchNorm statistics."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advsel.data import MEAN_STD
from advsel.models import build_model
from advsel.selectors import SELECTIONS, Selection, before_attack, frozen_bn_stats, select


def make_batch(b: int, seed: int = 0, shape: tuple[int, ...] = (1, 8, 8)):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, *shape, generator=g)
    x_adv = (x + 0.3 * (2 * torch.rand(b, *shape, generator=g) - 1)).clamp(0, 1)
    y = torch.randint(0, 10, (b,), generator=g)
    return x, x_adv, y


def chosen_indices(sel: Selection, x: torch.Tensor, x_adv: torch.Tensor) -> torch.Tensor:
    """Position in cat([x, x_adv]) of every selected sample (all rows are distinct)."""
    both = torch.cat([x, x_adv]).flatten(1)
    match = (sel.x.flatten(1)[:, None, :] == both[None]).all(-1)
    assert bool((match.sum(1) == 1).all()), "each selected sample is exactly one sample of the batch"
    return match.float().argmax(1)


def reference_losses(model: nn.Module, x: torch.Tensor, x_adv: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample cross-entropy of the 2b' samples, computed here on a copy in train mode."""
    ref = copy.deepcopy(model).train()
    with torch.no_grad():
        return F.cross_entropy(ref(torch.cat([x, x_adv])), y.repeat(2), reduction="none")


def bn_buffers(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "num_batches" in k}


def check_consistent(sel: Selection, chosen: torch.Tensor, y: torch.Tensor, b: int, k: int) -> None:
    assert len(sel.x) == len(sel.y) == len(sel.is_adv) == k
    assert len(set(chosen.tolist())) == k
    assert int(sel.n_clean) + int(sel.n_adv) == k
    assert torch.equal(sel.is_adv, chosen >= b)
    assert int(sel.n_adv) == int(sel.is_adv.sum())
    assert torch.equal(sel.adv_index, chosen[chosen >= b] - b)
    assert torch.equal(sel.y, y.repeat(2)[chosen])


def test_top_keeps_exactly_the_highest_losses(bn_model: nn.Module) -> None:
    b, p_up = 32, 0.5
    x, x_adv, y = make_batch(b)
    sel = select("top", bn_model, x, x_adv, y, p_up)
    k = round(p_up * 2 * b)
    chosen = chosen_indices(sel, x, x_adv)
    losses = reference_losses(bn_model, x, x_adv, y)
    assert set(chosen.tolist()) == set(losses.topk(k).indices.tolist())
    check_consistent(sel, chosen, y, b, k)
    assert 0 < int(sel.n_adv) < k, "this batch mixes clean and adversarial samples"
    # what the scoring pass reports for eq. (9) and for CAT / Dong et al.
    ref = copy.deepcopy(bn_model).train()
    with torch.no_grad():
        logits = ref(torch.cat([x, x_adv]))
    assert sel.scored == 2 * b
    assert int(sel.correct) == int((logits.argmax(1) == y.repeat(2)).sum())
    assert torch.allclose(sel.logits_adv, logits[b:], atol=1e-5)


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p_up=st.floats(min_value=1e-3, max_value=1.0), b=st.integers(min_value=1, max_value=16),
       seed=st.integers(min_value=0, max_value=2**16))
def test_top_selection_property(bn_model: nn.Module, p_up: float, b: int, seed: int) -> None:
    x, x_adv, y = make_batch(b, seed)
    bn0 = bn_buffers(bn_model)
    sel = select("top", bn_model, x, x_adv, y, p_up)
    k = len(sel.y)
    assert k >= 1 and (k == 1 or abs(k - p_up * 2 * b) <= 0.5 + 1e-9), "k = round(P_up * 2b'), at least one"
    chosen = chosen_indices(sel, x, x_adv)
    check_consistent(sel, chosen, y, b, k)
    losses = reference_losses(bn_model, x, x_adv, y)
    rest = torch.ones(2 * b, dtype=torch.bool)
    rest[chosen] = False
    if rest.any():
        assert losses[chosen].min() >= losses[rest].max(), "no unselected sample has a higher loss"
    assert all(torch.equal(v, bn_buffers(bn_model)[k]) for k, v in bn0.items())


def test_p_up_one_keeps_everything(bn_model: nn.Module) -> None:
    x, x_adv, y = make_batch(10)
    sel = select("top", bn_model, x, x_adv, y, 1.0)
    assert sorted(chosen_indices(sel, x, x_adv).tolist()) == list(range(20))
    assert (int(sel.n_clean), int(sel.n_adv)) == (10, 10)


def test_scoring_pass_leaves_batchnorm_statistics_and_mode(bn_model: nn.Module) -> None:
    x, x_adv, y = make_batch(16)
    # give the running statistics non-default values first
    with torch.no_grad():
        bn_model(torch.rand(16, 1, 8, 8))
    before = bn_buffers(bn_model)
    momenta = [m.momentum for m in bn_model.modules() if isinstance(m, nn.BatchNorm2d)]
    select("top", bn_model, x, x_adv, y, 0.5)
    after = bn_buffers(bn_model)
    assert before.keys() == after.keys() and len(before) >= 6
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert bn_model.training
    assert [m.momentum for m in bn_model.modules() if isinstance(m, nn.BatchNorm2d)] == momenta
    # without the guard the same forward pass would have moved them
    with torch.no_grad():
        bn_model(torch.cat([x, x_adv]))
    assert not all(torch.equal(before[k], bn_buffers(bn_model)[k]) for k in before)


def test_frozen_bn_stats_uses_batch_statistics_and_handles_cumulative_momentum() -> None:
    torch.manual_seed(0)
    bn = nn.BatchNorm1d(3, momentum=None)  # cumulative moving average
    with torch.no_grad():
        bn(torch.randn(8, 3))
    before = bn_buffers(bn)
    x = 5 + 2 * torch.randn(16, 3)
    with torch.no_grad(), frozen_bn_stats(bn):
        out = bn(x)
    assert torch.allclose(out.mean(0), torch.zeros(3), atol=1e-5), "normalised with the batch's own statistics"
    assert all(torch.equal(before[k], bn_buffers(bn)[k]) for k in before)
    assert bn.momentum is None


def test_frozen_bn_stats_restores_on_error(bn_model: nn.Module) -> None:
    before = bn_buffers(bn_model)
    with pytest.raises(RuntimeError), frozen_bn_stats(bn_model):
        bn_model(torch.rand(4, 1, 8, 8))
        raise RuntimeError("boom")
    assert all(m.momentum == 0.1 for m in bn_model.modules() if isinstance(m, nn.BatchNorm2d))
    assert all(torch.equal(before[k], bn_buffers(bn_model)[k]) for k in before)


def test_random_selection_size_counts_and_seed(bn_model: nn.Module) -> None:
    b, p_up = 20, 0.3
    x, x_adv, y = make_batch(b)
    sels = [select("random", bn_model, x, x_adv, y, p_up, torch.Generator().manual_seed(s)) for s in (1, 1, 2)]
    k = round(p_up * 2 * b)
    chosen = [chosen_indices(s, x, x_adv) for s in sels]
    for sel, ch in zip(sels, chosen, strict=True):
        check_consistent(sel, ch, y, b, k)
        assert sel.logits_adv is None and sel.correct is None and sel.scored == 0, "no scoring pass"
    assert torch.equal(chosen[0], chosen[1]) and not torch.equal(chosen[0], chosen[2])


def test_random_selection_is_uniform_over_clean_and_adversarial(bn_model: nn.Module) -> None:
    x, x_adv, y = make_batch(10)
    g = torch.Generator().manual_seed(0)
    n_adv = [int(select("random", bn_model, x, x_adv, y, 0.5, g).n_adv) for _ in range(400)]
    assert 4.7 < sum(n_adv) / len(n_adv) < 5.3  # expectation 5 of 10
    assert min(n_adv) < 5 < max(n_adv)


def test_clean_and_adv_kinds(bn_model: nn.Module) -> None:
    b = 12
    x, x_adv, y = make_batch(b)
    clean = select("clean", bn_model, x, None, y)
    assert torch.equal(clean.x, x) and torch.equal(clean.y, y)
    assert (int(clean.n_clean), int(clean.n_adv)) == (b, 0) and not clean.is_adv.any() and len(clean.adv_index) == 0
    adv = select("adv", bn_model, x, x_adv, y)
    assert torch.equal(adv.x, x_adv) and torch.equal(adv.y, y)
    assert (int(adv.n_clean), int(adv.n_adv)) == (0, b) and adv.is_adv.all()
    assert torch.equal(adv.adv_index, torch.arange(b))


def test_select_argument_errors(bn_model: nn.Module) -> None:
    x, x_adv, y = make_batch(4)
    for kind in ("adv", "top", "random"):
        with pytest.raises(ValueError, match="needs adversarial examples"):
            select(kind, bn_model, x, None, y, 0.5)
    with pytest.raises(ValueError, match=r"selection='best' is not allowed; choose one of: " + ", ".join(SELECTIONS)):
        select("best", bn_model, x, x_adv, y, 0.5)
    for p_up in (0.0, 1.5, -1.0, float("nan")):
        with pytest.raises(ValueError, match=r"p_up=.* P_up must be in \(0, 1\]"):
            select("top", bn_model, x, x_adv, y, p_up)


def test_works_with_a_cifar_model() -> None:
    torch.manual_seed(0)
    model = build_model("small-cnn", (3, 32, 32), 10, *MEAN_STD["cifar10"]).train()
    x, x_adv, y = make_batch(8, shape=(3, 32, 32))
    sel = select("top", model, x, x_adv, y, 0.25)
    assert sel.x.shape == (4, 3, 32, 32)


# ------------------------------------------------------------------ screened (prescreen)


@pytest.mark.parametrize("unattacked", ["clean", "skip"])
def test_screened_is_a_selection_chosen_before_the_attack(bn_model: nn.Module, unattacked: str) -> None:
    b = 10
    x, x_adv_all, y = make_batch(b)
    assert before_attack("top", bn_model, x, y, 0.3, unattacked) is None, "only 'screened' decides before the attack"
    screening = before_attack("screened", bn_model, x, y, 0.3, unattacked)
    assert screening is not None and len(screening.attacked) == 3 and len(screening.others) == 7
    with torch.no_grad():
        losses = F.cross_entropy(copy.deepcopy(bn_model)(x), y, reduction="none")
    assert set(screening.attacked.tolist()) == set(losses.topk(3).indices.tolist()), "the highest clean losses"
    x_adv = x_adv_all[screening.attacked]
    sel = select("screened", bn_model, x, x_adv, y, screening=screening)
    assert int(sel.n_adv) == 3 and torch.equal(sel.x[:3], x_adv) and torch.equal(sel.adv_index, screening.attacked)
    assert int(sel.n_clean) == (7 if unattacked == "clean" else 0) and sel.scored == b
    with pytest.raises(ValueError, match="needs the screening made before the attack"):
        select("screened", bn_model, x, x_adv, y)
