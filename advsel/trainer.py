"""The training loop: sampler -> training attack -> selection -> optimizer step, epoch after epoch.

One loop serves every method.  What differs between methods is read from the method
registry, :data:`advsel.methods.REGISTRY`: which sampler draws the batch (``batch``,
:mod:`advsel.batches`), which of the clean/adversarial samples are backpropagated
(``backprop``, :func:`advsel.selectors.select`; ``prescreen``'s choice of the rows to
attack is made by :func:`advsel.selectors.before_attack`), how P_up evolves between
epochs (``p_up``, a rule of :mod:`advsel.p_up`), and whether the run records learning
stability because it is another method's pre-training (Dong et al.'s ``robust`` run).

After each epoch the model is evaluated on a fixed, seeded, class-balanced test subset
(clean and PGD robust accuracy), the epoch's record is written (:mod:`advsel.epoch`) and
so is a checkpoint (:mod:`advsel.checkpoint`), so an interrupted run resumes to the same
result.  With ``validation_size`` > 0 a class-balanced part of the training pool is held
out (:mod:`advsel.splits`) and evaluated too; it, never the test subset, is what eq. (9)
reads under ``adaptive_accuracy`` clean/robust.  Wall time is charged by phase
(:mod:`advsel.timing`); observers' time is charged to none (:mod:`advsel.observers`).

Under ``torchrun`` the same loop runs data-parallel with DistributedDataParallel:
``batch_size`` stays the global b', split over the ranks; see :mod:`advsel.distributed`
for what crosses ranks per method, the evaluation, BatchNorm and checkpoints.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from . import __version__
from . import checkpoint as ckpt
from . import distributed as ddp
from .attacks import pgd
from .batches import check_shards, method_sampler, sampler_errors
from .config import Config, ConfigError
from .data import MEAN_STD, TensorData, load, to_float
from .device import resolve_device
from .dong import StabilityTracker
from .epoch import EpochStats, accuracies, epoch_record, format_epoch, pass_totals
from .evaluation import test_subset
from .methods import REGISTRY, pretraining_methods
from .models import build_model, save_model
from .observers import Observer, Observers, config_probes
from .optimization import sgd
from .progress import Progress, Stage, check_progress
from .provenance import git_commit, hardware
from .runs import RESULT_SCHEMA
from .samplers import Sampler
from .selectors import Screening, Selection, before_attack, frozen_bn_stats, select
from .splits import check_labels, make_splits
from .timing import Clock, warm_up


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the message says which checkpoint, if any, is kept."""


class Trainer:
    """Runs one configured training; :meth:`fit` returns the result dictionary.

    ``data``: a preloaded :class:`TensorData` (else loaded from ``$ADVSEL_DATA``).
    ``train_indices``: train only on these indices of the training set (Dong et al.); they must
    not meet the validation split (``validation_size``).
    ``sampler``: a ready sampler (CAT); default uniform over the training indices.
    ``checkpoint``: file for per-epoch checkpoints (:mod:`advsel.checkpoint`); an existing one is resumed.
    ``log``: called with a line per epoch.
    ``progress``: bars over each epoch's steps and its evaluation when stderr is a terminal; True
    also prints a line when an epoch's steps start and end when stderr is not one; None (the
    default): bars only; False: nothing (:mod:`advsel.progress`).
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

    # the eval_generator purpose of the validation split's random starts (the test subset's is 0)
    VALIDATION_PURPOSE = 1

    def __init__(self, config: Config, data: TensorData | None = None, *, train_indices: torch.Tensor | None = None,
                 sampler: Sampler | Callable[[Trainer], Sampler] | None = None,
                 observers: Sequence[Observer] = (), checkpoint: str | Path | None = None,
                 log: Callable[[str], None] | None = None, progress: Progress = None,
                 model: torch.nn.Module | None = None, dist: ddp.Dist | None = None,
                 ds_selection: str | None = None, sync_bn: bool | None = None) -> None:
        self.config = config
        check_progress(progress)
        self._place(dist, ds_selection, sync_bn)
        _seed_everything(config.seed)
        data = data if data is not None else load(config.dataset)
        self._take_data(data, train_indices)
        self._build_model(model, data)
        self.sampler = self._make_sampler(sampler)
        self.total_steps = self.sampler.steps_per_epoch * config.epochs
        self.optimizer, self.scheduler = sgd(self.model, config, self.total_steps)
        self._attach_observers(observers)
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.log = log if self.dist.is_main else None
        self.progress = progress if self.dist.is_main else False
        self._start_state()

    def _place(self, dist: ddp.Dist | None, ds_selection: str | None, sync_bn: bool | None) -> None:
        """This process's place among the ranks, its device, and the precision of its passes."""
        c = self.config
        self.dist = dist if dist is not None else ddp.setup(resolve_device(c.device))
        self.device = self.dist.device
        self.ds_selection, self.sync_bn = ddp.options(ds_selection, sync_bn)
        check_shards(c, self.dist.world_size)
        self.autocast_dtype = torch.bfloat16 if c.amp else None  # bf16 autocast on CPU (AVX-512 BF16) and CUDA

    def _take_data(self, data: TensorData, train_indices: torch.Tensor | None) -> None:
        """The method, the run's splits (:mod:`advsel.splits`) and the tensors the steps and evaluations read."""
        c = self.config
        check_labels(data)
        self.data_source = data.source
        self.num_classes = data.num_classes
        self.method = REGISTRY[c.method]
        if self.method.pretrain is not None and train_indices is None:
            raise ConfigError(f"method={c.method!r} trains on a subset chosen by a {self.method.pretrain!r} "
                              "pre-training run; run it with advsel.experiments.run(config), which does the "
                              "pre-training (or pass train_indices)")
        splits = make_splits(c, data, train_indices)
        self.pool_indices, self.train_indices, self.validation_indices = splits.pool, splits.train, splits.validation
        store = self.device if c.data_on_device else torch.device("cpu")
        self.x_train, self.y_train = data.x_train.to(store), data.y_train.to(store)
        x_test, y_test = test_subset(data, c.test_size)
        self.x_test, self.y_test = x_test.to(self.device), y_test.to(self.device)
        self.x_val = self.y_val = None
        if self.validation_indices is not None:
            self.x_val = to_float(data.x_train[self.validation_indices]).to(self.device)
            self.y_val = data.y_train[self.validation_indices].to(self.device)

    def _build_model(self, model: torch.nn.Module | None, data: TensorData) -> None:
        """The model (the config's, or the user's own), on the device, wrapped for several processes."""
        c = self.config
        if model is not None and not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module (the user's own network), not {type(model).__name__}")
        self.custom_model = model is not None
        self.model = model if model is not None else build_model(c.model, data.image_shape, data.num_classes,
                                                                 *MEAN_STD[c.dataset], width=c.width)
        self.model = ddp.convert_sync_bn(self.model, self.dist, self.sync_bn).to(self.device)
        if c.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.train_module = ddp.wrap(self.model, self.dist)  # the model itself for one process

    def _make_sampler(self, sampler: Sampler | Callable[[Trainer], Sampler] | None) -> Sampler:
        """The given sampler (or what a given factory makes of this trainer), else the method's
        (:func:`advsel.batches.method_sampler`)."""
        if sampler is None:
            return method_sampler(self.config, self.method, self.train_indices, len(self.pool_indices),
                                  self.y_train, self.num_classes, self.dist)
        with sampler_errors(self.config):
            return sampler(self) if callable(sampler) and not hasattr(sampler, "batches") else sampler

    def _attach_observers(self, observers: Sequence[Observer]) -> None:
        """The caller's observers, the stability tracker of a pre-training run, the config's probes
        (:mod:`advsel.observers`)."""
        c = self.config
        self.tracker = StabilityTracker(self.train_indices, self.dist.all_gather if self.dist.enabled else None) \
            if c.method in pretraining_methods() else None
        self.observers = Observers(observers, self.tracker, config_probes(c), self.dist.is_main)

    def _start_state(self) -> None:
        """The training generators, P_up and the counters at the start of a run (a checkpoint replaces them)."""
        c = self.config
        self.aug_gen = torch.Generator().manual_seed(c.seed + 1)
        self.sel_gen = torch.Generator().manual_seed(c.seed + 2)
        self.selection = self.method.backprop
        self.p_up = self.method.p_up.start(c)
        self.epochs: list[dict[str, Any]] = []
        self.evals: list[dict[str, Any]] = []
        self.step = 0
        self.resumed: list[int] = []  # the epochs after which the run was resumed (ckpt.resume extends it)
        self.train_time = 0.0  # attack + training passes, evaluation excluded
        # sample passes: an attack step on b' samples is b' forward and b' backward passes
        self.passes = {"attack_forward": 0, "attack_backward": 0, "train_forward": 0, "train_backward": 0}
        self.clock = Clock(self.device)

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

    def autocast(self) -> Any:
        """The autocast context of the training passes (bf16 with ``Config.amp``, else off)."""
        if self.autocast_dtype is None:
            return torch.autocast(device_type=self.device.type, enabled=False)
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def train_step(self, idx: torch.Tensor, stats: EpochStats) -> None:
        """One step on the batch ``idx``: attack, select, update; counts its passes and adds it to ``stats``."""
        c = self.config
        x, y = self.train_batch(idx)
        t0 = self.clock.now()
        screening = before_attack(self.selection, self.model, x, y, c.attack_share, c.unattacked)
        x_adv = self._attack(x, y, screening)
        t1 = self.clock.now()
        sel = self._select(x, x_adv, y, screening)
        probe_s = self.observers.before_update(self.clock.now, self, idx, sel, x, x_adv, y)
        logits, loss_sum = self._update(sel, stats)
        logits_adv = sel.logits_adv if sel.logits_adv is not None else (
            logits.detach() if self.selection == "adv" else None)
        self.sampler.observe(idx, logits_adv, y)  # CAT's weight update is part of its cost
        t2 = self.clock.now()
        self.observers.on_step(self, idx, sel, x, x_adv, y, logits_adv)  # measurements, not training cost
        self.step += 1
        self.train_time += t2 - t0 - probe_s
        stats.add_step(sel, logits, loss_sum, attack_s=t1 - t0, train_s=t2 - t1 - probe_s)

    def _attack(self, x: torch.Tensor, y: torch.Tensor, screening: Screening | None) -> torch.Tensor | None:
        """The training attack's PGD versions of this rank's rows (only the screened ones when there is a
        screening; None without an attack), its passes counted over all ranks."""
        c, d = self.config, self.dist
        if not self.method.attacks:
            return None
        if d.enabled and screening is None:  # the random starts of the whole global batch, this rank's rows
            b = len(y) * d.world_size
            x_adv = ddp.pgd_rows(self.model, x, y, total=b, rows=ddp.shard_rows(b, d.rank, d.world_size), eps=c.eps,
                                 alpha=c.alpha, steps=c.steps, autocast_dtype=self.autocast_dtype)
        else:  # each rank attacks its own rows, the screened ones only when there is a screening
            rows = slice(None) if screening is None else screening.attacked
            x_adv = pgd(self.model, x[rows], y[rows], eps=c.eps, alpha=c.alpha, steps=c.steps, random_start=True,
                        autocast_dtype=self.autocast_dtype)
        self.passes["attack_forward"] += c.steps * len(x_adv) * d.world_size
        self.passes["attack_backward"] += c.steps * len(x_adv) * d.world_size
        return x_adv

    def _select(self, x: torch.Tensor, x_adv: torch.Tensor | None, y: torch.Tensor,
                screening: Screening | None) -> Selection:
        """The step's selection: over the global 2b' (``ds_selection='global'``) or within the rank;
        ``total`` is the number selected over all ranks."""
        d = self.dist
        self.model.train()
        ranks = {"rank": d.rank, "world_size": d.world_size, "all_gather": d.all_gather} \
            if d.enabled and self.ds_selection == "global" else {}
        joint = self.selection == "top" and self.config.ds_forward == "joint"
        with self.autocast():
            sel = select(self.selection, self.model, x, x_adv, y, self.p_up, self.sel_gen, screening=screening,
                         joint=joint, **ranks)
        if sel.total is None and d.enabled:  # the same number on every rank
            sel.total = len(sel.y) * d.world_size
        return sel

    def _training_loss(self, sel: Selection) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, bool]:
        """The training pass over the selected samples: logits, the loss to backpropagate, its sum over the
        selected samples and whether it is finite on every rank.  Under ``ds_forward='joint'`` the selection's
        own forward of all 2b' was the training pass."""
        d = self.dist
        if sel.joint is not None:
            logits, loss = sel.joint
            return logits, loss, loss.detach() * len(sel.y), bool(torch.isfinite(loss))
        with self.autocast(), (frozen_bn_stats(self.model) if len(sel.y) == 0 else contextlib.nullcontext()):
            logits = self.train_module(sel.x).float()  # an empty batch still joins DDP's all-reduce
        if d.enabled:  # DDP averages over the ranks: sum / k * N averages to the mean over all k selected
            loss_sum = F.cross_entropy(logits, sel.y, reduction="sum")
            loss = loss_sum * (d.world_size / sel.n_total)
            return logits, loss, loss_sum, bool(d.all_reduce_sum(torch.isfinite(loss_sum).logical_not().float()) == 0)
        loss = F.cross_entropy(logits, sel.y)
        return logits, loss, loss.detach() * len(sel.y), bool(torch.isfinite(loss))

    def _update(self, sel: Selection, stats: EpochStats) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward and backward the selected samples and step the optimizer; the training pass's
        logits and summed loss.  A non-finite loss stops every rank before the update."""
        d = self.dist
        ws = d.world_size
        logits, loss, loss_sum, finite = self._training_loss(sel)
        if not finite:
            what = f"training loss is {loss.item()}" + (f" on rank {d.rank} of {ws}" if d.enabled else "") \
                if not torch.isfinite(loss) else f"training loss is not finite on another of the {ws} ranks"
            raise NonFiniteLossError(f"{what} at epoch {len(self.epochs) + 1}, step {stats.steps + 1}; "
                                     f"{ckpt.kept(self)}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        if sel.joint is not None:  # one forward and one backward pass through all scored rows
            self.passes["train_forward"] += sel.scored
            self.passes["train_backward"] += sel.scored
        else:
            self.passes["train_forward"] += sel.scored * ws + sel.n_total
            self.passes["train_backward"] += sel.n_total
        return logits, loss_sum

    def eval_generator(self, purpose: int = 0) -> torch.Generator:
        """A generator for evaluation-side randomness (PGD random starts, probes' subsets).

        Seeded from (seed, optimizer step, ``purpose``) and separate from every training
        generator, so evaluating or probing more or less often leaves training
        bit-identical, and an evaluation at a given step always uses the same starts.
        """
        g = torch.Generator(device=self.device)
        return g.manual_seed((self.config.seed * 1_000_003 + self.step) * 101 + purpose + 17)

    def warm_up(self) -> None:
        """Pay the process's one-time costs on a throwaway copy of the model (:func:`advsel.timing.warm_up`)."""
        idx = self.train_indices[: min(self.config.batch_size // self.dist.world_size, len(self.train_indices))]
        x = to_float(self.x_train[idx.to(self.x_train.device)]).to(self.device)
        y = self.y_train[idx.to(self.y_train.device)].to(self.device)
        warm_up(self.model, x, y, self.config, self.autocast_dtype)

    def pass_totals(self) -> dict[str, int]:
        """Forward and backward sample passes so far (attack + training)."""
        return pass_totals(self.passes)

    # ---------------------------------------------------------------- evaluation
    def evaluate(self) -> dict[str, float]:
        """Clean and PGD robust accuracy on the fixed test subset."""
        clean, robust = accuracies(self.model, self.x_test, self.y_test, self.config, self.dist, self.autocast_dtype,
                                   self.eval_generator(0), progress=self._eval_progress())
        return {"clean_acc": clean, "robust_acc": robust}

    def evaluate_validation(self) -> dict[str, float]:
        """Clean and PGD robust accuracy on the validation split (``validation_size`` > 0), with the
        evaluation attack's settings and random starts from :meth:`eval_generator` (a purpose of
        its own), so validating leaves every training generator untouched."""
        if self.x_val is None or self.y_val is None:
            raise ValueError("this run has no validation split; set validation_size > 0")
        clean, robust = accuracies(self.model, self.x_val, self.y_val, self.config, self.dist, self.autocast_dtype,
                                   self.eval_generator(self.VALIDATION_PURPOSE), progress=self._eval_progress())
        return {"val_clean_acc": clean, "val_robust_acc": robust}

    def _eval_progress(self) -> Progress:
        """The per-epoch evaluations' progress: a bar on a terminal, never a line (the epoch's line says it)."""
        return None if self.progress is not False else False

    def _record_eval(self, epoch: int) -> dict[str, float]:
        """Evaluate on the test subset and append the evaluation to ``evals`` (step, time, passes)."""
        acc = self.evaluate()
        self.evals.append({"step": self.step, "epoch": epoch, "train_time_s": self.train_time,
                           **self.pass_totals(), **acc})
        return acc

    # ---------------------------------------------------------------- the loop
    def fit(self) -> dict[str, Any]:
        """Train (resuming from the checkpoint when there is one) and return the result."""
        if not ckpt.resume(self):
            # random starts, augmentation draws...: seeded here, so the result does not
            # depend on what ran between construction and fit()
            _seed_everything(self.config.seed)
        self.warm_up()
        for epoch in range(len(self.epochs), self.config.epochs):
            self._run_epoch(epoch)
        return self.result()

    def _run_epoch(self, epoch: int) -> None:
        """Train epoch ``epoch`` (0-based), evaluate and record it, move P_up by the method's rule,
        write the checkpoint, log."""
        c = self.config
        t_start = time.perf_counter()
        passes0 = dict(self.passes)
        self.p_up = self.method.p_up.for_epoch(epoch, self.p_up, c)
        stats = self._train_epoch(epoch)
        record = self._evaluate_epoch(epoch, stats, passes0)
        self.observers.on_epoch_end(self, record)
        self.p_up = self.method.p_up.after_epoch(self.p_up, record, c)
        record["time_s"] = time.perf_counter() - t_start
        self.epochs.append(record)
        ckpt.save(self)
        if self.log:
            self.log(format_epoch(record, c.epochs))

    def _train_epoch(self, epoch: int) -> EpochStats:
        """The epoch's steps, with the config's intermediate evaluations; their statistics summed over the ranks."""
        c = self.config
        stats = EpochStats.start(self.device)
        with Stage(f"training epoch {epoch + 1}/{c.epochs}", self.sampler.steps_per_epoch, self.progress,
                   unit="step") as bar:
            for idx in self.sampler.batches(epoch):
                self.train_step(idx, stats)
                bar.update()
                if c.eval_every and self.step % c.eval_every == 0 and stats.steps < self.sampler.steps_per_epoch:
                    te = time.perf_counter()
                    self._record_eval(epoch + 1)
                    stats.time_eval_s += time.perf_counter() - te
        if self.dist.enabled:
            stats.reduce(self.dist.all_reduce_sum)
        return stats

    def _evaluate_epoch(self, epoch: int, stats: EpochStats, passes0: dict[str, int]) -> dict[str, Any]:
        """Evaluate after the epoch (test subset, validation split) and return the epoch's record."""
        te = time.perf_counter()
        acc = self._record_eval(epoch + 1)
        val = self.evaluate_validation() if self.x_val is not None else {}
        stats.time_eval_s += time.perf_counter() - te
        return epoch_record(epoch, stats, {**acc, **val}, self.p_up, self.optimizer.param_groups[0]["lr"],
                            {k: v - passes0[k] for k, v in self.passes.items()}, self.train_time)

    # ------------------------------------------------------------ checkpointing
    def save_model(self, path: str | Path) -> Path:
        """Write the current weights (and the config that rebuilds them) to ``path``, atomically.

        Load with :func:`advsel.models.load_model` (``weights_only=True``); a user's own model
        (``Trainer(model=...)``) is stored without a config and needs the module to load into.
        """
        return save_model(self.model, path, config=None if self.custom_model else self.config.to_dict(),
                          image_shape=tuple(self.x_test.shape[1:]), num_classes=self.num_classes,
                          extra={"key": self.config.key(), "epochs_trained": len(self.epochs)})

    def result(self) -> dict[str, Any]:
        """The JSON-ready result: config, data source, hardware, per-epoch records, evaluations, and the
        epochs after which the run was resumed from its checkpoint (``resumed``; empty when never)."""
        return {
            "schema": RESULT_SCHEMA, "complete": len(self.epochs) == self.config.epochs,
            "config": self.config.to_dict(), "key": self.config.key(), "data_source": self.data_source,
            "hardware": hardware(), "device": str(self.device), "advsel_version": __version__,
            **self.dist.record(), "distributed": {"ds_selection": self.ds_selection, "sync_bn": self.sync_bn},
            "git_commit": git_commit(), "train_size": len(self.train_indices), "test_size": len(self.y_test),
            **({"validation_size": len(self.y_val)} if self.y_val is not None else {}),
            "total_time_s": sum(r["time_s"] for r in self.epochs), "train_time_s": self.train_time,
            "epochs": self.epochs, "evals": self.evals, "resumed": self.resumed,
            **({"stability": self.tracker.as_record()} if self.tracker is not None else {}),
        }


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
