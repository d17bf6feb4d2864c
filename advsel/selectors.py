"""Which samples of a batch are backpropagated: DS selection and its baselines.

DS (Mendonça et al.): the batch holds b' clean samples and their b' PGD versions; the
per-sample cross-entropy of all 2b' is computed, and only the top share P_up is
backpropagated.  Here the scoring pass runs *without gradients* and only the selected
samples are forwarded again and backpropagated, so unselected samples never pay for a
backward pass (a masked loss over the whole batch would still pay for all of it).

BatchNorm: the scoring pass runs in train mode (batch statistics over the 2b' samples,
as in the paper's single forward pass) but leaves the running statistics untouched
(:func:`frozen_bn_stats`); the training pass over the selected samples uses their batch
statistics and is the one that updates the running statistics, so the running averages
describe the samples the model is trained on.  That is the ``reforward`` reading of DS's
Algorithm 1 (``Config.ds_forward``).  The ``joint`` reading takes the algorithm literally:
one train-mode forward of all 2b' with gradients (BatchNorm statistics, running ones
included, over all 2b'), the loss averaged over the selected share only; its backward pass
runs through all 2b' rows, so it saves no backward computation.

Every method's backprop kind (:data:`advsel.methods.REGISTRY`) is one selection of
:func:`select`.  One of them, ``screened`` (method ``prescreen``), decides part of its
choice before the attack: :func:`before_attack` names the rows worth attacking, the trainer
attacks only those, and :func:`select` then forms the set from the screening.  For the
other kinds :func:`before_attack` returns None and the whole batch is attacked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .p_up import n_selected

SELECTIONS = ("clean", "adv", "top", "random", "screened")


@dataclass
class Selection:
    """The samples chosen for the backward pass and what the choice saw.

    ``x``/``y``: the selected inputs and labels.  ``n_clean``/``n_adv``: how many of them
    are clean / adversarial (device tensors, summed without a host sync).
    ``is_adv``: per selected sample, whether it is adversarial.  ``adv_index``: for the
    selected adversarial samples, their position in the b' batch.  ``logits_adv``: the
    scoring pass's logits on the b' adversarial samples (None when there was no
    scoring pass); CAT and Dong et al. reuse them.  ``correct``: number of correct
    predictions in the scoring pass, and ``scored`` its size (for eq. (9)).
    """

    x: torch.Tensor
    y: torch.Tensor
    n_clean: torch.Tensor
    n_adv: torch.Tensor
    is_adv: torch.Tensor
    adv_index: torch.Tensor
    logits_adv: torch.Tensor | None = None
    correct: torch.Tensor | None = None
    scored: int = 0
    total: int | None = None  # selected over all ranks (None: len(y), one process or per-rank selection)
    joint: tuple[torch.Tensor, torch.Tensor] | None = None  # ds_forward='joint': the training pass's (logits, loss)

    @property
    def n_total(self) -> int:
        """How many samples were selected over all ranks (``len(y)`` for one process)."""
        return len(self.y) if self.total is None else self.total


@dataclass
class Screening:
    """The choice a ``screened`` selection makes before the attack: the rows of the b' to attack
    (``attacked``), the others, and what becomes of the others (``unattacked``: ``clean`` or ``skip``)."""

    attacked: torch.Tensor
    others: torch.Tensor
    unattacked: str


def before_attack(kind: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor, share: float,
              unattacked: str) -> Screening | None:
    """What selection ``kind`` decides before the attack: for ``screened`` the ``share`` of the
    b' clean samples to attack (:func:`screen`); None for every other kind (attack them all)."""
    if kind != "screened":
        return None
    return Screening(*screen(model, x, y, share), unattacked)


@contextlib.contextmanager
def frozen_bn_stats(model: nn.Module) -> Iterator[None]:
    """Train-mode BatchNorm (batch statistics) that does not update its running statistics."""
    saved = []
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
            saved.append((m, m.momentum, m.num_batches_tracked.clone()))
            m.momentum = 0.0  # running = (1 - 0) * running + 0 * batch
    try:
        yield
    finally:
        for m, momentum, nbt in saved:
            m.momentum = momentum
            m.num_batches_tracked.copy_(nbt)


def per_sample_losses(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Scoring pass: logits and per-sample cross-entropy (eqs. 7-8) without gradients."""
    with torch.no_grad(), frozen_bn_stats(model):
        logits = model(x).float()
    return logits, F.cross_entropy(logits, y, reduction="none")


def _pack(both: torch.Tensor, y2: torch.Tensor, chosen: torch.Tensor, b: int,
          logits_adv: torch.Tensor | None, correct: torch.Tensor | None, total: int | None = None) -> Selection:
    """The chosen rows of the 2b' batch ``both`` = [clean; adversarial] with labels ``y2``."""
    is_adv = chosen >= b
    n_adv = is_adv.sum()
    return Selection(both[chosen], y2[chosen], len(chosen) - n_adv, n_adv, is_adv,
                     chosen[is_adv] - b, logits_adv, correct, 2 * b if correct is not None else 0, total)


def global_to_local(chosen: torch.Tensor, b: int, rank: int, world_size: int) -> torch.Tensor:
    """The entries of ``chosen`` (positions in the global 2b' = [clean; adversarial] of a global
    batch of b' = ``b * world_size``) that ``rank`` holds, as positions in its own 2b = [clean;
    adversarial]; rank r holds the global samples r, r + N, ... (the samplers' ``rank::N``)."""
    gb = b * world_size
    part, j = chosen // gb, chosen % gb
    mine = j % world_size == rank
    return part[mine] * b + j[mine] // world_size


def select(kind: str, model: nn.Module, x: torch.Tensor, x_adv: torch.Tensor | None, y: torch.Tensor,
           p_up: float = 1.0, generator: torch.Generator | None = None, *, rank: int = 0, world_size: int = 1,
           all_gather: Callable[[torch.Tensor], torch.Tensor] | None = None,
           screening: Screening | None = None, joint: bool = False) -> Selection:
    """Form the training set S of one step.

    ``clean``: the b' clean samples (standard training).  ``adv``: their b' adversarial
    versions (PGD-AT).  ``top``: the P_up share of the 2b' clean + adversarial samples
    with the highest cross-entropy (DS).  ``random``: a random P_up share of the 2b'
    (DS's "random robust" baseline), drawn from ``generator`` with no scoring pass.
    ``screened``: the adversarial versions ``x_adv`` of the rows ``screening`` chose
    to attack (:func:`before_attack`), with the others clean or left out (:func:`screened`).
    ``joint`` (``top`` in one process only): the scoring pass is the training pass
    (:func:`_joint_top`), and the Selection carries its logits and loss.

    Several processes (``world_size`` > 1, see :mod:`advsel.distributed`): ``x``, ``y`` are
    this rank's rows ``rank::world_size`` of the global batch and ``top``/``random`` select
    over the *global* 2b': ``top`` scores this rank's 2b/N samples, ``all_gather`` (the
    concatenation over ranks, rank 0 first) collects every rank's losses, and every rank
    takes the same top k of the 2b'; ``random`` draws the same k of the 2b' on every rank
    from the shared ``generator``.  The Selection holds the chosen rows this rank has (maybe
    none) and ``total`` = k.  ``n_clean``/``n_adv``/``correct``/``scored`` count this rank's
    rows (sum them over the ranks).
    """
    b = len(y)
    dev = y.device
    if joint and (kind != "top" or world_size > 1):
        raise ValueError(f"the joint forward (ds_forward='joint') is a reading of DS's 'top' selection in one process,"
                         f" not of selection {kind!r} with world_size={world_size}")
    if joint:
        return _joint_top(model, x, x_adv, y, p_up)  # type: ignore[arg-type]
    if world_size > 1 and kind in ("top", "random"):
        return _select_global(kind, model, x, x_adv, y, p_up, generator, rank, world_size, all_gather)
    if kind == "clean":
        return Selection(x, y, torch.tensor(b, device=dev), torch.tensor(0, device=dev),
                         torch.zeros(b, dtype=torch.bool, device=dev), torch.empty(0, dtype=torch.long, device=dev))
    if x_adv is None:
        raise ValueError(f"selection {kind!r} needs adversarial examples (x_adv)")
    if kind == "adv":
        return Selection(x_adv, y, torch.tensor(0, device=dev), torch.tensor(b, device=dev),
                         torch.ones(b, dtype=torch.bool, device=dev), torch.arange(b, device=dev))
    if kind == "screened":
        if screening is None:
            raise ValueError("selection 'screened' needs the screening made before the attack (before_attack)")
        return screened(x, y, x_adv, screening.attacked, screening.others, screening.unattacked)
    if kind not in ("top", "random"):
        raise ValueError(f"selection={kind!r} is not allowed; choose one of: {', '.join(SELECTIONS)}")
    return _select_share(kind, model, x, x_adv, y, p_up, generator)


def _select_share(kind: str, model: nn.Module, x: torch.Tensor, x_adv: torch.Tensor, y: torch.Tensor, p_up: float,
                  generator: torch.Generator | None) -> Selection:
    """``top`` or ``random``: the P_up share of this process's 2b' clean + adversarial samples."""
    b = len(y)
    k = n_selected(p_up, 2 * b)
    both, y2 = torch.cat([x, x_adv]), y.repeat(2)  # built once per step, scored and indexed
    if kind == "random":
        chosen = torch.randperm(2 * b, generator=generator)[:k].to(y.device)
        return _pack(both, y2, chosen, b, None, None)
    logits, losses = per_sample_losses(model, both, y2)
    chosen = losses.topk(k, sorted=False).indices
    correct = (logits.argmax(1) == y2).sum()
    return _pack(both, y2, chosen, b, logits[b:], correct)


def _joint_top(model: nn.Module, x: torch.Tensor, x_adv: torch.Tensor, y: torch.Tensor, p_up: float) -> Selection:
    """DS's Algorithm 1 read literally: one train-mode forward of the 2b' with gradients, the mean loss over
    the P_up share with the highest loss; the Selection's ``joint`` holds that pass's logits of the chosen rows
    and the loss to backpropagate."""
    if x_adv is None:
        raise ValueError("selection 'top' needs adversarial examples (x_adv)")
    b = len(y)
    both, y2 = torch.cat([x, x_adv]), y.repeat(2)
    logits = model(both).float()
    losses = F.cross_entropy(logits, y2, reduction="none")
    chosen = losses.detach().topk(n_selected(p_up, 2 * b), sorted=False).indices
    correct = (logits.detach().argmax(1) == y2).sum()
    sel = _pack(both, y2, chosen, b, logits[b:].detach(), correct)
    sel.joint = (logits[chosen], losses[chosen].mean())
    return sel


def _select_global(kind: str, model: nn.Module, x: torch.Tensor, x_adv: torch.Tensor | None, y: torch.Tensor,
                   p_up: float, generator: torch.Generator | None, rank: int, world_size: int,
                   all_gather: Callable[[torch.Tensor], torch.Tensor] | None) -> Selection:
    if x_adv is None:
        raise ValueError(f"selection {kind!r} needs adversarial examples (x_adv)")
    b = len(y)
    k = n_selected(p_up, 2 * b * world_size)
    both, y2 = torch.cat([x, x_adv]), y.repeat(2)
    if kind == "random":
        chosen = torch.randperm(2 * b * world_size, generator=generator)[:k]
        return _pack(both, y2, global_to_local(chosen, b, rank, world_size).to(y.device), b, None, None, k)
    if all_gather is None:
        raise ValueError("a global 'top' selection over several ranks needs all_gather")
    logits, losses = per_sample_losses(model, both, y2)
    gathered = all_gather(losses).view(world_size, 2, b)  # rank, clean/adversarial, local row
    in_global_order = gathered.permute(1, 2, 0).reshape(-1)  # [clean; adversarial], sample i*N + r
    chosen = in_global_order.topk(k, sorted=False).indices
    correct = (logits.argmax(1) == y2).sum()
    return _pack(both, y2, global_to_local(chosen, b, rank, world_size), b, logits[b:], correct, k)


def screen(model: nn.Module, x: torch.Tensor, y: torch.Tensor, share: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Which of the b' clean samples to attack, decided before the attack (method ``prescreen``).

    A no-gradient pass (train-mode BatchNorm, running statistics untouched, as DS's scoring
    pass) gives each sample's clean cross-entropy; the ``share`` with the highest loss are
    attacked.  Why the clean loss: it is the cheapest signal already computable before PGD,
    and a sample the model gets wrong or barely right clean is the one whose adversarial
    version carries most gradient; a confidently classified sample's attack is the one most
    likely wasted.  Returns (attacked rows, the other rows), both sorted.
    """
    k = n_selected(share, len(y))
    _, losses = per_sample_losses(model, x, y)
    order = losses.argsort(descending=True)
    return order[:k].sort().values, order[k:].sort().values


def screened(x: torch.Tensor, y: torch.Tensor, x_adv: torch.Tensor, attacked: torch.Tensor, others: torch.Tensor,
             unattacked: str) -> Selection:
    """The training set of a ``prescreen`` step: the PGD versions ``x_adv`` of the ``attacked`` rows, and the
    clean ``others`` (``unattacked='clean'``) or nothing else (``'skip'``)."""
    dev = y.device
    n_adv = len(attacked)
    if unattacked == "skip":
        return Selection(x_adv, y[attacked], torch.tensor(0, device=dev), torch.tensor(n_adv, device=dev),
                         torch.ones(n_adv, dtype=torch.bool, device=dev), attacked, scored=len(y))
    if unattacked != "clean":
        raise ValueError(f"unattacked={unattacked!r} is not allowed; choose one of: clean, skip")
    is_adv = torch.cat([torch.ones(n_adv, dtype=torch.bool, device=dev),
                        torch.zeros(len(others), dtype=torch.bool, device=dev)])
    return Selection(torch.cat([x_adv, x[others]]), torch.cat([y[attacked], y[others]]),
                     torch.tensor(len(others), device=dev), torch.tensor(n_adv, device=dev), is_adv, attacked,
                     scored=len(y))
