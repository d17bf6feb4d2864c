"""The protocol options of issue 9: P_up warm-up, a validation split for eq. (9), the cat-uniform control,
Dong et al. with as many steps as PGD-AT.  Each is off by default and leaves today's runs as they were."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_trainer import Interrupt, same_weights, untimed, weights

from advsel import experiments
from advsel.cat import CATSampler
from advsel.config import ConfigError
from advsel.data import TensorData
from advsel.p_up import adaptive_p_up
from advsel.samplers import UniformSampler
from advsel.splits import training_subset, validation_split
from advsel.trainer import Trainer

# ------------------------------------------------------------------ 1. P_up warm-up


@pytest.mark.parametrize("method", ["ds", "random", "ds-cat"])
def test_a_warm_up_epoch_backpropagates_all_2b_then_p_up_applies(method: str, tiny_data: TensorData,
                                                                  smoke_config) -> None:
    cfg = smoke_config(method=method, p_up=0.25, epochs=3, p_up_warmup_epochs=1)
    epochs = Trainer(cfg, tiny_data, progress=False).fit()["epochs"]
    b = cfg.batch_size
    first, *rest = epochs
    assert first["p_up"] == 1.0
    assert first["selected_clean"] + first["selected_adv"] == 2 * b, "P_up = 1: all 2b' per step"
    assert (first["selected_clean"], first["selected_adv"]) == (b, b)
    attack = cfg.steps * b * first["steps"]
    assert first["backward_passes"] - attack == 2 * b * first["steps"]
    for rec in rest:
        assert rec["p_up"] == 0.25
        assert rec["selected_clean"] + rec["selected_adv"] == round(0.25 * 2 * b)
        assert rec["backward_passes"] - attack == round(0.25 * 2 * b) * rec["steps"]


def test_without_a_warm_up_p_up_holds_from_the_first_epoch(tiny_data: TensorData, smoke_config) -> None:
    epochs = Trainer(smoke_config(method="ds", p_up=0.25, epochs=2), tiny_data, progress=False).fit()["epochs"]
    assert [r["p_up"] for r in epochs] == [0.25, 0.25]
    assert all(r["selected_clean"] + r["selected_adv"] == 25 for r in epochs)


def test_resuming_inside_a_warm_up_equals_an_uninterrupted_run(tiny_data: TensorData, smoke_config,
                                                                tmp_path: Path) -> None:
    cfg = smoke_config(method="ds", p_up=0.25, epochs=3, p_up_warmup_epochs=2)
    full = Trainer(cfg, tiny_data, progress=False)
    want = full.fit()
    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg, tiny_data, checkpoint=ckpt, observers=[Interrupt(2)], progress=False).fit()
    resumed = Trainer(cfg, tiny_data, checkpoint=ckpt, observers=[Interrupt(None)], progress=False)
    got = resumed.fit()
    assert [r["p_up"] for r in got["epochs"]] == [1.0, 1.0, 0.25]
    assert [untimed(r) for r in got["epochs"]] == [untimed(r) for r in want["epochs"]]
    assert same_weights(weights(resumed), weights(full))


def test_eq9_takes_no_warm_up(tiny_data: TensorData, smoke_config) -> None:
    """p_up_warmup_epochs is not a parameter of ds-adaptive: ignored (and out of the key), eq. (9) as before."""
    plain = smoke_config(method="ds-adaptive", epochs=2)
    warm = plain.replace(p_up_warmup_epochs=1)
    assert warm.key() == plain.key() and "p_up_warmup_epochs" in warm.ignored()
    a = Trainer(plain, tiny_data, progress=False).fit()["epochs"]
    b = Trainer(warm, tiny_data, progress=False).fit()["epochs"]
    assert [r["p_up"] for r in a] == [r["p_up"] for r in b] and a[1]["p_up"] < 1.0


# ------------------------------------------------------------------ 2. the validation split


def test_the_validation_split_is_class_balanced_seeded_and_held_out_of_the_pool(tiny_data: TensorData,
                                                                                smoke_config) -> None:
    cfg = smoke_config(train_size=200, validation_size=50)
    pool = training_subset(cfg, tiny_data)
    val, train = validation_split(cfg, tiny_data, pool)
    assert len(val) == 50 and len(train) == 150
    assert not bool(torch.isin(val, train).any()), "disjoint"
    assert torch.equal(torch.cat([val, train]).sort().values, pool), "both come out of the train_size pool"
    assert torch.bincount(tiny_data.y_train[val], minlength=10).tolist() == [5] * 10
    again, _ = validation_split(cfg, tiny_data, pool)
    assert torch.equal(again, val), "seeded"
    other, _ = validation_split(cfg.replace(seed=1), tiny_data, training_subset(cfg.replace(seed=1), tiny_data))
    assert not torch.equal(other, val)

    trainer = Trainer(cfg, tiny_data, progress=False)
    assert torch.equal(trainer.train_indices, train) and torch.equal(trainer.validation_indices, val)
    assert torch.equal(trainer.pool_indices, train)


def test_validation_accuracy_is_recorded_per_epoch(tiny_data: TensorData, smoke_config) -> None:
    cfg = smoke_config(method="robust", epochs=2, train_size=200, validation_size=50)
    result = Trainer(cfg, tiny_data, progress=False).fit()
    assert result["train_size"] == 150 and result["validation_size"] == 50
    for rec in result["epochs"]:
        assert 0 <= rec["val_clean_acc"] <= 1 and 0 <= rec["val_robust_acc"] <= 1
    without = Trainer(cfg.replace(validation_size=0), tiny_data, progress=False).fit()
    assert "val_clean_acc" not in without["epochs"][0] and "validation_size" not in without


@pytest.mark.parametrize("driver", ["clean", "robust"])
def test_eq9_reads_the_validation_accuracy_never_the_test_accuracy(driver: str, tiny_data: TensorData,
                                                                   smoke_config) -> None:
    cfg = smoke_config(method="ds-adaptive", epochs=2, p_up_floor=0.05, adaptive_accuracy=driver,
                       train_size=200, validation_size=50)
    trainer = Trainer(cfg, tiny_data, progress=False)
    trainer.evaluate = lambda: {"clean_acc": 0.9, "robust_acc": 0.8}  # the test subset's
    trainer.evaluate_validation = lambda: {"val_clean_acc": 0.3, "val_robust_acc": 0.2}
    epochs = trainer.fit()["epochs"]
    assert epochs[0]["val_clean_acc"] == 0.3 and epochs[0]["clean_acc"] == 0.9
    assert epochs[1]["p_up"] == pytest.approx(adaptive_p_up(1.0, {"clean": 0.3, "robust": 0.2}[driver], 0.05))


def test_validating_leaves_training_untouched(tiny_data: TensorData, smoke_config) -> None:
    """The validation attack draws from eval_generator: training is bit-identical with or without it."""
    cfg = smoke_config(method="ds", epochs=2, train_size=200, validation_size=50, augment=True)
    a = Trainer(cfg, tiny_data, progress=False)
    a.fit()
    b = Trainer(cfg, tiny_data, progress=False)
    b.evaluate_validation = lambda: {"val_clean_acc": 0.0, "val_robust_acc": 0.0}
    b.fit()
    assert same_weights(weights(a), weights(b))


def test_a_validation_split_as_large_as_the_pool_or_meeting_train_indices_is_an_error(tiny_data: TensorData,
                                                                                      smoke_config) -> None:
    with pytest.raises(ConfigError, match="validation_size=300 is not smaller than the 300 samples") as info:
        Trainer(smoke_config(train_size=None, validation_size=300), tiny_data)
    assert info.value.param == "validation_size"
    cfg = smoke_config(train_size=200, validation_size=50)
    val, _ = validation_split(cfg, tiny_data, training_subset(cfg, tiny_data))
    with pytest.raises(ValueError, match="train_indices holds 50 samples of the validation split"):
        Trainer(cfg, tiny_data, train_indices=val)


# ------------------------------------------------------------------ 3. cat-uniform


def test_a_sampler_without_updates_keeps_cats_draws_from_the_all_ones_start() -> None:
    labels = torch.arange(120) % 6
    cat = CATSampler(torch.arange(120), labels, 30, seed=3, num_classes=6)
    fixed = CATSampler(torch.arange(120), labels, 30, seed=3, num_classes=6, update=False)
    logits = torch.randn(30, 6) * 5
    for _ in range(4):
        a, b = cat.draw(), fixed.draw()
        assert torch.equal(a, b), "same draw, same random numbers, while CAT's weights are still all ones"
        assert len(set(b.tolist())) == 30 and torch.bincount(labels[b], minlength=6).tolist() == [5] * 6
        fixed.observe(b, logits, labels[b])
    assert torch.equal(fixed.weights, torch.ones(120)), "never updated"
    p = fixed.probabilities()
    assert torch.allclose(p, torch.full((120,), 1 / 20, dtype=torch.float64)), "uniform within each class"
    cat.observe(a, logits, labels[a])
    assert not torch.equal(cat.weights, torch.ones(120)), "CAT's own weights move"


def test_cat_uniform_trains_like_cat_on_unchanging_weights(tiny_data: TensorData, smoke_config) -> None:
    cfg = smoke_config(method="cat-uniform", epochs=2)
    trainer = Trainer(cfg, tiny_data, progress=False)
    rec = trainer.fit()["epochs"]
    assert isinstance(trainer.sampler, CATSampler) and trainer.sampler.update is False
    assert torch.equal(trainer.sampler.weights, torch.ones(len(trainer.train_indices)))
    b = cfg.batch_size
    assert all((r["selected_clean"], r["selected_adv"]) == (0, b) for r in rec), "the b' PGD versions"
    cat = Trainer(cfg.replace(method="cat"), tiny_data, progress=False)
    assert rec[0]["steps"] == cat.sampler.steps_per_epoch
    first = next(iter(Trainer(cfg, tiny_data, progress=False).sampler.batches(0)))
    assert torch.equal(first, next(iter(cat.sampler.batches(0)))), "CAT's first batch, from the same start"
    assert torch.bincount(tiny_data.y_train[first], minlength=10).tolist() == [b // 10] * 10


# ------------------------------------------------------------------ 4. Dong et al. with PGD-AT's steps


def test_a_longer_uniform_epoch_reshuffles_the_indices_as_often_as_needed() -> None:
    idx = torch.arange(100, 153)  # 53 samples, b' 10: 5 whole batches a pass
    default = list(UniformSampler(idx, 10, seed=4).batches(2))
    long = list(UniformSampler(idx, 10, seed=4, steps_per_epoch=12).batches(2))
    assert len(default) == 5 and len(long) == 12
    assert all(torch.equal(a, b) for a, b in zip(default, long[:5], strict=False)), "the first pass is the default"
    for start in (0, 5):  # each full pass draws distinct samples, every batch whole and without repeats
        seen = torch.cat(long[start:start + 5])
        assert len(seen.unique()) == 50 and bool(torch.isin(seen, idx).all())
    assert all(len(b) == 10 and len(b.unique()) == 10 for b in long)
    assert not torch.equal(torch.cat(long[:5]), torch.cat(long[5:10])), "reshuffled"
    again = list(UniformSampler(idx, 10, seed=4, steps_per_epoch=12).batches(2))
    assert all(torch.equal(a, b) for a, b in zip(long, again, strict=True)), "seeded by (seed, epoch)"
    two = [list(UniformSampler(idx, 5, seed=4, rank=r, world_size=2, steps_per_epoch=12).batches(2))
           for r in (0, 1)]
    assert all(torch.equal(torch.stack([a, b], 1).flatten(), g) for a, b, g in zip(*two, long, strict=True))
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="steps_per_epoch"):
            UniformSampler(idx, 10, seed=4, steps_per_epoch=bad)


def test_dong_steps_pgd_at_takes_as_many_steps_as_pgd_at(tiny_data: TensorData, smoke_config) -> None:
    cfg = smoke_config(method="dong", epochs=2, lr_schedule="cosine")
    half = torch.arange(0, 300, 2)[:100]  # a subset of half the 200-sample pool
    robust = Trainer(cfg.replace(method="robust"), tiny_data, progress=False)
    epochs = Trainer(cfg, tiny_data, train_indices=half, progress=False)
    steps = Trainer(cfg.replace(dong_steps="pgd-at"), tiny_data, train_indices=half, progress=False)
    b = cfg.batch_size
    assert robust.sampler.steps_per_epoch == 200 // b == 4
    assert epochs.sampler.steps_per_epoch == 100 // b == 2, "today's: one pass over the subset, half the steps"
    assert steps.sampler.steps_per_epoch == 4 and steps.total_steps == robust.total_steps
    result = steps.fit()
    want = robust.fit()
    assert [r["steps"] for r in result["epochs"]] == [r["steps"] for r in want["epochs"]] == [4, 4]
    assert [r["lr"] for r in result["epochs"]] == [r["lr"] for r in want["epochs"]], "the same LR schedule"
    assert sum(r["backward_passes"] for r in result["epochs"]) == sum(r["backward_passes"] for r in want["epochs"])
    seen = torch.cat(list(steps.sampler.batches(0)))
    assert bool(torch.isin(seen, half).all()), "only the subset is trained on"


def test_dong_steps_keeps_the_shared_pretraining_and_charges_it(tmp_path: Path, synthetic_experiments: TensorData,
                                                                smoke_config) -> None:
    cfg = smoke_config(method="dong", dong_steps="pgd-at", validation_size=20, eps=0.05, alpha=0.03)
    robust = smoke_config(method="robust", validation_size=20, eps=0.05, alpha=0.03)
    assert experiments.pretrain_config(cfg).key() == robust.key(), "the same cached robust run serves both"
    result = experiments.run(cfg, cache_dir=tmp_path)
    pre = experiments.run(robust, cache_dir=tmp_path)
    assert result["pretrain"]["key"] == pre["key"] and result["pretrain"]["backward_passes"] > 0
    assert result["epochs"][0]["steps"] == pre["epochs"][0]["steps"] == 180 // cfg.batch_size
    assert result["train_size"] == 90, "half of the 180 samples left after the validation split"
    val = set(Trainer(robust, synthetic_experiments, progress=False).validation_indices.tolist())
    assert not val & set(pre["stability"]["indices"]), "the pre-training never sees the validation split"
