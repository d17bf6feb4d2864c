"""Dong et al.'s learning stability: per-sample counts, the class-balanced stable subset, the ``dong`` method."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from _synthetic import make_data, smoke

from advsel import experiments
from advsel.dong import StabilityTracker, stability_ranking, stable_subset
from advsel.runs import result_path
from advsel.trainer import Trainer


def _logits(preds: list[int], num_classes: int = 3) -> torch.Tensor:
    """Logits whose argmax is ``preds``."""
    out = torch.zeros(len(preds), num_classes)
    out[torch.arange(len(preds)), torch.tensor(preds)] = 5.0
    return out


def test_tracker_counts_wrong_epochs_per_sample() -> None:
    indices = torch.tensor([10, 3, 7, 5])  # data-set indices; counts are kept in this order
    label = {10: 0, 3: 1, 7: 2, 5: 1}
    t = StabilityTracker(indices)
    # three "epochs", two batches each, in varying order; the predictions on the adversarial examples:
    epochs = [
        [([3, 10], [0, 0]), ([7, 5], [0, 1])],  # wrong: 3, 7
        [([5, 7], [2, 2]), ([10, 3], [0, 2])],  # wrong: 5, 3
        [([10, 7], [1, 1]), ([3, 5], [1, 1])],  # wrong: 10, 7
    ]
    for epoch in epochs:
        for idx, preds in epoch:
            y = torch.tensor([label[i] for i in idx])
            t.update(torch.tensor(idx), _logits(preds), y)
    assert t.count_wrong.tolist() == [1, 2, 2, 1]  # for 10, 3, 7, 5
    assert t.seen.tolist() == [3, 3, 3, 3]
    rec = t.as_record()
    assert rec == {"indices": [10, 3, 7, 5], "count_wrong": [1, 2, 2, 1], "seen": [3, 3, 3, 3]}


def test_tracker_observer_hook_and_state() -> None:
    t = StabilityTracker(torch.tensor([4, 0, 2]))
    idx, y = torch.tensor([2, 4]), torch.tensor([1, 1])
    t.on_step(None, idx, None, None, None, y, None)  # no adversarial logits (standard training): nothing counted
    assert t.count_wrong.tolist() == [0, 0, 0] and t.seen.tolist() == [0, 0, 0]
    t.on_step(None, idx, None, None, None, y, _logits([0, 1]))  # 2 wrong, 4 right
    assert t.count_wrong.tolist() == [0, 0, 1] and t.seen.tolist() == [1, 0, 1]
    state = t.state_dict()
    t.update(idx, _logits([0, 0]), y)
    assert t.count_wrong.tolist() == [1, 0, 2]
    t.load_state_dict(state)
    assert t.count_wrong.tolist() == [0, 0, 1] and t.seen.tolist() == [1, 0, 1]


def test_stability_ranking_orders_by_count_with_seeded_ties() -> None:
    counts = torch.tensor([2, 0, 1, 0, 3, 0, 1])
    r = stability_ranking(counts, seed=0)
    assert sorted(r.tolist()) == list(range(7))
    assert counts[r].tolist() == sorted(counts.tolist())
    assert torch.equal(r, stability_ranking(counts, seed=0))
    # ties (the three zeros) are not simply broken by index for every seed
    firsts = {tuple(stability_ranking(counts, seed=s)[:3].tolist()) for s in range(20)}
    assert len(firsts) > 1


def test_stable_subset_hand_example() -> None:
    indices = torch.tensor([100, 101, 102, 103, 200, 201, 202, 203])
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    counts = torch.tensor([3, 0, 2, 1, 0, 4, 1, 5])
    sub = stable_subset(indices, labels, counts, keep=0.5, num_classes=2)
    assert sub.tolist() == [101, 103, 200, 202]
    assert stable_subset(indices, labels, counts, keep=0.25, num_classes=2).tolist() == [101, 200]
    assert stable_subset(indices, labels, counts, keep=1.0, num_classes=2).tolist() == indices.tolist()


def test_stable_subset_is_class_balanced_and_keeps_lowest_counts() -> None:
    g = torch.Generator().manual_seed(0)
    n, classes = 60, 3
    indices = torch.randperm(1000, generator=g)[:n]
    labels = torch.arange(n) % classes
    counts = torch.randint(0, 5, (n,), generator=g)
    counts[labels == 0] += 10  # class 0 is globally the least stable: it must still keep its share
    for keep in (0.5, 1 / 3, 0.9):
        sub = stable_subset(indices, labels, counts, keep=keep, seed=1, num_classes=classes)
        assert torch.equal(sub, sub.sort().values)
        kept = torch.isin(indices, sub)
        assert int(kept.sum()) == len(sub)
        for c in range(classes):
            in_c = labels == c
            assert int((kept & in_c).sum()) == round(keep * int(in_c.sum()))
            if (in_c & ~kept).any():
                assert counts[kept & in_c].max() <= counts[~kept & in_c].min()


@pytest.mark.parametrize("keep", [0.0, -0.5, 1.01, float("nan")])
def test_stable_subset_rejects_bad_keep(keep: float) -> None:
    with pytest.raises(ValueError, match="dong_keep"):
        stable_subset(torch.arange(4), torch.tensor([0, 0, 1, 1]), torch.zeros(4, dtype=torch.long), keep=keep,
                      num_classes=2)


# ----------------------------------------------------------------------------- the method
def test_dong_method_trains_on_stable_half_after_cached_pretraining(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_data(n_train=200, n_test=100, size=8)
    monkeypatch.setattr(experiments, "_DATA", {"mnist": data})
    fits = []
    original_fit = Trainer.fit

    def counting_fit(self: Trainer) -> dict:
        fits.append(self.config.method)
        return original_fit(self)

    monkeypatch.setattr(Trainer, "fit", counting_fit)
    # a weak attack and two epochs, so that the counts differ between samples
    settings = dict(eps=0.05, alpha=0.03, epochs=2, batch_size=20)
    config = smoke(method="dong", **settings)
    robust = smoke(method="robust", **settings)
    assert experiments.pretrain_config(config).key() == robust.key()

    result = experiments.run(config, cache_dir=tmp_path)
    assert fits == ["robust", "dong"]
    assert result["config"]["method"] == "dong" and result["complete"]
    assert result["train_size"] == 100  # half of the 200 training samples
    pre = result["pretrain"]
    assert pre["train_time_s"] > 0 and pre["forward_passes"] > 0 and pre["backward_passes"] > 0
    assert pre["subset_size"] == 100
    assert pre["attack_forward"] + pre["train_forward"] == pre["forward_passes"] and pre["time_attack_s"] > 0
    assert pre["key"] == robust.key()

    # the pre-training run is the cached robust run, with its learning-stability counts
    robust_file = result_path(robust, tmp_path)
    assert robust_file.is_file()
    cached = experiments.run(robust, cache_dir=tmp_path)
    assert fits == ["robust", "dong"]  # served from the cache
    st = cached["stability"]
    assert st["seen"] == [2] * 200  # two epochs, every sample once in each
    assert len(set(st["count_wrong"])) >= 2
    assert pre["train_time_s"] == cached["train_time_s"]

    # the subset: class-balanced, the most stable half of every class of the pre-training counts
    subset, cost = experiments.dong_subset(config, tmp_path)
    assert fits == ["robust", "dong"]
    assert len(subset) == 100 and cost == pre
    counts = dict(zip(st["indices"], st["count_wrong"], strict=True))
    chosen = set(subset.tolist())
    assert torch.bincount(data.y_train[subset], minlength=10).tolist() == [10] * 10
    for c in range(10):
        members = [i for i in st["indices"] if int(data.y_train[i]) == c]
        kept = [counts[i] for i in members if i in chosen]
        dropped = [counts[i] for i in members if i not in chosen]
        assert max(kept) <= min(dropped)

    # retraining the dong run does not retrain its pre-training
    mtime = robust_file.stat().st_mtime_ns
    again = experiments.run(config, cache_dir=tmp_path, force=True)
    assert fits == ["robust", "dong", "dong"]
    assert robust_file.stat().st_mtime_ns == mtime
    assert again["pretrain"] == pre and again["train_size"] == 100
