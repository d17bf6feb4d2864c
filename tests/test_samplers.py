"""Samplers as PyTorch batch samplers: DataLoader over a map-style Dataset, set_epoch, len, WithIndex."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from advsel.cat import CATSampler
from advsel.samplers import UniformSampler, WithIndex

C = 4


class OnTheFly(Dataset):
    """A map-style data set of n items made when asked for (nothing held in memory): item i is a
    noisy copy of the prototype of class i % C, from a generator seeded by i.  Counts its reads."""

    def __init__(self, n: int, dim: int = 6) -> None:
        self.n, self.dim, self.reads = n, dim, 0
        self.prototypes = torch.eye(C, dim) * 3

    def __len__(self) -> int:
        return self.n

    def label(self, i: int) -> int:
        return i % C

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        self.reads += 1
        g = torch.Generator().manual_seed(1000 + i)
        return self.prototypes[self.label(i)] + torch.randn(self.dim, generator=g), self.label(i)


def test_uniform_sampler_is_a_batch_sampler_with_epochs() -> None:
    s = UniformSampler(torch.arange(5, 45), 8, seed=3)
    assert len(s) == s.steps_per_epoch == 5
    first = list(s)
    assert all(isinstance(b, list) and all(isinstance(i, int) for i in b) for b in first)
    assert first == [b.tolist() for b in s.batches(0)]
    assert list(s) == first  # like DistributedSampler: the same epoch until set_epoch
    s.set_epoch(1)
    second = list(s)
    assert second == [b.tolist() for b in s.batches(1)] and second != first
    assert sorted(sum(second, [])) == list(range(5, 45))  # a uniform epoch is a permutation


def test_uniform_sampler_drives_a_dataloader_over_a_lazy_dataset() -> None:
    data = OnTheFly(50)
    s = UniformSampler(torch.arange(50), 10, seed=0)
    loader = DataLoader(WithIndex(data), batch_sampler=s)
    assert len(loader) == 5
    for epoch in range(2):
        s.set_epoch(epoch)
        for (x, y, idx), expected in zip(loader, s.batches(epoch), strict=True):
            assert x.shape == (10, 6) and torch.equal(idx, expected) and torch.equal(y, idx % C)
    assert data.reads == 100


def test_cat_sampler_trains_a_model_through_a_dataloader() -> None:
    """CAT over a lazily generated data set: the loader reads only the drawn items, a small model
    trains on FGSM examples and the logits on them update exactly the drawn samples' weights."""
    n, b = 64, 8
    data = OnTheFly(n)
    labels = torch.tensor([data.label(i) for i in range(n)])  # CAT needs only the labels up front
    sampler = CATSampler(torch.arange(n), labels, b, seed=0, num_classes=C)
    loader = DataLoader(WithIndex(data), batch_sampler=sampler)
    assert len(loader) == sampler.steps_per_epoch == n // b
    torch.manual_seed(0)
    model = nn.Linear(6, C)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    params_before = [p.detach().clone() for p in model.parameters()]
    drawn = torch.zeros(n, dtype=torch.bool)
    for x, y, idx in loader:
        assert len(set(idx.tolist())) == b and torch.equal(torch.bincount(y, minlength=C), torch.full((C,), b // C))
        x = x.requires_grad_(True)
        grad, = torch.autograd.grad(nn.functional.cross_entropy(model(x), y), x)
        logits_adv = model((x + 0.5 * grad.sign()).detach())
        loss = nn.functional.cross_entropy(logits_adv, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sampler.observe(idx, logits_adv, y)
        drawn[idx] = True
    assert data.reads == len(loader) * b
    assert any(not torch.equal(p, q) for p, q in zip(params_before, model.parameters(), strict=True))
    w = sampler.weights
    assert torch.all(w[drawn] != 1) and torch.all(w[~drawn] == 1) and (~drawn).any()


def test_with_index_appends_the_index() -> None:
    data = OnTheFly(5)
    x, y, i = WithIndex(data)[3]
    assert i == 3 and y == 3 and torch.equal(x, data[3][0])
    assert WithIndex([10, 11, 12])[2] == (12, 2) and len(WithIndex(data)) == 5  # type: ignore[arg-type]


def test_cat_epoch_recurs_across_batches_never_within() -> None:
    """Without replacement covers one batch: with equal weights an epoch of n / b' batches touches
    1 - (1 - b'/n) ** (n / b') of the samples (65 % for n = 1,000, b' = 100), as the docstring says."""
    n, b = 1000, 100
    s = CATSampler(torch.arange(n), torch.arange(n) % 10, b, seed=2, num_classes=10)
    shares = []
    for epoch in range(30):
        s.set_epoch(epoch)
        batches = list(s)
        assert all(len(set(batch)) == b for batch in batches)
        shares.append(len(set(sum(batches, []))) / n)
    expected = 1 - (1 - b / n) ** (n / b)
    assert abs(expected - 0.651) < 1e-3
    assert abs(sum(shares) / len(shares) - expected) < 0.01  # sd of the mean ~ 0.003
