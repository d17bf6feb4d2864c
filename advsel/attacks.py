"""L-inf attacks (FGSM, PGD) and accuracy helpers, following torchattacks' conventions.

Inputs are images in [0, 1]; the model owns its normalisation.  An attack saves the
model's train/eval mode, runs in eval mode (BatchNorm uses running statistics and is
not updated by attack steps), and restores the mode.  Gradients are taken with
``torch.autograd.grad`` with respect to the input only, so parameter gradients are never
touched.  Each step moves by ``alpha * sign(grad)``, clamps the perturbation to the
eps-ball and then the image to [0, 1].

Inputs are checked once per public call (``pgd``, ``fgsm``, ``predict``,
``clean_accuracy``, ``robust_accuracy``, ``autoattack_accuracy``): images must be a
floating-point tensor with values in [0, 1] (0-255 pixel values or normalised images
raise ValueError instead of being clamped, integer dtypes TypeError), labels a 1-D
integer tensor with one label per image, every label a class of the model (checked
against the width of the first forward pass's logits, or against ``num_classes`` where
a function takes it).  Cost: the dtype, shape and device checks are free; the value
checks are one min/max reduction over the images and labels whose four numbers are read
back together -- on the CPU one pass over the batch, small next to a single
forward/backward of the model; on CUDA one host synchronisation per call (not per PGD
step; the training loop already synchronises once per step on its loss check).  The
label check reads the logits' width of a forward pass the attack makes anyway.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeAlias

import torch
import torch.nn as nn
import torch.nn.functional as F

from .progress import Progress, Stage


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode and restore its previous mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def autocast_context(x: torch.Tensor, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """Autocast to ``dtype`` on ``x``'s device (e.g. bf16), or nothing when ``dtype`` is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=x.device.type, dtype=dtype)


def check_attack_args(eps: float, alpha: float, steps: int, restarts: int) -> None:
    """ValueError naming the first of a PGD attack's settings that is out of range."""
    if not eps >= 0:
        raise ValueError(f"eps={eps!r} is not allowed; eps must be >= 0")
    if not alpha > 0:
        raise ValueError(f"alpha={alpha!r} is not allowed; alpha must be > 0")
    if not (isinstance(steps, int) and steps >= 0):
        raise ValueError(f"steps={steps!r} is not allowed; steps must be an integer >= 0")
    if not (isinstance(restarts, int) and restarts >= 1):
        raise ValueError(f"restarts={restarts!r} is not allowed; restarts must be an integer >= 1")


class _LabelCheck:
    """Checks, on the first logits it sees, that every label is one of the model's classes."""

    __slots__ = ("fn", "y_hi")

    def __init__(self, fn: str, y_hi: int | None) -> None:
        self.fn, self.y_hi = fn, y_hi

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        if self.y_hi is not None:
            k = logits.shape[-1]
            if self.y_hi >= k:
                raise ValueError(f"{self.fn}: y holds labels up to {self.y_hi} but the model returns {k} logits; "
                                 f"labels must be class indices in [0, {k - 1}]")
            self.y_hi = None  # checked once per call
        return logits


_NO_CHECK = _LabelCheck("", None)


def _check_images(fn: str, x: Any) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{fn}: x must be a torch.Tensor of images in [0, 1], not {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{fn}: x has dtype {x.dtype}; the attacks take floating-point images in [0, 1] "
                        "(for 0-255 pixels: x.float() / 255)")
    if x.dim() < 2:
        raise ValueError(f"{fn}: x has shape {tuple(x.shape)}; expected a batch of images (N, C, H, W)")


def _range_error(fn: str, lo: float, hi: float) -> ValueError:
    return ValueError(f"{fn}: x ranges over [{lo:g}, {hi:g}]; the attacks take images in [0, 1] (0-255 pixels: "
                      "divide by 255; normalisation belongs inside the model, see advsel.models.Normalize)")


def _check_inputs(fn: str, x: Any, y: Any, num_classes: int | None = None) -> tuple[torch.Tensor, _LabelCheck]:
    """Check images ``x`` and labels ``y`` once (see the module docstring for the cost).

    Returns the labels as int64 and the check of the labels against the model's logits.
    """
    _check_images(fn, x)
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"{fn}: y must be a torch.Tensor of integer class labels, not {type(y).__name__}")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"{fn}: y has dtype {y.dtype}; labels must be integer class indices (torch.long)")
    if y.dim() != 1 or len(y) != len(x):
        raise ValueError(f"{fn}: y has shape {tuple(y.shape)} for {len(x)} images; expected one label per image, "
                         f"shape ({len(x)},)")
    if y.device != x.device:
        raise ValueError(f"{fn}: y is on {y.device} but x on {x.device}; put both on the model's device")
    if num_classes is not None and not (isinstance(num_classes, int) and num_classes >= 1):
        raise ValueError(f"{fn}: num_classes={num_classes!r} is not allowed; num_classes must be an integer >= 1")
    if len(x) == 0 or x.numel() == 0:
        return y.long(), _NO_CHECK
    with torch.no_grad():
        stats = torch.stack([x.detach().amin().float(), x.detach().amax().float(),
                             y.amin().float(), y.amax().float()]).tolist()  # the one read-back of the call
    lo, hi, y_lo, y_hi = stats[0], stats[1], int(stats[2]), int(stats[3])
    if not (lo >= 0 and hi <= 1):
        raise _range_error(fn, lo, hi)
    if y_lo < 0:
        raise ValueError(f"{fn}: y holds labels from {y_lo}; labels must be class indices >= 0")
    if num_classes is not None and y_hi >= num_classes:
        raise ValueError(f"{fn}: y holds labels up to {y_hi} but num_classes={num_classes}; labels must be in "
                         f"[0, {num_classes - 1}]")
    return (y if y.dtype == torch.long else y.long()), _LabelCheck(fn, y_hi)


# a given start of PGD: the initial perturbation, or a function of the images that returns one per restart
Start: TypeAlias = torch.Tensor | Callable[[torch.Tensor], torch.Tensor]


def _pgd_once(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, alpha: float, steps: int,
              random_start: bool, autocast_dtype: torch.dtype | None,
              generator: torch.Generator | None = None, check: _LabelCheck = _NO_CHECK,
              start: Start | None = None) -> torch.Tensor:
    adv = x.clone().detach()
    if start is not None:
        noise = start(x) if callable(start) else start
        if not isinstance(noise, torch.Tensor) or noise.shape != x.shape:
            got = tuple(noise.shape) if isinstance(noise, torch.Tensor) else type(noise).__name__
            raise ValueError(f"pgd: start gave {got}; the initial perturbation must be a tensor of x's shape "
                             f"{tuple(x.shape)}")
        adv = (adv + noise).clamp_(0, 1)
    elif random_start:
        adv = (adv + torch.empty_like(adv).uniform_(-eps, eps, generator=generator)).clamp_(0, 1)
    for _ in range(steps):
        adv.requires_grad_(True)
        with autocast_context(x, autocast_dtype):
            loss = F.cross_entropy(check(model(adv)), y)
        (grad,) = torch.autograd.grad(loss, adv)
        with torch.no_grad():
            adv = adv + alpha * grad.sign()
            adv = (x + (adv - x).clamp_(-eps, eps)).clamp_(0, 1)
    return adv.detach()


def pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float, alpha: float, steps: int,
        random_start: bool = True, restarts: int = 1, autocast_dtype: torch.dtype | None = None,
        generator: torch.Generator | None = None, start: Start | None = None) -> torch.Tensor:
    """L-inf PGD (Madry et al.) on images ``x`` in [0, 1]; returns the adversarial images.

    ``generator`` draws the random starts (default: torch's global generator); evaluation
    passes its own, so evaluating more or less often never changes training.

    With several ``restarts`` each sample keeps the restart that misclassifies it, or,
    when none does, the one with the highest loss; so more restarts never find fewer
    adversarial examples.  ``random_start=False`` reproduces torchattacks'
    ``PGD(model, eps, alpha, steps, random_start=False)``.

    ``start``: a given start instead of the uniform random one (``generator`` is then not
    used): a tensor of ``x``'s shape, the initial perturbation (one restart only), or a
    function of ``x`` returning one, called once per restart.  It should lie in the
    eps-ball (every step projects onto it; the start itself is only clipped to [0, 1]).
    The distributed attack (:func:`advsel.distributed.pgd_rows`) passes the rows of a
    random start drawn for the whole global batch.

    ``x``: float images in [0, 1]; ``y``: integer labels, one per image, each a class of
    the model.  Anything else raises TypeError/ValueError naming the argument (checked
    once per call, see the module docstring).
    """
    check_attack_args(eps, alpha, steps, restarts)
    if start is not None:
        if not random_start:
            raise ValueError("pgd: start= is a given start; it contradicts random_start=False (no start at all)")
        if not callable(start) and restarts > 1:
            raise ValueError(f"pgd: a start tensor serves one restart, restarts={restarts}; pass a function of x "
                             "that returns a start per restart")
    y, check = _check_inputs("pgd", x, y)
    return _pgd(model, x, y, eps, alpha, steps, random_start, restarts, autocast_dtype, generator, check, start)


def _pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, alpha: float, steps: int,
         random_start: bool, restarts: int, autocast_dtype: torch.dtype | None,
         generator: torch.Generator | None, check: _LabelCheck, start: Start | None = None) -> torch.Tensor:
    """:func:`pgd` on checked inputs."""
    with eval_mode(model):
        best = _pgd_once(model, x, y, eps, alpha, steps, random_start, autocast_dtype, generator, check, start)
        if restarts == 1:
            return best
        best_wrong, best_loss = _wrong_and_loss(model, best, y, autocast_dtype, check)
        for _ in range(restarts - 1):
            cand = _pgd_once(model, x, y, eps, alpha, steps, random_start, autocast_dtype, generator, check, start)
            wrong, loss = _wrong_and_loss(model, cand, y, autocast_dtype, check)
            better = (wrong & ~best_wrong) | ((wrong == best_wrong) & (loss > best_loss))
            best = torch.where(better.view(-1, *[1] * (x.dim() - 1)), cand, best)
            best_wrong, best_loss = best_wrong | wrong, torch.where(better, loss, best_loss)
        return best


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float,
         autocast_dtype: torch.dtype | None = None) -> torch.Tensor:
    """FGSM (Goodfellow et al.): one step of size eps from the clean image."""
    return pgd(model, x, y, eps=eps, alpha=max(eps, 1e-12), steps=1, random_start=False,
               autocast_dtype=autocast_dtype)


@torch.no_grad()
def _wrong_and_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                    autocast_dtype: torch.dtype | None,
                    check: _LabelCheck = _NO_CHECK) -> tuple[torch.Tensor, torch.Tensor]:
    with autocast_context(x, autocast_dtype):
        logits = check(model(x)).float()
    return logits.argmax(1) != y, F.cross_entropy(logits, y, reduction="none")


@torch.no_grad()
def _predict(model: nn.Module, x: torch.Tensor, batch_size: int, check: _LabelCheck = _NO_CHECK) -> torch.Tensor:
    if len(x) == 0:
        return torch.zeros(0, dtype=torch.long, device=x.device)
    with eval_mode(model):
        return torch.cat([check(model(x[i:i + batch_size])).argmax(1) for i in range(0, len(x), batch_size)])


def _check_batch_size(batch_size: int) -> None:
    if not (isinstance(batch_size, int) and not isinstance(batch_size, bool) and batch_size >= 1):
        raise ValueError(f"batch_size={batch_size!r} is not allowed; batch_size must be an integer >= 1")


def _nonempty(fn: str, x: torch.Tensor) -> None:
    if len(x) == 0:
        raise ValueError(f"{fn}: x is empty; an accuracy needs at least one image")


def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Predicted classes of images ``x`` in [0, 1], in eval mode, in chunks."""
    _check_images("predict", x)
    _check_batch_size(batch_size)
    if x.numel():
        lo, hi = torch.stack([x.amin().float(), x.amax().float()]).tolist()
        if not (lo >= 0 and hi <= 1):
            raise _range_error("predict", lo, hi)
    return _predict(model, x, batch_size)


def clean_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    """Share of ``x`` (float images in [0, 1]) classified correctly as ``y`` (integer labels)."""
    y, check = _check_inputs("clean_accuracy", x, y)
    _check_batch_size(batch_size)
    _nonempty("clean_accuracy", x)
    return (_predict(model, x, batch_size, check) == y).float().mean().item()


def robust_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float, alpha: float, steps: int,
                    restarts: int = 1, batch_size: int = 500, autocast_dtype: torch.dtype | None = None,
                    generator: torch.Generator | None = None, progress: Progress = False) -> float:
    """Accuracy under PGD(eps, alpha, steps, restarts) with random start (drawn from ``generator``).

    A sample counts as robust when it is classified correctly clean *and* after every
    restart (AutoAttack's rule).  Each restart attacks only the samples still robust, so a
    sample misclassified clean or fooled once costs no further attack steps: on a CIFAR-10
    model at 40 % clean accuracy this makes PGD-20 x 2 about three times cheaper than
    attacking every sample in every restart, with the same definition of robust.
    ``x``, ``y`` as for :func:`pgd`, checked once for the whole set (not per chunk).
    ``progress``: a bar over the chunks and restarts, or stage lines (:mod:`advsel.progress`).
    """
    check_attack_args(eps, alpha, steps, restarts)
    y, check = _check_inputs("robust_accuracy", x, y)
    _check_batch_size(batch_size)
    _nonempty("robust_accuracy", x)
    what = f"PGD-{steps} x {restarts} restart{'s' if restarts != 1 else ''} on {len(x):,} samples"
    chunks = range(0, len(x), batch_size)
    correct = 0
    with Stage(what, len(chunks) * restarts, progress, unit="attack") as stage:
        for i in chunks:
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            alive = _predict(model, xb, batch_size, check) == yb
            for r in range(restarts):
                # the random start of the whole chunk, drawn whatever survives, so that a sharded evaluation
                # (advsel.distributed.sharded_correct) draws the same numbers for the same samples
                noise = torch.empty_like(xb).uniform_(-eps, eps, generator=generator)
                idx = alive.nonzero().squeeze(1)
                if len(idx):
                    stage.note(f"samples {i + 1}-{i + len(xb)}, restart {r + 1}, {len(idx)} still robust")
                    adv = _pgd(model, xb[idx], yb[idx], eps, alpha, steps, True, 1, autocast_dtype, None, check,
                               start=noise[idx])
                    alive[idx] = _predict(model, adv, batch_size, check) == yb[idx]
                stage.update()
            correct += int(alive.sum())
    return correct / len(x)


AUTOATTACK_VERSIONS = ("standard", "apgd")  # autoattack_accuracy's versions: AutoAttack, or its APGD-CE + APGD-T


def autoattack_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float,
                        num_classes: int = 10, version: str = "standard", batch_size: int = 500,
                        seed: int = 0, progress: Progress = False) -> float:
    """Accuracy under AutoAttack (torchattacks), the accepted strong L-inf evaluation.

    ``x``, ``y`` as for :func:`pgd`; labels are checked against ``num_classes``, which
    must equal the width of the model's logits.  ``version``: ``standard`` (torchattacks'
    AutoAttack: APGD-CE, APGD-T, FAB-T, Square) or ``apgd`` (its first two attacks with the same
    settings, run one after the other on the samples still robust: the part of AutoAttack that
    finds almost every adversarial example it finds, at a fraction of the cost of FAB-T and
    Square on a CPU).  Needs the optional dependency
    ``torchattacks`` (``pip install advsel[eval]``).  ``progress``: a bar over the chunks
    of ``batch_size`` samples and AutoAttack's attacks (APGD, APGD-T, FAB-T, Square for
    the standard version), naming the one running, or stage lines (:mod:`advsel.progress`).
    """
    if not (isinstance(eps, (int, float)) and eps >= 0):
        raise ValueError(f"eps={eps!r} is not allowed; eps must be >= 0")
    y, _ = _check_inputs("autoattack_accuracy", x, y, num_classes)
    _check_batch_size(batch_size)
    _nonempty("autoattack_accuracy", x)
    try:  # an optional dependency (the eval extra), and 1.3 s to import: only when AutoAttack runs
        import torchattacks
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("autoattack_accuracy needs torchattacks: pip install 'advsel[eval]'") from e
    with torch.no_grad(), eval_mode(model):
        width = model(x[:1]).shape[-1]  # one image: AutoAttack's targeted attacks need the true class count
    if width != num_classes:
        raise ValueError(f"autoattack_accuracy: num_classes={num_classes} but the model returns {width} logits; "
                         f"pass num_classes={width}")
    if version not in AUTOATTACK_VERSIONS:
        raise ValueError(f"version={version!r} is not allowed; choose one of: {', '.join(AUTOATTACK_VERSIONS)}")
    chunks = range(0, len(x), batch_size)
    with eval_mode(model):
        if version == "apgd":  # the standard version's first two attacks, with its settings
            atk = torchattacks.MultiAttack([
                torchattacks.APGD(model, norm="Linf", eps=eps, seed=seed, loss="ce", n_restarts=1),
                torchattacks.APGDT(model, norm="Linf", eps=eps, seed=seed, n_classes=num_classes, n_restarts=1)])
            parts = list(atk.attacks)
        else:
            atk = torchattacks.AutoAttack(model, norm="Linf", eps=eps, version=version, n_classes=num_classes,
                                          seed=seed)
            parts = _sub_attacks(atk)
        correct = 0
        with Stage(f"AutoAttack ({version}) on {len(x):,} samples", len(chunks) * max(len(parts), 1), progress,
                   unit="attack") as stage:
            if stage.bar is not None:
                _report_sub_attacks(parts, stage)
            for k, i in enumerate(chunks, 1):
                xb, yb = x[i:i + batch_size], y[i:i + batch_size]
                correct += (predict(model, atk(xb, yb), batch_size) == yb).sum().item()
                stage.update(k * max(len(parts), 1) - stage.done)  # attacks skipped once every sample is fooled
    return correct / len(x)


def _sub_attacks(atk: Any) -> list[Any]:
    """The attacks torchattacks' AutoAttack runs one after the other (its MultiAttack's list; empty if a
    torchattacks version keeps them elsewhere, and the progress then counts chunks only)."""
    parts = getattr(getattr(atk, "_autoattack", None), "attacks", None)
    return list(parts) if isinstance(parts, list) else []


def _report_sub_attacks(parts: list[Any], stage: Stage) -> None:
    """Make each of AutoAttack's attacks name itself on ``stage`` when it starts and count one when it ends
    (a wrapper of the attack object's ``forward``; the attack and its random numbers are unchanged)."""
    for part in parts:
        def forward(images: torch.Tensor, labels: torch.Tensor, *args: Any, _run: Any = part.forward,
                    _name: str = getattr(part, "attack", type(part).__name__), **kwargs: Any) -> torch.Tensor:
            stage.note(f"{_name} on {len(images)} samples")
            adv = _run(images, labels, *args, **kwargs)
            stage.update()
            return adv
        part.forward = forward
