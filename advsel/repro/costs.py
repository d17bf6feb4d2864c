"""What a run cost: training time and sample passes, in total, per optimizer step and by phase.

DS's Table I and CAT's speed-ups are claims about cost, and wall time depends on the
machine, so every cost is read two ways: training time (attack + training passes,
evaluation excluded) and sample passes counted by kind, summed as forward + 2 x backward
(:data:`COSTS`' ``f2b``; a backward pass costs about two forward passes).  A Dong et al.
result carries its pre-training's cost in its ``pretrain`` record (written by
:func:`advsel.experiments.dong_subset`), and the totals here charge it, so a cost is read
from the result alone.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from .stats import Result

PASS_KINDS = ("attack_forward", "attack_backward", "train_forward", "train_backward")
PHASE_TIMES = ("time_attack_s", "time_train_s")
COSTS = {"train_time_s": "training time (s)", "f2b": "sample passes, forward + 2 x backward", "step": "iteration"}


def cost(e: Mapping[str, Any], x: str = "train_time_s") -> float:
    """The cost of an evaluation record: ``train_time_s`` (seconds of attack + training, evaluation
    excluded), ``f2b`` (forward + 2 x backward sample passes, a backward pass costing about
    two forward passes; machine-independent and free of timing noise) or ``step`` (iterations)."""
    if x in ("train_time_s", "step"):
        return e[x]
    if x == "f2b":
        return e["forward_passes"] + 2 * e["backward_passes"]
    raise ValueError(f"x={x!r} is not allowed; choose one of: {', '.join(COSTS)}")


def total_cost(r: Result) -> dict[str, float]:
    """Training time (attack + training passes, evaluation excluded) and sample passes, pre-training included."""
    pre = r.get("pretrain") or {}
    return {"train_time_s": r["train_time_s"] + pre.get("train_time_s", 0.0),
            "forward_passes": sum(e["forward_passes"] for e in r["epochs"]) + pre.get("forward_passes", 0),
            "backward_passes": sum(e["backward_passes"] for e in r["epochs"]) + pre.get("backward_passes", 0),
            "train_backward": sum(e["train_backward"] for e in r["epochs"])}


def total_costs(rs: Sequence[Result], key: str = "train_time_s") -> list[float]:
    """:func:`total_cost`'s ``key`` of each run."""
    return [total_cost(r)[key] for r in rs]


def log_total_costs(rs: Sequence[Result], key: str = "train_time_s") -> list[float]:
    """The log of :func:`total_cost`'s ``key`` of each run."""
    return [math.log(x) for x in total_costs(rs, key)]


def cost_split(r: Result) -> dict[str, float]:
    """Sample passes by kind (:data:`PASS_KINDS`) and training time by phase (:data:`PHASE_TIMES`),
    pre-training included (a Dong et al. result's ``pretrain`` record holds the same totals).

    ``time_attack_s`` + ``time_train_s`` is :func:`total_cost`'s ``train_time_s``.
    """
    keys = (*PASS_KINDS, *PHASE_TIMES)
    pre = r.get("pretrain") or {}
    if pre and not all(k in pre for k in keys):
        raise ValueError(f"the pre-training record of this result (run {pre.get('key')}) has no split of its cost "
                         f"({', '.join(keys)}); recompute the result")
    return {k: sum(e[k] for e in r["epochs"]) + pre.get(k, 0) for k in keys}


def passes_at(r: Result, attack_steps: int) -> float:
    """A run's sample passes F + 2B, pre-training included, had its training attack taken ``attack_steps`` PGD
    steps instead of its own: the attack's passes scale with its steps, the training passes do not.  DS's Table I
    was measured with PGD-20; our runs use fewer steps, which shrinks the attack's share of a step."""
    split = cost_split(r)
    steps = r["config"]["steps"]
    attack = split["attack_forward"] + 2 * split["attack_backward"]
    scaled = attack * attack_steps / steps if steps else 0.0
    return scaled + split["train_forward"] + 2 * split["train_backward"]


def ds_step_units(steps: int, p_up: float, scoring_pass: bool = True) -> float:
    """Forward-pass equivalents F + 2B of one DS step per clean sample (b' = 1), by the pass model:
    the attack's ``steps`` forward and backward passes, a scoring forward pass over the 2b' samples
    (``scoring_pass``: ours, followed by a training forward and backward pass of the 2 P_up b'
    selected ones; without it, the paper's Algorithm 1: the one forward pass over the 2b' serves both,
    and only the selected are backpropagated)."""
    selected = 2 * p_up
    attack = 3 * steps
    return attack + 2 + (3 * selected if scoring_pass else 2 * selected)


def steps_of(r: Result) -> int:
    """Optimizer steps of a run (pre-training excluded)."""
    n = sum(e.get("steps", 0) for e in r["epochs"])
    return n or (r["evals"][-1]["step"] if r.get("evals") else 0)


def per_step(r: Result) -> dict[str, float]:
    """A run's own training time (s) and sample passes F + 2B per optimizer step (pre-training excluded)."""
    n = steps_of(r)
    f = sum(e["forward_passes"] for e in r["epochs"])
    b = sum(e["backward_passes"] for e in r["epochs"])
    return {"time_s": r["train_time_s"] / n, "f2b": (f + 2 * b) / n, "steps": n}


def log_per_step(rs: Sequence[Result], key: str = "time_s") -> list[float]:
    """The log of :func:`per_step`'s ``key`` of each run (so that a difference of means is a log ratio)."""
    return [math.log(per_step(r)[key]) for r in rs]


def end_summary(rs: Sequence[Result]) -> dict[str, float]:
    """Means over runs at the last evaluation: clean / robust accuracy, training time, passes F + 2B."""
    last = [r["evals"][-1] for r in rs]
    return {"clean_acc": statistics.fmean(e["clean_acc"] for e in last),
            "robust_acc": statistics.fmean(e["robust_acc"] for e in last),
            "train_time_s": statistics.fmean(e["train_time_s"] for e in last),
            "f2b": statistics.fmean(cost(e, "f2b") for e in last)}
