"""Data-parallel training (advsel.distributed): 2 gloo processes on the CPU against one process.

The multi-process tests spawn two processes (torch.multiprocessing, a file rendezvous)
that train madry-cnn (no BatchNorm) on tiny synthetic data for 2 epochs of 4 steps and
save what they computed; the test process trains the same configs in one process and
compares.  The helpers (global DS selection, sharded attacks and evaluation, sharded
augmentation) are checked in this process by playing both ranks.
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import _synthetic
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from advsel import distributed as ddp
from advsel.attacks import clean_accuracy, pgd, robust_accuracy
from advsel.config import ConfigError
from advsel.data import MEAN_STD, augment_batch
from advsel.methods import REGISTRY
from advsel.models import build_model
from advsel.selectors import select
from advsel.trainer import NonFiniteLossError, Trainer

pytestmark = pytest.mark.slow  # every test starts processes (gloo)

WORLD = 2
# madry-cnn has no BatchNorm: N ranks give one process's numbers up to float rounding
BASE = dict(model="madry-cnn", width=0.25, epochs=2, train_size=200, test_size=100, batch_size=50, augment=True,
            eval_restarts=2)
JOBS: dict[str, dict[str, Any]] = {
    "robust": dict(method="robust"),
    "ds": dict(method="ds-adaptive", p_up_floor=0.3),
    "random": dict(method="random", p_up=0.4),
    "cat": dict(method="cat"),
    "diverge": dict(method="robust", lr=1e30),
}


def config(job: str) -> Any:
    return _synthetic.smoke(**BASE, **JOBS[job])


class Kill:
    """Kills its process (SIGKILL) after the first step of epoch ``at`` (whose checkpoint is written)."""

    def __init__(self, at: int | None) -> None:
        self.at = at

    def on_step(self, trainer: Trainer, *args: Any) -> None:
        if self.at is not None and trainer.step == trainer.sampler.steps_per_epoch * (self.at - 1) + 1:
            os.kill(os.getpid(), signal.SIGKILL)


def summary(trainer: Trainer, result: dict[str, Any]) -> dict[str, Any]:
    out = {"epochs": result["epochs"], "evals": result["evals"], "world_size": result["world_size"],
           "backend": result["backend"], "model": {k: v.clone() for k, v in trainer.model.state_dict().items()}}
    if hasattr(trainer.sampler, "weights"):
        out["cat_weights"] = trainer.sampler.weights
    if "stability" in result:  # robust runs record Dong et al.'s learning stability
        out["count_wrong"] = torch.tensor(result["stability"]["count_wrong"])
        out["seen"] = torch.tensor(result["stability"]["seen"])
    return out


def _worker(rank: int, init: str, out: str, jobs: list[tuple[str, str, int | None]]) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init}", rank=rank, world_size=WORLD)
    try:
        data = _synthetic.make_data()
        for name, job, kill_at in jobs:
            ckpt = Path(out) / f"{job}.ckpt.pt"
            trainer = Trainer(config(job), data, progress=False, checkpoint=ckpt if kill_at != -1 else None,
                              observers=[Kill(None if kill_at == -1 else kill_at)])
            torch.manual_seed(1000 + rank)  # fit() seeds everything, or resumes every generator
            try:
                done = summary(trainer, trainer.fit())
            except NonFiniteLossError as e:
                done = {"error": str(e)}
            torch.save(done, Path(out) / f"{name}-{rank}.pt")
    finally:
        dist.destroy_process_group()


def spawn(tmp: Path, jobs: list[tuple[str, str, int | None]], tag: str) -> None:
    """Run ``jobs`` (name, config, kill_at: -1 no checkpoint, None checkpoint, e kill in epoch e) on 2 ranks."""
    mp.spawn(_worker, args=(str(tmp / f"rendezvous-{tag}"), str(tmp), jobs), nprocs=WORLD, join=True)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every 2-process run of this module: each job uninterrupted, and a robust run killed in epoch 2
    (second spawn, fresh processes) that resumes from its epoch-1 checkpoint."""
    tmp = tmp_path_factory.mktemp("ddp")
    with pytest.raises(mp.ProcessExitedException, match="SIGKILL"):
        spawn(tmp, [(job, job, -1) for job in JOBS] + [("killed", "robust", 2)], "a")
    assert not (tmp / "killed-0.pt").exists() and (tmp / "robust.ckpt.pt").is_file()
    spawn(tmp, [("resumed", "robust", None)], "b")
    return tmp


@functools.cache
def one_process(job: str) -> dict[str, Any]:
    trainer = Trainer(config(job), _synthetic.make_data(), progress=False, observers=[Kill(None)])
    return summary(trainer, trainer.fit())


def load(tmp: Path, name: str, rank: int) -> dict[str, Any]:
    return torch.load(tmp / f"{name}-{rank}.pt", weights_only=True)


def assert_same_run(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Per-epoch losses, accuracies and counts equal up to float rounding."""
    assert len(a["epochs"]) == len(b["epochs"]) == 2
    for ra, rb in zip(a["epochs"], b["epochs"], strict=True):
        for k in ("train_loss", "train_acc", "clean_acc", "robust_acc", "p_up", "selected_clean", "selected_adv",
                  "lr"):
            assert ra[k] == pytest.approx(rb[k], rel=1e-4, abs=1e-6), k
        for k in ("steps", "forward_passes", "backward_passes", "train_backward"):
            assert ra[k] == rb[k], k
    for k, v in a["model"].items():
        torch.testing.assert_close(v, b["model"][k], rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------- 2 processes against 1


@pytest.mark.parametrize("job", ["robust", "ds", "random", "cat"])  # not "diverge"
def test_two_processes_give_the_one_process_run(job: str, two_ranks: Path) -> None:
    ranks = [load(two_ranks, job, r) for r in range(WORLD)]
    assert [r["world_size"] for r in ranks] == [WORLD] * WORLD and ranks[0]["backend"] == "gloo"
    for k, v in ranks[0]["model"].items():  # DDP: every rank holds the same weights
        assert torch.equal(v, ranks[1]["model"][k]), k
    assert_same_run(ranks[0], one_process(job))
    if job == "robust":  # the stability counts: gathered, identical on every rank, as in one process
        assert torch.equal(ranks[0]["count_wrong"], ranks[1]["count_wrong"])
        assert torch.equal(ranks[0]["seen"], one_process(job)["seen"]) and int(ranks[0]["seen"].sum()) == 400
        assert torch.equal(ranks[0]["count_wrong"], one_process(job)["count_wrong"])


def test_cat_weights_are_identical_on_both_ranks_and_equal_the_one_process_weights(two_ranks: Path) -> None:
    w0, w1 = (load(two_ranks, "cat", r)["cat_weights"] for r in range(WORLD))
    assert torch.equal(w0, w1)
    assert not torch.equal(w0, torch.ones_like(w0)), "the weights were updated"
    torch.testing.assert_close(w0, one_process("cat")["cat_weights"], rtol=1e-4, atol=1e-5)


def test_a_run_killed_after_its_first_epoch_resumes_to_the_uninterrupted_result(two_ranks: Path) -> None:
    resumed, uninterrupted = load(two_ranks, "resumed", 0), load(two_ranks, "robust", 0)
    assert resumed["epochs"][0] == uninterrupted["epochs"][0] | {k: resumed["epochs"][0][k]
                                                               for k in resumed["epochs"][0] if k.endswith("_s")}
    assert_same_run(resumed, uninterrupted)
    for k, v in resumed["model"].items():  # same processes, same order of operations: bit for bit
        assert torch.equal(v, uninterrupted["model"][k]), k
    assert torch.equal(load(two_ranks, "resumed", 1)["model"]["1.0.weight"], resumed["model"]["1.0.weight"])


def test_a_diverging_run_stops_every_rank_with_the_error(two_ranks: Path) -> None:
    errors = [load(two_ranks, "diverge", rank)["error"] for rank in range(WORLD)]
    steps = {re.search(r"training loss is .* at (epoch 1, step \d+); this run writes no checkpoint", e)[1]
             for e in errors}
    assert len(steps) == 1, errors  # every rank stopped at the same step, none hangs


# ---------------------------------------------------------------------- helpers, both ranks played here


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("madry-cnn", (1, 8, 8), 10, *MEAN_STD["mnist"], width=0.25)


def _batch(n: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    return torch.rand(n, 1, 8, 8, generator=g), torch.randint(0, 10, (n,), generator=g)


@pytest.mark.parametrize("kind", ["top", "random"])
def test_global_selection_over_ranks_is_the_one_process_selection(kind: str) -> None:
    model, (x, y) = _model(), _batch()
    x_adv = (x + 0.1).clamp(0, 1)
    one = select(kind, model, x, x_adv, y, 0.3, torch.Generator().manual_seed(5))
    rows = [slice(r, None, WORLD) for r in range(WORLD)]
    losses = []
    for r in rows:  # what each rank contributes to the gather
        both = torch.cat([x[r], x_adv[r]])
        losses.append(torch.nn.functional.cross_entropy(model(both), y[r].repeat(2), reduction="none").detach())
    picked, total = [], 0
    for rank, r in enumerate(rows):
        sel = select(kind, model, x[r], x_adv[r], y[r], 0.3, torch.Generator().manual_seed(5), rank=rank,
                     world_size=WORLD, all_gather=lambda t: torch.cat(losses))
        assert sel.total == len(one.y)
        picked += [tuple(v.flatten().tolist()) for v in sel.x]
        total += int(sel.n_clean + sel.n_adv)
    assert total == len(one.y) and sorted(picked) == sorted(tuple(v.flatten().tolist()) for v in one.x)


def test_sharded_attack_and_evaluation_equal_one_process() -> None:
    model, (x, y) = _model(), _batch(30)
    kw = dict(eps=0.3, alpha=0.1, steps=2)
    # all rows: bit for bit attacks.pgd (same random starts, same steps)
    full = ddp.pgd_rows(model, x, y, total=30, rows=torch.arange(30), restarts=2,
                        generator=torch.Generator().manual_seed(1), **kw)
    assert torch.equal(full, pgd(model, x, y, restarts=2, generator=torch.Generator().manual_seed(1), **kw))
    part = ddp.pgd_rows(model, x[1::3], y[1::3], total=30, rows=torch.arange(1, 30, 3),
                        generator=torch.Generator().manual_seed(1), **kw)
    torch.testing.assert_close(part, pgd(model, x, y, generator=torch.Generator().manual_seed(1), **kw)[1::3])
    # evaluation: chunks as robust_accuracy, the counts of the ranks add up to one process's
    counts = [ddp.sharded_correct(model, x, y, r, 3, restarts=2, batch_size=8,
                                  generator=torch.Generator().manual_seed(2), **kw) for r in range(3)]
    clean = clean_accuracy(model, x, y)
    robust = robust_accuracy(model, x, y, restarts=2, batch_size=8, generator=torch.Generator().manual_seed(2), **kw)
    assert sum(c for c, _ in counts) == round(clean * 30) and sum(r for _, r in counts) == round(robust * 30)


def test_sharded_augmentation_is_the_one_process_augmentation() -> None:
    x, _ = _batch(10)
    whole = augment_batch(x, generator=torch.Generator().manual_seed(4))
    for rank in range(WORLD):
        mine = ddp.augment_shard(x[rank::WORLD], rank, WORLD, torch.Generator().manual_seed(4))
        assert torch.equal(mine, whole[rank::WORLD])


def test_a_batch_size_the_world_size_does_not_divide_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="batch_size=45 is not divisible by the world size 2") as e:
        Trainer(_synthetic.smoke(batch_size=45), _synthetic.make_data(), dist=ddp.Dist(world_size=2))
    assert e.value.param == "batch_size"


def test_one_process_has_no_process_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    d = ddp.setup(torch.device("cpu"))
    assert (d.world_size, d.rank, d.backend, d.enabled) == (1, 0, None, False) and not dist.is_initialized()
    monkeypatch.setenv("WORLD_SIZE", "1")  # torchrun --nproc_per_node=1
    assert ddp.setup(torch.device("cpu")) == d and not dist.is_initialized()


def test_options_and_what_crosses_ranks(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ddp.options() == ("global", False)
    monkeypatch.setenv("ADVSEL_DS_SELECTION", "rank")
    monkeypatch.setenv("ADVSEL_SYNC_BN", "1")
    assert ddp.options() == ("rank", True)
    with pytest.raises(ConfigError, match="ds_selection"):
        ddp.options("shard")
    with pytest.raises(ConfigError, match="sync_bn.*CUDA"):
        ddp.convert_sync_bn(_model(), ddp.Dist(world_size=2), True)
    assert ddp.crossing(REGISTRY["robust"]) and "index, gain" in ddp.crossing(REGISTRY["cat"])[0]
    assert any("2b' per-sample losses" in c for c in ddp.crossing(REGISTRY["ds-cat"]))
    assert ddp.crossing(REGISTRY["dong"]) == () and ddp.crossing(REGISTRY["standard"]) == ()


# ---------------------------------------------------------------------- the command line under torchrun

KILLER = """
import os, signal, sys
from pathlib import Path
from advsel import trainer
from advsel.cli import main

marker, step = Path(sys.argv.pop(1)), trainer.Trainer.train_step

def train_step(self, idx, stats):  # rank 1 dies once, after the first step of epoch 2
    step(self, idx, stats)
    if self.dist.rank == 1 and len(self.epochs) == 1 and not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)

trainer.Trainer.train_step = train_step
sys.exit(main())
"""


@pytest.mark.skipif(not _synthetic.has_real_mnist(), reason="needs the real MNIST under $ADVSEL_DATA")
def test_torchrun_restarts_a_killed_rank_and_writes_one_result_with_world_size_2(
        tmp_path: Path, child_env: dict[str, str]) -> None:
    script, cache = tmp_path / "killer.py", tmp_path / "runs"
    script.write_text(KILLER)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={WORLD}",
           "--max-restarts=1", str(script), str(tmp_path / "killed-once"), "train", "--device", "cpu", "--profile",
           "smoke", "--method", "cat", "--epochs", "2", "--train-size", "100", "--test-size", "20",
           "--cache-dir", str(cache)]
    done = subprocess.run(cmd, env=child_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "killed-once").exists(), "rank 1 was killed once"
    assert "resumed from" in done.stdout and done.stdout.count("done: clean") == 1, done.stdout
    assert done.stdout.count("epoch   1/2") == 1, "only rank 0 prints, and epoch 1 ran once"
    (path,) = cache.glob("*.json")
    result = json.loads(path.read_text())
    assert (result["world_size"], result["backend"], result["complete"]) == (WORLD, "gloo", True)
    assert [r["epoch"] for r in result["epochs"]] == [1, 2]
    assert not list(cache.glob("*.ckpt.pt")), "the finished run's checkpoint is removed"
