"""The method registry: its entries are consistent, the trainer follows them, and the docs' tables agree."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import torch

from advsel import config, experiments, methods
from advsel.cat import CATSampler
from advsel.config import Config, ConfigError
from advsel.data import TensorData
from advsel.epoch import EpochStats
from advsel.methods import METHOD_PARAMS, REGISTRY, Method, markdown_table, pretraining_methods
from advsel.p_up import EQ9, RULES
from advsel.samplers import UniformSampler
from advsel.selectors import SELECTIONS
from advsel.trainer import Trainer

# ------------------------------------------------------------------ the table


def test_the_ten_methods_in_order() -> None:
    assert methods.METHODS == ("standard", "robust", "ds", "ds-adaptive", "random", "cat", "cat-uniform", "ds-cat",
                               "prescreen", "dong")
    assert config.METHODS == methods.METHODS, "config's allowed methods come from the registry"


def test_parts_match_the_code_that_implements_them() -> None:
    assert methods.BACKPROPS == SELECTIONS, "every backprop kind is a selection of advsel.selectors.select"
    fields = {f.name for f in dataclasses.fields(Config)}
    assert set(METHOD_PARAMS) <= fields
    assert set(METHOD_PARAMS) == {p for m in REGISTRY.values() for p in m.params}, "every parameter has a user"


@pytest.mark.parametrize(("name", "params"), [
    ("standard", ()), ("robust", ()), ("ds", ("p_up", "p_up_warmup_epochs", "ds_forward")),
    ("ds-adaptive", ("p_up_floor", "adaptive_accuracy", "ds_forward")), ("random", ("p_up", "p_up_warmup_epochs")),
    ("cat", ("cat_alpha", "cat_temperature")), ("cat-uniform", ()),
    ("ds-cat", ("p_up", "p_up_warmup_epochs", "cat_alpha", "cat_temperature", "ds_forward")),
    ("dong", ("dong_keep", "dong_steps"))])
def test_each_method_uses_its_parameters(name: str, params: tuple[str, ...]) -> None:
    assert REGISTRY[name].params == params


def test_robust_is_dongs_pretraining() -> None:
    assert REGISTRY["dong"].pretrain == "robust" and pretraining_methods() == {"robust"}


@pytest.mark.parametrize(("parts", "message"), [
    (("uniform", "clean", "fixed"), "a P_up rule goes with backprop 'top' or 'random'"),
    (("uniform", "top", "none"), "a P_up rule goes with backprop 'top' or 'random'"),
    (("subset", "adv", "none"), "batch='subset' needs a pre-training method"),
    (("weighted", "adv", "none"), "batch='weighted' is not one of uniform, cat, balanced, subset"),
    (("uniform", "all", "none"), "backprop='all' is not one of clean, adv, top, random"),
])
def test_an_inconsistent_entry_is_rejected(parts: tuple[str, str, str], message: str) -> None:
    batch, backprop, p_up = parts
    with pytest.raises(ValueError, match=re.escape(message)):
        Method("new", batch, backprop, RULES[p_up], description="a new method")


def test_an_entry_names_its_p_up_rule_by_the_object() -> None:
    with pytest.raises(ValueError, match="p_up='fixed' is not a P_up rule; choose one of advsel.p_up's NONE, FIXED"):
        Method("new", "uniform", "top", "fixed", description="a new method")  # type: ignore[arg-type]


def test_an_entry_needs_a_one_line_description() -> None:
    with pytest.raises(ValueError, match="one non-empty line"):
        Method("new", "uniform", "adv", RULES["none"], description="")


# ------------------------------------------------------------------ the trainer follows the entries


@pytest.mark.parametrize("name", methods.METHODS)
def test_the_trainer_follows_the_entry(name: str, tiny_data: TensorData, smoke_config) -> None:
    """Sampler, attack, selection, first P_up and stability tracking come from the method's entry."""
    m = REGISTRY[name]
    cfg = smoke_config(method=name, p_up=0.25)
    subset = torch.arange(0, 300, 2) if m.pretrain else None
    trainer = Trainer(cfg, tiny_data, train_indices=subset, progress=False)
    assert isinstance(trainer.sampler, CATSampler if m.batch in ("cat", "balanced") else UniformSampler)
    if m.batch in ("cat", "balanced"):
        assert trainer.sampler.update is (m.batch == "cat"), "only CAT updates its weights"
    assert trainer.selection == m.backprop
    assert trainer.p_up == {"fixed": 0.25, "eq9": 1.0, "none": 1.0}[m.p_up.name]
    assert (trainer.tracker is not None) == (name in pretraining_methods())

    stats = EpochStats.start()
    trainer.train_step(next(iter(trainer.sampler.batches(0))), stats)
    b = cfg.batch_size
    attacked = round(cfg.attack_share * b) if m.backprop == "screened" else b
    assert trainer.passes["attack_forward"] == (cfg.steps * attacked if m.attacks else 0)
    clean, adv = int(stats.selected_clean), int(stats.selected_adv)
    k = round(trainer.p_up * 2 * b)
    assert {"clean": (clean, adv) == (b, 0), "adv": (clean, adv) == (0, b),
            "top": clean + adv == k, "random": clean + adv == k,
            "screened": (clean, adv) == (b - attacked, attacked)}[m.backprop]
    assert (stats.scored == 2 * b) == (m.backprop == "top"), "only DS scores the 2b'"
    if m.backprop == "screened":  # a no-gradient screening pass over the b' clean samples, then the training pass
        assert trainer.passes["train_forward"] == b + clean + adv


def test_eq9_moves_p_up_only_for_its_methods(tiny_data: TensorData, smoke_config) -> None:
    for name, m in REGISTRY.items():
        if m.pretrain is None and m.batch == "uniform" and m.backprop == "top":
            trainer = Trainer(smoke_config(method=name, epochs=2, p_up=0.5), tiny_data, progress=False)
            trainer.evaluate = lambda: {"clean_acc": 0.5, "robust_acc": 0.5}
            p_ups = [r["p_up"] for r in trainer.fit()["epochs"]]
            assert (p_ups[1] != p_ups[0]) == (m.p_up is EQ9), name


def test_a_method_with_a_pretraining_needs_its_subset(tiny_data: TensorData, smoke_config) -> None:
    with pytest.raises(ConfigError, match="trains on a subset chosen by a 'robust' pre-training run"):
        Trainer(smoke_config(method="dong"), tiny_data)


def test_pretrain_config_resets_what_the_pretraining_does_not_use(smoke_config) -> None:
    dong = smoke_config(method="dong", dong_keep=0.3, p_up=0.2, cat_alpha=0.1)
    pre = experiments.pretrain_config(dong)
    defaults = {f.name: f.default for f in dataclasses.fields(Config)}
    assert pre.method == "robust"
    assert all(getattr(pre, p) == defaults[p] for p in METHOD_PARAMS)
    assert pre.replace(method="dong") == dong.replace(**{p: defaults[p] for p in METHOD_PARAMS})
    with pytest.raises(ConfigError, match="method='ds' has no pre-training run; only dong"):
        experiments.pretrain_config(smoke_config(method="ds"))


# ------------------------------------------------------------------ the docs' method tables


def _table(path: Path, first_header: str) -> list[list[str]]:
    """The rows (cells, stripped) of the markdown table whose header starts with ``first_header``."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def test_readme_table_is_the_registrys(repo: Path) -> None:
    """README.md holds ``python -m advsel methods --markdown`` verbatim."""
    assert markdown_table() in (repo / "README.md").read_text()


# how the book's introduction words each part
INTRO_BATCH = {"uniform": "uniform shuffling", "cat": "CAT's weighted sampler",
               "balanced": "CAT's sampler with its weights never updated", "subset": "stable half"}
INTRO_BACKPROP = {"clean": "the $b'$ clean samples", "adv": "$b'$ PGD versions",
                  "top": "top $P_{\\rm up}$ of the $2b'$", "random": "a random $P_{\\rm up}$ share of the $2b'$",
                  "screened": "highest clean loss"}


def test_intro_table_agrees_with_the_registry(repo: Path) -> None:
    rows = _table(repo / "book" / "intro.md", "method")
    assert [r[0] for r in rows] == [f"`{name}`" for name in REGISTRY]
    for (_, batch, backprop, _paper), m in zip(rows, REGISTRY.values(), strict=True):
        assert INTRO_BATCH[m.batch] in batch, m.name
        assert INTRO_BACKPROP[m.backprop] in backprop, m.name
        assert ("eq. (9)" in backprop) == (m.p_up is EQ9), m.name
