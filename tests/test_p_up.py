"""P_up: the size of the selection set, eq. (9), and the rules the method registry names."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advsel.config import make_config
from advsel.methods import REGISTRY
from advsel.p_up import EQ9, FIXED, NONE, RULES, adaptive_p_up, n_selected


@settings(deadline=None, database=None)
@given(p_up=st.floats(min_value=1e-6, max_value=1.0), n=st.integers(min_value=1, max_value=10_000))
def test_n_selected_rounds(p_up: float, n: int) -> None:
    k = n_selected(p_up, n)
    assert 1 <= k <= n
    assert k == 1 or abs(k - p_up * n) <= 0.5 + 1e-9


def test_adaptive_p_up_by_hand() -> None:
    # P_up(t) = max(floor, (1 - acc(t-1)) * P_up(t-1)), from P_up(0) = 1
    p = adaptive_p_up(1.0, 0.3, 0.1)
    assert p == pytest.approx(0.7)
    p = adaptive_p_up(p, 0.5, 0.1)
    assert p == pytest.approx(0.35)
    p = adaptive_p_up(p, 0.6, 0.1)
    assert p == pytest.approx(0.14)
    p = adaptive_p_up(p, 0.5, 0.1)
    assert p == pytest.approx(0.1), "held at the floor, not 0.07"
    assert adaptive_p_up(0.8, 0.0, 0.1) == pytest.approx(0.8), "a model that gets nothing right keeps P_up"
    assert adaptive_p_up(0.8, 0.25, 0.0) == pytest.approx(0.6)
    assert 0 < adaptive_p_up(0.8, 1.0, 0.0) <= 1e-6, "floor 0 is the paper's equation, kept above 0"


@settings(deadline=None, database=None)
@given(accuracies=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=30),
       floor=st.floats(min_value=0.0, max_value=1.0))
def test_adaptive_sequence_is_non_increasing_and_floored(accuracies: list[float], floor: float) -> None:
    p = 1.0
    for acc in accuracies:
        nxt = adaptive_p_up(p, acc, floor)
        assert nxt <= p
        assert nxt >= floor and 0 < nxt <= 1
        assert nxt == pytest.approx(max(floor, (1 - acc) * p), abs=1e-6)
        p = nxt


@pytest.mark.parametrize(("args", "name"), [
    ((1.0, 1.5, 0.1), "accuracy"),
    ((1.0, -0.1, 0.1), "accuracy"),
    ((1.0, float("nan"), 0.1), "accuracy"),
    ((1.0, 0.5, -0.1), "p_up_floor"),
    ((1.0, 0.5, 1.5), "p_up_floor"),
    ((0.0, 0.5, 0.1), "p_up"),
    ((1.5, 0.5, 0.1), "p_up"),
    ((float("nan"), 0.5, 0.1), "p_up"),
])
def test_adaptive_p_up_bad_inputs(args: tuple[float, float, float], name: str) -> None:
    with pytest.raises(ValueError, match=rf"^{name}=.* is not allowed"):
        adaptive_p_up(*args)


# ------------------------------------------------------------------ the rules


def test_the_registry_names_one_rule_object_per_method() -> None:
    assert {m.name: m.p_up.name for m in REGISTRY.values()} == {
        "standard": "none", "robust": "none", "ds": "fixed", "ds-adaptive": "eq9", "random": "fixed", "cat": "none",
        "cat-uniform": "none", "ds-cat": "fixed", "prescreen": "none", "dong": "none"}
    assert all(m.p_up is RULES[m.p_up.name] for m in REGISTRY.values())


def test_fixed_rule_warms_up_at_one_then_holds_p_up() -> None:
    c = make_config("smoke", "mnist", method="ds", p_up=0.25, p_up_warmup_epochs=2, epochs=4)
    assert FIXED.start(c) == 1.0
    assert [FIXED.for_epoch(e, 0.7, c) for e in range(4)] == [1.0, 1.0, 0.25, 0.25]
    assert FIXED.after_epoch(0.25, {"train_acc": 0.9}, c) == 0.25, "no update after an epoch"
    assert FIXED.start(c.replace(p_up_warmup_epochs=0)) == 0.25


@pytest.mark.parametrize(("driver", "key"), [("train", "train_acc"), ("clean", "val_clean_acc"),
                                             ("robust", "val_robust_acc")])
def test_eq9_rule_starts_at_one_and_reads_its_driving_accuracy(driver: str, key: str) -> None:
    c = make_config("smoke", "mnist", method="ds-adaptive", adaptive_accuracy=driver, p_up_floor=0.1,
                    validation_size=0 if driver == "train" else 20)
    record = {"train_acc": 0.2, "val_clean_acc": 0.4, "val_robust_acc": 0.7, "clean_acc": 0.99, "robust_acc": 0.99}
    assert EQ9.start(c) == 1.0 and EQ9.for_epoch(3, 0.5, c) == 0.5
    assert EQ9.after_epoch(0.5, record, c) == adaptive_p_up(0.5, record[key], 0.1), "never the test accuracy"


def test_without_a_rule_p_up_stays_one() -> None:
    c = make_config("smoke", "mnist", method="robust")
    assert NONE.start(c) == 1.0 and NONE.for_epoch(2, 1.0, c) == 1.0 and NONE.after_epoch(1.0, {}, c) == 1.0
