"""The training loop: sampler -> training attack -> selector -> optimizer step.

One loop serves every method.  What differs between methods is read from the method
registry, :data:`advsel.methods.REGISTRY`: which sampler draws the batch (``batch``),
which of the clean/adversarial samples are backpropagated (``backprop``, see
:func:`advsel.selectors.select`), how P_up evolves between epochs (``p_up``), and
whether the run records learning stability because it is another method's
pre-training (Dong et al.'s ``robust`` run).

After each epoch the model is evaluated on a fixed, seeded, class-balanced test subset
(clean and PGD robust accuracy) and a checkpoint is written, so an interrupted run
resumes to the same result.  With ``validation_size`` > 0 a class-balanced part of the
training pool is held out and evaluated too (``val_clean_acc``, ``val_robust_acc``); it,
never the test subset, is what eq. (9) reads under ``adaptive_accuracy`` clean/robust.

Under ``torchrun`` the same loop runs data-parallel with DistributedDataParallel:
``batch_size`` stays the global b', split over the ranks; see :mod:`advsel.distributed`
for what crosses ranks per method, the evaluation, BatchNorm and checkpoints.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import random
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from . import __version__
from . import distributed as ddp
from .analysis import MinEpsProbe, SimilarityProbe
from .attacks import clean_accuracy, pgd, robust_accuracy
from .cat import CATSampler
from .config import Config, ConfigError
from .data import MEAN_STD, TensorData, balanced_subset, load, to_float
from .dong import StabilityTracker
from .evaluation import TEST_SUBSET_SEED
from .methods import REGISTRY, pretraining_methods
from .models import build_model, save_model
from .runs import RESULT_SCHEMA, atomic_torch_save
from .samplers import Sampler, UniformSampler
from .selectors import Selection, adaptive_p_up, frozen_bn_stats, screen, screened, select


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the last good checkpoint is kept."""


class Observer(Protocol):
    """Something that watches training (trackers, probes); optional hooks."""

    def on_step(self, trainer: Trainer, idx: torch.Tensor, sel: Selection, x: torch.Tensor,
                x_adv: torch.Tensor | None, y: torch.Tensor, logits_adv: torch.Tensor | None) -> None: ...

    def on_epoch_end(self, trainer: Trainer, record: dict[str, Any]) -> None: ...

    def before_update(self, trainer: Trainer, idx: torch.Tensor, sel: Selection, x: torch.Tensor,
                      x_adv: torch.Tensor | None, y: torch.Tensor) -> None: ...


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda when available else cpu; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        reason = ("was asked for but no CUDA device is available here (torch.cuda.is_available() is False); "
                  "choose auto or cpu")
        raise ConfigError(f"device='cuda' {reason}", param="device", value=name, reason=reason)
    if name not in ("cpu", "cuda"):
        reason = "not allowed; choose one of: auto, cpu, cuda"
        raise ConfigError(f"device={name!r} is {reason}", param="device", value=name, reason=reason)
    return torch.device(name)


def lr_factor(schedule: str, step: int, total: int, milestones: Sequence[float]) -> float:
    """Multiplier of the base learning rate after ``step`` of ``total`` optimizer steps."""
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
    return 0.1 ** sum(step >= m * total for m in milestones)


def hardware() -> dict[str, Any]:
    """What the run ran on, recorded next to its numbers."""
    info = {"python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpu_threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(), "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
    if torch.cuda.is_available():
        info["cuda_device"] = torch.cuda.get_device_name()
    return info


def git_commit() -> str | None:
    """The commit of the advsel checkout, with ``-dirty`` when advsel/ has uncommitted changes."""
    here = Path(__file__).parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=here, capture_output=True,
                               text=True, timeout=5)
        commit = head.stdout.strip()
        return (commit + ("-dirty" if dirty.stdout.strip() else "")) if commit else None
    except Exception:  # noqa: BLE001 - no git, no commit
        return None


class _Clock:
    """Wall-clock phases; synchronizes CUDA so each phase is charged its own kernels."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"

    def now(self) -> float:
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter()


class Trainer:
    """Runs one configured training; :meth:`fit` returns the result dictionary.

    ``data``: a preloaded :class:`TensorData` (else loaded from ``$ADVSEL_DATA``).
    ``train_indices``: train only on these indices of the training set (Dong et al.); they must
    not meet the validation split (``validation_size``).
    ``sampler``: a ready sampler (CAT); default uniform over the training indices.
    ``checkpoint``: file for per-epoch checkpoints; an existing one is resumed.
    ``log``: called with a line per epoch.
    ``model``: train this ``nn.Module`` (the user's own) instead of building ``config.model``;
    it takes [0, 1] images of the data set's shape, holds its own normalisation and returns
    ``num_classes`` logits.

    Observers (probes, trackers) may implement ``before_update`` (after the attack and the
    selection, before the training pass: the model that chose the samples), ``on_step``
    (after the update) and ``on_epoch_end``; their time is not charged to training, and
    randomness they need comes from :meth:`eval_generator`, never the training generators.

    Several processes (``torchrun``, or a process group the caller started): see
    :mod:`advsel.distributed`.  ``dist``: this process's place (default: from the process
    group or torchrun's variables; one process without them).  ``ds_selection``
    (``global``/``rank``) and ``sync_bn``: the distributed options (default: from
    ``ADVSEL_DS_SELECTION``/``ADVSEL_SYNC_BN``, else ``global`` and off).  Observers given
    here run on every rank (with that rank's rows); the probes the config asks for run on
    rank 0 only; only rank 0 logs and writes the checkpoint.  ``self.model`` is the plain
    module (attacks, probes and evaluation use it); the training pass goes through
    ``self.train_module`` (the DDP wrapper with several processes).  A ``sampler`` given
    with several processes must yield this rank's b'/N rows of each global batch (the
    samplers' ``rank``/``world_size``).
    """

    def __init__(self, config: Config, data: TensorData | None = None, *, train_indices: torch.Tensor | None = None,
                 sampler: Sampler | Callable[[Trainer], Sampler] | None = None,
                 observers: Sequence[Observer] = (), checkpoint: str | Path | None = None,
                 log: Callable[[str], None] | None = None, progress: bool | None = None,
                 model: torch.nn.Module | None = None, dist: ddp.Dist | None = None,
                 ds_selection: str | None = None, sync_bn: bool | None = None) -> None:
        self.config = c = config
        self.dist = dist if dist is not None else ddp.setup(resolve_device(c.device))
        self.device = self.dist.device
        self.ds_selection, self.sync_bn = ddp.options(ds_selection, sync_bn)
        ws = self.dist.world_size
        if c.batch_size % ws:
            reason = (f"not divisible by the world size {ws}: batch_size is the global b', split evenly over "
                      f"the {ws} processes; choose a multiple of {ws}")
            raise ConfigError(f"batch_size={c.batch_size} is {reason}", param="batch_size", value=c.batch_size,
                              reason=reason)
        self.autocast_dtype = torch.bfloat16 if c.amp else None  # bf16 autocast on CPU (AVX-512 BF16) and CUDA
        _seed_everything(c.seed)
        data = data if data is not None else load(c.dataset)
        _check_labels(data)
        self.data_source = data.source
        self.num_classes = data.num_classes
        self.method = REGISTRY[c.method]
        if self.method.pretrain is not None and train_indices is None:
            raise ConfigError(f"method={c.method!r} trains on a subset chosen by a {self.method.pretrain!r} "
                              "pre-training run; run it with advsel.experiments.run(config), which does the "
                              "pre-training (or pass train_indices)")
        base = _training_subset(c, data)
        self.validation_indices: torch.Tensor | None = None
        if c.validation_size:
            self.validation_indices, base = validation_split(c, data, base)
        self.pool_indices = base  # what PGD-AT trains on (the train_size pool less the validation split)
        self.train_indices = base if train_indices is None else train_indices.cpu().long()
        if self.validation_indices is not None and train_indices is not None:
            overlap = torch.isin(self.train_indices, self.validation_indices)
            if bool(overlap.any()):
                raise ValueError(f"train_indices holds {int(overlap.sum())} samples of the validation split "
                                 f"(validation_size={c.validation_size}), e.g. "
                                 f"{self.train_indices[overlap][:5].tolist()}; they must be disjoint")
        test_idx = balanced_subset(data.y_test, min(c.test_size, len(data.y_test)), TEST_SUBSET_SEED, data.num_classes)
        store = self.device if c.data_on_device else torch.device("cpu")
        self.x_train, self.y_train = data.x_train.to(store), data.y_train.to(store)
        self.x_test = to_float(data.x_test[test_idx]).to(self.device)
        self.y_test = data.y_test[test_idx].to(self.device)
        self.x_val = self.y_val = None
        if self.validation_indices is not None:
            self.x_val = to_float(data.x_train[self.validation_indices]).to(self.device)
            self.y_val = data.y_train[self.validation_indices].to(self.device)
        if model is not None and not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module (the user's own network), not {type(model).__name__}")
        self.custom_model = model is not None
        self.model = model if model is not None else build_model(c.model, data.image_shape, data.num_classes,
                                                                 *MEAN_STD[c.dataset], width=c.width)
        self.model = ddp.convert_sync_bn(self.model, self.dist, self.sync_bn).to(self.device)
        if c.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.train_module = ddp.wrap(self.model, self.dist)  # the model itself for one process
        self.sampler = self._make_sampler(sampler)
        self.total_steps = self.sampler.steps_per_epoch * c.epochs
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=c.lr, momentum=c.momentum,
                                         weight_decay=c.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(c.lr_schedule, s, self.total_steps, c.milestones))
        self.observers = list(observers)
        # a run that is another method's pre-training records the stability that method needs
        self.tracker = StabilityTracker(self.train_indices, self.dist.all_gather if self.dist.enabled else None) \
            if c.method in pretraining_methods() else None
        if self.tracker is not None:
            self.observers.append(self.tracker)
        probes: list[Observer] = []
        if c.min_eps_probe:
            probes.append(MinEpsProbe(c.min_eps_probe))
        if c.similarity_probe:
            probes.append(SimilarityProbe(c.similarity_probe, seed=c.seed))
        self.observers += probes
        # every rank holds the same observers (one checkpoint fits all), the probes act on rank 0 only
        self._idle = set() if self.dist.is_main else {id(o) for o in probes}
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.log = log if self.dist.is_main else None
        self.progress = progress if self.dist.is_main else False
        self.aug_gen = torch.Generator().manual_seed(c.seed + 1)
        self.sel_gen = torch.Generator().manual_seed(c.seed + 2)
        self.selection = self.method.backprop
        self.p_up = self.method.first_p_up(c.p_up, c.p_up_warmup_epochs)
        self.epochs: list[dict[str, Any]] = []
        self.evals: list[dict[str, Any]] = []
        self.step = 0
        self.train_time = 0.0  # attack + training passes, evaluation excluded
        # sample passes: an attack step on b' samples is b' forward and b' backward passes
        self.passes = {"attack_forward": 0, "attack_backward": 0, "train_forward": 0, "train_backward": 0}
        self.clock = _Clock(self.device)

    def _make_sampler(self, sampler: Sampler | Callable[[Trainer], Sampler] | None) -> Sampler:
        """The given sampler, else the method's: CAT's for ``batch='cat'``, CAT's with its weights
        never updated for ``batch='balanced'``, uniform over the training indices otherwise
        (``subset`` is uniform over the subset passed as ``train_indices``; with
        ``dong_steps='pgd-at'`` its epoch takes as many steps as a PGD-AT epoch over the pool)."""
        c = self.config
        n = len(self.train_indices)
        if sampler is None and c.batch_size > n:
            reason = f"larger than the {n} training samples; it must be <= {n}"
            raise ConfigError(f"batch_size={c.batch_size} is {reason}", param="batch_size", value=c.batch_size,
                              reason=reason)
        d = self.dist
        shard = {"rank": d.rank, "world_size": d.world_size}
        per_rank = c.batch_size // d.world_size
        try:
            if sampler is None and self.method.batch in ("cat", "balanced"):
                return CATSampler(self.train_indices, self.y_train, per_rank, c.seed, alpha=c.cat_alpha,
                                  temperature=c.cat_temperature, num_classes=self.num_classes,
                                  all_gather=d.all_gather, update=self.method.batch == "cat", **shard)
            if sampler is None and self.method.batch == "subset" and c.dong_steps == "pgd-at":
                steps = len(self.pool_indices) // c.batch_size  # a PGD-AT epoch over the whole pool
                return UniformSampler(self.train_indices, per_rank, c.seed, steps_per_epoch=steps, **shard)
            if sampler is None:
                return UniformSampler(self.train_indices, per_rank, c.seed, **shard)
            return sampler(self) if callable(sampler) and not hasattr(sampler, "batches") else sampler
        except ValueError as e:
            param = "batch_size" if str(e).startswith("batch_size=") else None
            raise ConfigError(str(e), param=param, value=c.batch_size if param else None) from None

    # ------------------------------------------------------------------ one step
    def train_batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Index the resident tensors, convert to [0, 1] floats, augment on the whole batch."""
        dev_idx = idx.to(self.x_train.device, non_blocking=True)
        x = to_float(self.x_train[dev_idx]).to(self.device, non_blocking=True)
        y = self.y_train[dev_idx].to(self.device, non_blocking=True)
        if self.config.augment:  # the crops and flips of the whole global batch, this rank's rows
            x = ddp.augment_shard(x, self.dist.rank, self.dist.world_size, self.aug_gen)
        if self.config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y

    def _autocast(self) -> Any:
        if self.autocast_dtype is None:
            return torch.autocast(device_type=self.device.type, enabled=False)
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def train_step(self, idx: torch.Tensor, stats: dict[str, Any]) -> None:
        """Attack, select, forward and backward the selected samples, update; count passes."""
        c = self.config
        d = self.dist
        ws = d.world_size
        x, y = self.train_batch(idx)
        b = len(y) * ws  # the global b'
        t0 = self.clock.now()
        x_adv = None
        screen_sel = None
        if self.selection == "screened":  # prescreen: choose the rows to attack before the attack
            attacked, others = screen(self.model, x, y, c.attack_share)
            x_adv = pgd(self.model, x[attacked], y[attacked], eps=c.eps, alpha=c.alpha, steps=c.steps,
                        random_start=True, autocast_dtype=self.autocast_dtype)
            screen_sel = screened(x, y, x_adv, attacked, others, c.unattacked)
            if d.enabled:  # each rank screens its own rows (the same count on every rank)
                screen_sel.total = len(screen_sel.y) * ws
            self.passes["attack_forward"] += c.steps * len(attacked) * ws
            self.passes["attack_backward"] += c.steps * len(attacked) * ws
        elif self.method.attacks:
            if d.enabled:  # the random starts of the whole global batch, this rank's rows
                x_adv = ddp.pgd_rows(self.model, x, y, total=b, rows=ddp.shard_rows(b, d.rank, ws), eps=c.eps,
                                     alpha=c.alpha, steps=c.steps, autocast_dtype=self.autocast_dtype)
            else:
                x_adv = pgd(self.model, x, y, eps=c.eps, alpha=c.alpha, steps=c.steps, random_start=True,
                            autocast_dtype=self.autocast_dtype)
            self.passes["attack_forward"] += c.steps * b
            self.passes["attack_backward"] += c.steps * b
        t1 = self.clock.now()
        self.model.train()
        with self._autocast():
            sel = screen_sel if screen_sel is not None else self._select(x, x_adv, y)
        probe_s = self._before_update(idx, sel, x, x_adv, y)
        with self._autocast(), (frozen_bn_stats(self.model) if len(sel.y) == 0 else contextlib.nullcontext()):
            logits = self.train_module(sel.x).float()  # an empty batch still joins DDP's all-reduce
        if d.enabled:  # DDP averages over the ranks: sum / k * N averages to the mean over all k selected
            loss_sum = F.cross_entropy(logits, sel.y, reduction="sum")
            loss = loss_sum * (ws / sel.n_total)
            finite = bool(d.all_reduce_sum(torch.isfinite(loss_sum).logical_not().float()) == 0)
        else:
            loss = F.cross_entropy(logits, sel.y)
            loss_sum = loss.detach() * len(sel.y)
            finite = bool(torch.isfinite(loss))
        if not finite:  # with several ranks every rank stops here together
            what = f"training loss is {loss.item()}" + (f" on rank {d.rank} of {ws}" if d.enabled else "") \
                if not torch.isfinite(loss) else f"training loss is not finite on another of the {ws} ranks"
            raise NonFiniteLossError(f"{what} at epoch {len(self.epochs) + 1}, step {stats['steps'] + 1}; "
                                     "the last good checkpoint is kept"
                                     + (f" at {self.checkpoint}" if self.checkpoint else ""))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        self.passes["train_forward"] += sel.scored * ws + sel.n_total
        self.passes["train_backward"] += sel.n_total
        logits_adv = sel.logits_adv if sel.logits_adv is not None else (
            logits.detach() if self.selection == "adv" else None)
        self.sampler.observe(idx, logits_adv, y)  # CAT's weight update is part of its cost
        t2 = self.clock.now()
        for o in self.observers:  # trackers and probes: measurements, not training cost
            if hasattr(o, "on_step") and self._active(o):
                o.on_step(self, idx, sel, x, x_adv, y, logits_adv)
        self.step += 1
        self.train_time += t2 - t0 - probe_s
        stats["time_attack_s"] += t1 - t0
        stats["time_train_s"] += t2 - t1 - probe_s
        stats["steps"] += 1
        stats["loss_sum"] += loss_sum.detach()
        stats["n_selected"] += len(sel.y)
        stats["correct"] += (logits.detach().argmax(1) == sel.y).sum()
        stats["selected_clean"] += sel.n_clean
        stats["selected_adv"] += sel.n_adv
        if sel.correct is not None:
            stats["scored_correct"] += sel.correct
            stats["scored"] += sel.scored

    def _select(self, x: torch.Tensor, x_adv: torch.Tensor | None, y: torch.Tensor) -> Selection:
        """The step's selection: over the global 2b' (``ds_selection='global'``) or within the rank;
        ``total`` is the number selected over all ranks."""
        d = self.dist
        if d.enabled and self.ds_selection == "global":
            sel = select(self.selection, self.model, x, x_adv, y, self.p_up, self.sel_gen, rank=d.rank,
                         world_size=d.world_size, all_gather=d.all_gather)
        else:
            sel = select(self.selection, self.model, x, x_adv, y, self.p_up, self.sel_gen)
        if sel.total is None and d.enabled:  # the same number on every rank
            sel.total = len(sel.y) * d.world_size
        return sel

    def _active(self, o: Any) -> bool:
        """Whether observer ``o`` acts on this rank (the config's probes: rank 0 only)."""
        return id(o) not in self._idle

    def _before_update(self, idx: torch.Tensor, sel: Selection, x: torch.Tensor, x_adv: torch.Tensor | None,
                       y: torch.Tensor) -> float:
        """Call the observers' ``before_update`` hooks; return the seconds they took (not training cost)."""
        hooks = [o.before_update for o in self.observers if hasattr(o, "before_update") and self._active(o)]
        if not hooks:
            return 0.0
        t = self.clock.now()
        for hook in hooks:
            hook(self, idx, sel, x, x_adv, y)
        return self.clock.now() - t

    def eval_generator(self, purpose: int = 0) -> torch.Generator:
        """A generator for evaluation-side randomness (PGD random starts, probes' subsets).

        Seeded from (seed, optimizer step, ``purpose``) and separate from every training
        generator, so evaluating or probing more or less often leaves training
        bit-identical, and an evaluation at a given step always uses the same starts.
        """
        g = torch.Generator(device=self.device)
        return g.manual_seed((self.config.seed * 1_000_003 + self.step) * 101 + purpose + 17)

    def warm_up(self) -> None:
        """Run the attack and a training pass once on a throwaway copy of the model.

        The first calls of a process pay one-time costs (kernel selection, allocator
        growth); charging them to whichever run comes first would bias time comparisons.
        The copy leaves the model, the optimizer and every random generator untouched.
        """
        import copy

        c = self.config
        rng = torch.get_rng_state()
        cuda_rng = torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None
        model = copy.deepcopy(self.model)
        idx = self.train_indices[: min(c.batch_size // self.dist.world_size, len(self.train_indices))]
        x = to_float(self.x_train[idx.to(self.x_train.device)]).to(self.device)
        y = self.y_train[idx.to(self.y_train.device)].to(self.device)
        x_adv = pgd(model, x, y, eps=c.eps, alpha=c.alpha, steps=min(c.steps, 2), autocast_dtype=self.autocast_dtype)
        with self._autocast():
            loss = F.cross_entropy(model(torch.cat([x, x_adv])).float(), y.repeat(2))
        loss.backward()
        torch.set_rng_state(rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state(cuda_rng, self.device)
        self.clock.now()

    def pass_totals(self) -> dict[str, int]:
        """Forward and backward sample passes so far (attack + training)."""
        p = self.passes
        return {"forward_passes": p["attack_forward"] + p["train_forward"],
                "backward_passes": p["attack_backward"] + p["train_backward"]}

    # ---------------------------------------------------------------- evaluation
    def evaluate(self) -> dict[str, float]:
        """Clean and PGD robust accuracy on the fixed test subset."""
        clean, robust = self._accuracies(self.x_test, self.y_test, purpose=0)
        return {"clean_acc": clean, "robust_acc": robust}

    # the eval_generator purpose of the validation split's random starts (the test subset's is 0)
    VALIDATION_PURPOSE = 1

    def evaluate_validation(self) -> dict[str, float]:
        """Clean and PGD robust accuracy on the validation split (``validation_size`` > 0), with the
        evaluation attack's settings and random starts from :meth:`eval_generator` (a purpose of
        its own), so validating leaves every training generator untouched."""
        if self.x_val is None or self.y_val is None:
            raise ValueError("this run has no validation split; set validation_size > 0")
        clean, robust = self._accuracies(self.x_val, self.y_val, purpose=self.VALIDATION_PURPOSE)
        return {"val_clean_acc": clean, "val_robust_acc": robust}

    def _accuracies(self, x: torch.Tensor, y: torch.Tensor, purpose: int) -> tuple[float, float]:
        """Clean and PGD robust accuracy of the model on ``x``, ``y`` (the evaluation attack)."""
        c = self.config
        d = self.dist
        if not d.enabled:
            clean = clean_accuracy(self.model, x, y)
            robust = robust_accuracy(self.model, x, y, eps=c.effective_eval_eps,
                                     alpha=c.effective_eval_alpha, steps=c.eval_steps, restarts=c.eval_restarts,
                                     autocast_dtype=self.autocast_dtype, generator=self.eval_generator(purpose))
            return clean, robust
        # every rank evaluates rank 0's model on its share of the samples; the counts are summed
        d.broadcast_buffers(self.model)
        counts = ddp.sharded_correct(self.model, x, y, d.rank, d.world_size,
                                     eps=c.effective_eval_eps, alpha=c.effective_eval_alpha, steps=c.eval_steps,
                                     restarts=c.eval_restarts, autocast_dtype=self.autocast_dtype,
                                     generator=self.eval_generator(purpose))
        clean_n, robust_n = d.all_reduce_sum(torch.tensor(counts, dtype=torch.float64)).long().tolist()
        n = len(y)
        # the same float as one process: clean as a float32 mean, robust as a Python division
        return (torch.tensor(float(clean_n)) / n).item(), robust_n / n

    def _record_eval(self, epoch: int) -> dict[str, float]:
        acc = self.evaluate()
        self.evals.append({"step": self.step, "epoch": epoch, "train_time_s": self.train_time,
                           **self.pass_totals(), **acc})
        return acc

    # ---------------------------------------------------------------- the loop
    def fit(self) -> dict[str, Any]:
        """Train (resuming from the checkpoint when there is one) and return the result."""
        if not self._resume():
            # random starts, augmentation draws...: seeded here, so the result does not
            # depend on what ran between construction and fit()
            _seed_everything(self.config.seed)
        self.warm_up()
        c = self.config
        for epoch in range(len(self.epochs), c.epochs):
            self._run_epoch(epoch)
        return self.result()

    def _run_epoch(self, epoch: int) -> None:
        c = self.config
        t_start = time.perf_counter()
        dev = self.device
        zero = lambda: torch.zeros((), device=dev)  # noqa: E731
        stats: dict[str, Any] = {"time_attack_s": 0.0, "time_train_s": 0.0, "time_eval_s": 0.0, "steps": 0,
                                 "loss_sum": zero(), "n_selected": 0, "correct": zero(), "selected_clean": zero(),
                                 "selected_adv": zero(), "scored_correct": zero(), "scored": 0}
        passes0 = dict(self.passes)
        if self.method.p_up == "fixed":  # P_up = 1 during the warm-up, then Config.p_up
            self.p_up = self.method.fixed_p_up(epoch, c.p_up, c.p_up_warmup_epochs)
        p_up_used = self.p_up
        for idx in _progress(self.sampler.batches(epoch), self.sampler.steps_per_epoch, epoch, self.progress):
            self.train_step(idx, stats)
            if c.eval_every and self.step % c.eval_every == 0 and stats["steps"] < self.sampler.steps_per_epoch:
                te = time.perf_counter()
                self._record_eval(epoch + 1)
                stats["time_eval_s"] += time.perf_counter() - te
        self._reduce(stats)
        te = time.perf_counter()
        acc = self._record_eval(epoch + 1)
        val = self.evaluate_validation() if self.x_val is not None else {}
        stats["time_eval_s"] += time.perf_counter() - te
        steps = max(stats["steps"], 1)
        train_acc = (stats["scored_correct"] / stats["scored"]).item() if stats["scored"] else \
            (stats["correct"] / max(stats["n_selected"], 1)).item()
        record = {
            "epoch": epoch + 1, **acc, **val, "p_up": p_up_used,
            "train_loss": (stats["loss_sum"] / max(stats["n_selected"], 1)).item(),
            "train_acc": train_acc, "selected_clean": stats["selected_clean"].item() / steps,
            "selected_adv": stats["selected_adv"].item() / steps, "steps": stats["steps"],
            "lr": self.optimizer.param_groups[0]["lr"],
            **{k: v - passes0[k] for k, v in self.passes.items()},
            "forward_passes": self.passes["attack_forward"] + self.passes["train_forward"]
            - passes0["attack_forward"] - passes0["train_forward"],
            "backward_passes": self.passes["attack_backward"] + self.passes["train_backward"]
            - passes0["attack_backward"] - passes0["train_backward"],
            "time_attack_s": stats["time_attack_s"], "time_train_s": stats["time_train_s"],
            "time_eval_s": stats["time_eval_s"], "train_time_s": self.train_time,
        }
        for o in self.observers:
            if hasattr(o, "on_epoch_end") and self._active(o):
                o.on_epoch_end(self, record)
        if self.method.p_up == "eq9":
            # clean/robust: the validation split's (Config validation requires one), never the test subset's
            driver = train_acc if c.adaptive_accuracy == "train" else val[f"val_{c.adaptive_accuracy}_acc"]
            self.p_up = adaptive_p_up(self.p_up, driver, c.p_up_floor)
        record["time_s"] = time.perf_counter() - t_start
        self.epochs.append(record)
        self._save_checkpoint()
        if self.log:
            self.log(format_epoch(record, c.epochs))

    _SUMMED = ("loss_sum", "n_selected", "correct", "selected_clean", "selected_adv", "scored_correct", "scored")

    def _reduce(self, stats: dict[str, Any]) -> None:
        """Sum the epoch's per-rank statistics over the ranks (one all-reduce; nothing for one process)."""
        if not self.dist.enabled:
            return
        vec = torch.tensor([float(stats[k]) for k in self._SUMMED], dtype=torch.float64)
        for k, v in zip(self._SUMMED, self.dist.all_reduce_sum(vec).tolist(), strict=True):
            old = stats[k]
            stats[k] = torch.tensor(v, dtype=old.dtype, device=old.device) if isinstance(old, torch.Tensor) \
                else int(v)

    # ------------------------------------------------------------ checkpointing
    def _state(self) -> dict[str, Any]:
        return {
            "key": self.config.key(), "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "sampler": self.sampler.state_dict(),
            "observers": [o.state_dict() if hasattr(o, "state_dict") else None for o in self.observers],
            "observer_types": self._observer_types(),
            "epochs": self.epochs, "evals": self.evals, "step": self.step, "train_time": self.train_time,
            "passes": self.passes, "p_up": self.p_up, "aug_gen": self.aug_gen.get_state(),
            "sel_gen": self.sel_gen.get_state(), "torch_rng": torch.get_rng_state(), "py_rng": _python_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None,
        }

    def _save_checkpoint(self) -> None:
        if self.checkpoint is not None and self.dist.is_main:  # every rank holds the same state
            atomic_torch_save(self._state(), self.checkpoint)

    def _read_checkpoint(self) -> dict[str, Any] | None:
        """The checkpoint's state if there is a usable one (else None, with a warning when unusable)."""
        if self.checkpoint is None or not self.checkpoint.is_file():
            return None
        try:  # with several ranks loaded on the CPU and broadcast, each rank moves it to its device
            s = torch.load(self.checkpoint, map_location="cpu" if self.dist.enabled else self.device,
                           weights_only=True)
            if s["key"] != self.config.key():
                raise ValueError("checkpoint belongs to another config")
            if s.get("observer_types") != self._observer_types():
                raise ValueError(f"checkpoint was written with observers {s.get('observer_types')}, "
                                 f"this run has {self._observer_types()}")
        except Exception as e:  # noqa: BLE001 - a bad checkpoint means starting over, with a warning
            import warnings

            warnings.warn(f"checkpoint {self.checkpoint} is unusable ({e}); starting the run from scratch",
                          stacklevel=3)
            return None
        return s

    def _resume(self) -> bool:
        """Restore the last checkpoint if there is a usable one; True when resumed.  With several
        ranks, rank 0 reads it and broadcasts it, so every rank resumes from the same state."""
        if self.checkpoint is None:
            return False
        s = self.dist.broadcast_object(self._read_checkpoint() if self.dist.is_main else None)
        if s is None:
            return False
        self.model.load_state_dict(s["model"])
        self.optimizer.load_state_dict(s["optimizer"])
        self.scheduler.load_state_dict(s["scheduler"])
        self.sampler.load_state_dict(_on_cpu(s["sampler"]))  # samplers keep their state on the CPU
        for o, st in zip(self.observers, s["observers"], strict=True):
            if st is not None:
                o.load_state_dict(st)
        self.epochs, self.evals, self.step = s["epochs"], s["evals"], s["step"]
        self.train_time, self.passes, self.p_up = s["train_time"], s["passes"], s["p_up"]
        self.aug_gen.set_state(s["aug_gen"].cpu())
        self.sel_gen.set_state(s["sel_gen"].cpu())
        torch.set_rng_state(s["torch_rng"].cpu())
        _set_python_rng_state(s["py_rng"])
        cuda_rng = s["cuda_rng"]
        if isinstance(cuda_rng, torch.Tensor) and self.device.type == "cuda":  # this run's device
            torch.cuda.set_rng_state(cuda_rng.cpu(), self.device)
        elif isinstance(cuda_rng, list) and torch.cuda.is_available():  # older checkpoints: every device
            torch.cuda.set_rng_state_all([t.cpu() for t in cuda_rng])
        if self.log:
            self.log(f"resumed from {self.checkpoint} after epoch {len(self.epochs)}")
        return True

    def save_model(self, path: str | Path) -> Path:
        """Write the current weights (and the config that rebuilds them) to ``path``, atomically.

        Load with :func:`advsel.models.load_model` (``weights_only=True``); a user's own model
        (``Trainer(model=...)``) is stored without a config and needs the module to load into.
        """
        return save_model(self.model, path, config=None if self.custom_model else self.config.to_dict(),
                          image_shape=tuple(self.x_test.shape[1:]), num_classes=self.num_classes,
                          extra={"key": self.config.key(), "epochs_trained": len(self.epochs)})

    def _observer_types(self) -> list[str]:
        return [type(o).__name__ for o in self.observers]

    def result(self) -> dict[str, Any]:
        """The JSON-ready result: config, data source, hardware, per-epoch records, evaluations."""
        return {
            "schema": RESULT_SCHEMA, "complete": len(self.epochs) == self.config.epochs,
            "config": self.config.to_dict(), "key": self.config.key(), "data_source": self.data_source,
            "hardware": hardware(), "device": str(self.device), "advsel_version": __version__,
            **self.dist.record(), "distributed": {"ds_selection": self.ds_selection, "sync_bn": self.sync_bn},
            "git_commit": git_commit(), "train_size": len(self.train_indices), "test_size": len(self.y_test),
            **({"validation_size": len(self.y_val)} if self.y_val is not None else {}),
            "total_time_s": sum(r["time_s"] for r in self.epochs), "train_time_s": self.train_time,
            "epochs": self.epochs, "evals": self.evals,
            **({"stability": self.tracker.as_record()} if self.tracker is not None else {}),
        }


def format_epoch(r: dict[str, Any], epochs: int) -> str:
    """One line per epoch for the log."""
    val = f"val {r['val_clean_acc']:.4f}/{r['val_robust_acc']:.4f}  " if "val_clean_acc" in r else ""
    return (f"epoch {r['epoch']:>3}/{epochs}  clean {r['clean_acc']:.4f}  robust {r['robust_acc']:.4f}  {val}"
            f"loss {r['train_loss']:.4f}  P_up {r['p_up']:.3f}  sel clean/adv {r['selected_clean']:.1f}/"
            f"{r['selected_adv']:.1f}  time {r['time_s']:.1f}s (attack {r['time_attack_s']:.1f}, "
            f"train {r['time_train_s']:.1f}, eval {r['time_eval_s']:.1f})")


def _progress(it: Any, total: int, epoch: int, enabled: bool | None) -> Any:
    """tqdm over the steps; quiet when the output is not a terminal (``disable=None``)."""
    from tqdm import tqdm

    return tqdm(it, total=total, desc=f"epoch {epoch + 1}", leave=False,
                disable=None if enabled is None else not enabled)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def _training_subset(c: Config, data: TensorData) -> torch.Tensor:
    """The seeded, class-balanced training subset of ``train_size`` samples (all when None)."""
    n = len(data.y_train)
    if c.train_size is not None and c.train_size > n:
        reason = f"larger than the {n} training samples available; it must be <= {n} (or all)"
        raise ConfigError(f"train_size={c.train_size} is {reason}", param="train_size", value=c.train_size,
                          reason=reason)
    try:
        return balanced_subset(data.y_train, c.train_size, c.seed, data.num_classes)
    except ValueError as e:  # a class with too few samples
        raise ConfigError(str(e), param="train_size", value=c.train_size) from None


def validation_split(c: Config, data: TensorData, pool: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The validation split of ``c.validation_size`` samples and the training indices left: (validation, rest).

    Exactly: ``pool`` is the training subset of ``train_size`` (:func:`_training_subset`, the
    whole training set when None); the validation split is the seeded, class-balanced subset
    (:func:`advsel.data.balanced_subset` over the pool's labels, seed ``seed * 1_000_003 + 99``,
    a stream of its own) of ``validation_size`` of the pool's samples, and training uses the
    ``train_size - validation_size`` others.  So ``train_size`` stays the size of the pool both
    come from, the split is disjoint from the training indices by construction, and with
    ``train_size`` = all it is the usual hold-out of the training set (e.g. 45,000 + 5,000).
    Both are sorted data-set indices.
    """
    n = len(pool)
    if c.validation_size >= n:
        reason = f"not smaller than the {n} samples of the training pool; it must be < {n}"
        raise ConfigError(f"validation_size={c.validation_size} is {reason}", param="validation_size",
                          value=c.validation_size, reason=reason)
    try:
        pos = balanced_subset(data.y_train[pool], c.validation_size, c.seed * 1_000_003 + 99, data.num_classes)
    except ValueError as e:  # a class of the pool with too few samples
        reason = f"too large for a class-balanced split of the {n} pool samples ({e})"
        raise ConfigError(f"validation_size={c.validation_size} is {reason}", param="validation_size",
                          value=c.validation_size, reason=reason) from None
    held = torch.zeros(n, dtype=torch.bool)
    held[pos] = True
    return pool[held], pool[~held]


def _on_cpu(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` with its tensors moved to the CPU (the checkpoint is loaded onto the run's device)."""
    return {k: v.cpu() if isinstance(v, torch.Tensor) else v for k, v in state.items()}


def _python_rng_state() -> list[Any]:
    """``random.getstate()`` as plain lists and ints, which ``torch.load(weights_only=True)`` reads back."""
    version, internal, gauss_next = random.getstate()
    return [version, list(internal), gauss_next]


def _set_python_rng_state(state: Sequence[Any]) -> None:
    version, internal, gauss_next = state
    random.setstate((version, tuple(internal), gauss_next))


def _check_labels(data: TensorData) -> None:
    for name, y in (("training", data.y_train), ("test", data.y_test)):
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= data.num_classes):
            raise ConfigError(f"{name} labels range over [{int(y.min())}, {int(y.max())}] but the model has "
                              f"{data.num_classes} classes; labels must be in [0, {data.num_classes - 1}]")

