"""A cached result from another process count is never returned silently (2 gloo processes, slow).

Two processes train a small-cnn (BatchNorm: its numbers depend on the process count)
through ``experiments.run`` into a run cache; the same config in one process is then
another run, in a file of its own, and a 2-process result under the one-process name (as
written before names knew the process count) is recomputed with a warning.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import _synthetic
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from advsel import experiments
from advsel.runs import Processes, result_path

pytestmark = pytest.mark.slow  # starts processes (gloo)

WORLD = 2
CONFIG = dict(model="small-cnn", width=0.25, epochs=1, train_size=200, test_size=100, batch_size=50)


def _worker(rank: int, init: str, cache: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init}", rank=rank, world_size=WORLD)
    try:
        experiments._DATA["mnist"] = _synthetic.make_data()
        experiments.run(_synthetic.smoke(**CONFIG), cache, progress=False)
    finally:
        dist.destroy_process_group()


def test_a_two_process_result_is_not_the_one_process_run(tmp_path: Path, synthetic_experiments,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "runs"
    mp.spawn(_worker, args=(str(tmp_path / "rendezvous"), str(cache)), nprocs=WORLD, join=True)
    config = _synthetic.smoke(**CONFIG)
    two = result_path(config, cache, Processes(WORLD))
    assert [p.name for p in cache.glob("*.json")] == [two.name] and two.name.endswith(f"-ws{WORLD}.json")
    assert json.loads(two.read_text())["world_size"] == WORLD

    monkeypatch.setattr(experiments, "_DATA", {"mnist": _synthetic.make_data()})
    one = experiments.run(config, cache, progress=False)  # trained now, not the 2-process result
    assert one["world_size"] == 1 and result_path(config, cache).is_file()
    assert len(list(cache.glob("*.json"))) == 2

    # a 2-process result under the one-process name (written before names knew the process count)
    shutil.copy(two, result_path(config, cache))
    with pytest.warns(UserWarning, match=f"was computed by {WORLD} process"):
        again = experiments.run(config, cache, progress=False)
    assert again["world_size"] == 1 and json.loads(result_path(config, cache).read_text())["world_size"] == 1
