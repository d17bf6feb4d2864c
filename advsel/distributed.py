"""Data-parallel training over several processes: ``torchrun`` + DistributedDataParallel.

``torchrun --standalone --nproc_per_node=4 -m advsel train ...`` trains one run on four
processes; without torchrun (or with one process) nothing here starts and training is the
one-process code path.  :func:`setup` starts the process group from torchrun's variables
and gives each process its device; :class:`Dist` holds this process's place and the few
collectives the trainer needs; the sharded helpers (:func:`augment_shard`, :func:`pgd_rows`,
:func:`sharded_correct`) draw every random number for the whole global batch and keep this
rank's rows ``rank::N``, so that a config is the same run whatever the number of
processes, and :func:`crossing` says what each method sends between them.  The README's
"Training on several GPUs and machines" describes the global batch, what crosses ranks
and why, BatchNorm, restarts and the options ``ADVSEL_DS_SELECTION``/``ADVSEL_SYNC_BN``.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP

from .attacks import check_attack_args, pgd, predict
from .config import ConfigError
from .data import augment_batch
from .methods import pretraining_methods

DS_SELECTIONS = ("global", "rank")


@dataclass(frozen=True)
class Dist:
    """This process's place in the run: ``rank`` of ``world_size``, its ``device`` and the ``backend``
    (None for one process).  Collectives are the identity for one process."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def comm_device(self) -> torch.device:
        """Where collective tensors live: the GPU for NCCL, the CPU otherwise."""
        return self.device if self.backend == "nccl" else torch.device("cpu")

    def all_gather(self, t: torch.Tensor) -> torch.Tensor:
        """The tensors of all ranks (equal shapes) concatenated along dim 0, rank 0 first."""
        if not self.enabled:
            return t
        src = t.detach().to(self.comm_device).contiguous()
        parts = [torch.empty_like(src) for _ in range(self.world_size)]
        dist.all_gather(parts, src)
        return torch.cat(parts).to(t.device)

    def all_reduce_sum(self, t: torch.Tensor) -> torch.Tensor:
        """The elementwise sum over the ranks (a new tensor on ``t``'s device)."""
        if not self.enabled:
            return t
        buf = t.detach().to(self.comm_device).clone()
        dist.all_reduce(buf)
        return buf.to(t.device)

    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank (pickled; keep tensors in it on the CPU)."""
        if not self.enabled:
            return obj
        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0, device=self.comm_device)
        return box[0]

    def broadcast_buffers(self, module: nn.Module) -> None:
        """Copy rank 0's buffers (BatchNorm running statistics...) into every rank's ``module``."""
        if not self.enabled:
            return
        for b in module.buffers():
            buf = b.detach().to(self.comm_device)
            dist.broadcast(buf, 0)
            if buf is not b:
                b.copy_(buf)

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def record(self) -> dict[str, Any]:
        return {"world_size": self.world_size, "backend": self.backend}


def env_rank() -> int:
    """This process's rank as torchrun announces it (0 without torchrun); needs no process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    """Whether this process is rank 0 (the one that logs and writes results)."""
    return env_rank() == 0


def world_size() -> int:
    """How many processes train together: those of a started process group, else torchrun's
    ``WORLD_SIZE``, else one."""
    started = dist.is_available() and dist.is_initialized()
    return dist.get_world_size() if started else int(os.environ.get("WORLD_SIZE", "1"))


def setup(device: torch.device) -> Dist:
    """This process's :class:`Dist`, starting the process group from torchrun's variables if needed.

    ``device``: the resolved device type (``cpu``/``cuda``); with several processes on CUDA
    each gets ``cuda:LOCAL_RANK``.  One process (no process group, ``WORLD_SIZE`` 1 or
    unset) gets ``device`` as it is.
    """
    started = dist.is_available() and dist.is_initialized()
    if (n := world_size()) <= 1:
        return Dist(device=device)
    rank = dist.get_rank() if started else int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if device.type == "cuda":
        count = torch.cuda.device_count()
        if local_rank >= count:
            raise ConfigError(f"local rank {local_rank} needs a GPU of its own but this node has {count}; "
                              f"start at most {count} processes per node (torchrun --nproc_per_node)")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not started:
        # torchrun's store outlives a restart (--max-restarts): keys of the failed attempt (the
        # peers' old addresses) would be read by the new one, so every attempt gets a prefix of its own
        store, rank, n = next(dist.rendezvous("env://"))
        attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo",
                                store=dist.PrefixStore(f"advsel/attempt{attempt}", store), rank=rank,
                                world_size=n, device_id=device if device.type == "cuda" else None)
        atexit.register(_destroy)
    return Dist(rank, n, local_rank, device, dist.get_backend())


def _destroy() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def options(ds_selection: str | None = None, sync_bn: bool | None = None) -> tuple[str, bool]:
    """The distributed options: given ones, else ``ADVSEL_DS_SELECTION`` / ``ADVSEL_SYNC_BN``, else
    ``global`` / off.  ConfigError for a value outside them."""
    if ds_selection is None:
        ds_selection = os.environ.get("ADVSEL_DS_SELECTION", "global")
    if ds_selection not in DS_SELECTIONS:
        reason = f"not allowed; choose one of: {', '.join(DS_SELECTIONS)}"
        raise ConfigError(f"ds_selection={ds_selection!r} is {reason}", param="ds_selection", value=ds_selection,
                          reason=reason)
    if sync_bn is None:
        text = os.environ.get("ADVSEL_SYNC_BN", "0").strip().lower()
        if text not in ("0", "1", "", "false", "true", "off", "on"):
            raise ConfigError(f"ADVSEL_SYNC_BN={text!r} is not allowed; use 0 or 1")
        sync_bn = text in ("1", "true", "on")
    return ds_selection, bool(sync_bn)


def crossing(method: Any) -> tuple[str, ...]:
    """What crosses ranks every step for a :class:`advsel.methods.Method`, besides DDP's gradient
    all-reduce and the one-float finiteness check (README, "Training on several GPUs and machines")."""
    out = []
    if method.batch == "cat":
        out.append("all-gather of (index, gain) of the b' drawn samples: CAT's weights, overwritten by index")
    if method.backprop == "top":
        out.append("all-gather of the 2b' per-sample losses: global top-P_up selection (ds_selection='global')")
    if method.backprop == "random":
        out.append("nothing: the random P_up share of the 2b' comes from a generator shared by all ranks")
    if method.name in pretraining_methods():
        out.append("all-gather of (index, misclassified) of the b' samples: learning-stability counts")
    return tuple(out)


# ---------------------------------------------------------------------- sharded batches


def shard_rows(n: int, rank: int, world_size: int) -> torch.Tensor:
    """The rows of a batch of ``n`` that ``rank`` holds: ``rank::world_size`` (the samplers' slicing)."""
    return torch.arange(rank, n, world_size)


def augment_shard(x: torch.Tensor, rank: int, world_size: int, generator: torch.Generator) -> torch.Tensor:
    """:func:`advsel.data.augment_batch` of this rank's rows ``x`` of a global batch of
    ``len(x) * world_size``: the crops and flips of the whole batch are drawn (the same
    numbers one process draws) and this rank's rows augmented with theirs."""
    if world_size == 1:
        return augment_batch(x, generator=generator)
    full = x.new_zeros((len(x) * world_size, *x.shape[1:]))
    full[rank::world_size] = x
    return augment_batch(full, generator=generator)[rank::world_size]


def _start_noise(x: torch.Tensor, total: int, rows: torch.Tensor, eps: float,
                 generator: torch.Generator | None) -> torch.Tensor:
    """The random start of ``attacks.pgd`` for a batch of ``total`` samples, at ``rows``."""
    fmt = torch.channels_last if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) \
        and not x.is_contiguous() else torch.contiguous_format
    noise = torch.empty((total, *x.shape[1:]), dtype=x.dtype, device=x.device, memory_format=fmt)
    return noise.uniform_(-eps, eps, generator=generator)[rows.to(x.device)]


def pgd_rows(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, total: int, rows: torch.Tensor, eps: float,
             alpha: float, steps: int, restarts: int = 1, autocast_dtype: torch.dtype | None = None,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """``advsel.attacks.pgd`` (random start) on the rows ``rows`` of a batch of ``total`` samples.

    ``x``/``y`` are those rows.  Every random start is drawn for all ``total`` samples, as
    ``pgd`` on the whole batch draws it, and sliced, so the rows get the starts they would
    get in one process and every rank's generator advances alike.  The loss of a PGD step
    is the mean over the rows held (its sign gradient per sample is the same).  It is
    ``pgd`` itself, given these starts (``start=``), so the two cannot drift apart.
    """
    check_attack_args(eps, alpha, steps, restarts)
    return pgd(model, x, y, eps=eps, alpha=alpha, steps=steps, restarts=restarts, autocast_dtype=autocast_dtype,
               start=lambda xr: _start_noise(xr, total, rows, eps, generator))


def sharded_correct(model: nn.Module, x: torch.Tensor, y: torch.Tensor, rank: int, world_size: int, *, eps: float,
                    alpha: float, steps: int, restarts: int = 1, autocast_dtype: torch.dtype | None = None,
                    generator: torch.Generator | None = None, batch_size: int = 500) -> tuple[int, int]:
    """This rank's (clean, robust) correct counts on its share of the test set ``x``, ``y`` (all of it
    on every rank): chunks of ``batch_size`` as in ``attacks.robust_accuracy``, rows ``rank::world_size``
    of each, random starts drawn for the whole chunk.  Summed over the ranks they are one process's."""
    clean = robust = 0
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size], y[i:i + batch_size]
        rows = shard_rows(len(xb), rank, world_size)
        xr, yr = xb[rows.to(xb.device)], yb[rows.to(yb.device)]
        alive = predict(model, xr, batch_size) == yr if len(xr) else torch.zeros(0, dtype=torch.bool,
                                                                                  device=yr.device)
        clean += int(alive.sum())
        for _ in range(restarts):  # as attacks.robust_accuracy: the whole chunk's start, only survivors attacked
            noise = _start_noise(xr, len(xb), rows, eps, generator)
            idx = alive.nonzero().squeeze(1)
            if len(idx):
                adv = pgd(model, xr[idx], yr[idx], eps=eps, alpha=alpha, steps=steps, start=noise[idx],
                          autocast_dtype=autocast_dtype)
                alive[idx] = predict(model, adv, batch_size) == yr[idx]
        robust += int(alive.sum())
    return clean, robust


def wrap(model: nn.Module, d: Dist) -> nn.Module:
    """The module the training pass runs through: ``model`` itself for one process, else
    DistributedDataParallel over it (its ``.module`` is ``model``)."""
    if not d.enabled:
        return model
    return DDP(model, device_ids=[d.device.index] if d.device.type == "cuda" else None)


def convert_sync_bn(model: nn.Module, d: Dist, sync_bn: bool) -> nn.Module:
    """``model`` with SyncBatchNorm layers when ``sync_bn`` and several processes (CUDA only)."""
    if not (sync_bn and d.enabled):
        return model
    if d.device.type != "cuda":
        raise ConfigError("sync_bn (ADVSEL_SYNC_BN=1) needs CUDA: PyTorch's SyncBatchNorm runs on GPUs only; "
                          "on the CPU every rank keeps its own BatchNorm statistics", param="sync_bn", value=True)
    return nn.SyncBatchNorm.convert_sync_batchnorm(model)

