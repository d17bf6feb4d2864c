"""L-inf attacks (FGSM, PGD) and accuracy helpers, following torchattacks' conventions.

Inputs are images in [0, 1]; the model owns its normalisation.  An attack saves the
model's train/eval mode, runs in eval mode (BatchNorm uses running statistics and is
not updated by attack steps), and restores the mode.  Gradients are taken with
``torch.autograd.grad`` with respect to the input only, so parameter gradients are never
touched.  Each step moves by ``alpha * sign(grad)``, clamps the perturbation to the
eps-ball and then the image to [0, 1].
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode and restore its previous mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def _autocast(x: torch.Tensor, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=x.device.type, dtype=dtype)


def _check_attack_args(eps: float, alpha: float, steps: int, restarts: int) -> None:
    if not eps >= 0:
        raise ValueError(f"eps={eps!r} is not allowed; eps must be >= 0")
    if not alpha > 0:
        raise ValueError(f"alpha={alpha!r} is not allowed; alpha must be > 0")
    if not (isinstance(steps, int) and steps >= 0):
        raise ValueError(f"steps={steps!r} is not allowed; steps must be an integer >= 0")
    if not (isinstance(restarts, int) and restarts >= 1):
        raise ValueError(f"restarts={restarts!r} is not allowed; restarts must be an integer >= 1")


def _pgd_once(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, alpha: float, steps: int,
              random_start: bool, autocast_dtype: torch.dtype | None,
              generator: torch.Generator | None = None) -> torch.Tensor:
    adv = x.clone().detach()
    if random_start:
        adv = (adv + torch.empty_like(adv).uniform_(-eps, eps, generator=generator)).clamp_(0, 1)
    for _ in range(steps):
        adv.requires_grad_(True)
        with _autocast(x, autocast_dtype):
            loss = F.cross_entropy(model(adv), y)
        (grad,) = torch.autograd.grad(loss, adv)
        with torch.no_grad():
            adv = adv + alpha * grad.sign()
            adv = (x + (adv - x).clamp_(-eps, eps)).clamp_(0, 1)
    return adv.detach()


def pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float, alpha: float, steps: int,
        random_start: bool = True, restarts: int = 1, autocast_dtype: torch.dtype | None = None,
        generator: torch.Generator | None = None) -> torch.Tensor:
    """L-inf PGD (Madry et al.) on images ``x`` in [0, 1]; returns the adversarial images.

    ``generator`` draws the random starts (default: torch's global generator); evaluation
    passes its own, so evaluating more or less often never changes training.

    With several ``restarts`` each sample keeps the restart that misclassifies it, or,
    when none does, the one with the highest loss; so more restarts never find fewer
    adversarial examples.  ``random_start=False`` reproduces torchattacks'
    ``PGD(model, eps, alpha, steps, random_start=False)``.
    """
    _check_attack_args(eps, alpha, steps, restarts)
    with eval_mode(model):
        best = _pgd_once(model, x, y, eps, alpha, steps, random_start, autocast_dtype, generator)
        if restarts == 1:
            return best
        best_wrong, best_loss = _wrong_and_loss(model, best, y, autocast_dtype)
        for _ in range(restarts - 1):
            cand = _pgd_once(model, x, y, eps, alpha, steps, random_start, autocast_dtype, generator)
            wrong, loss = _wrong_and_loss(model, cand, y, autocast_dtype)
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
                    autocast_dtype: torch.dtype | None) -> tuple[torch.Tensor, torch.Tensor]:
    with _autocast(x, autocast_dtype):
        logits = model(x).float()
    return logits.argmax(1) != y, F.cross_entropy(logits, y, reduction="none")


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Predicted classes, in eval mode, in chunks."""
    with eval_mode(model):
        return torch.cat([model(x[i:i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)])


def clean_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    """Share of ``x`` classified correctly."""
    return (predict(model, x, batch_size) == y).float().mean().item()


def robust_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float, alpha: float, steps: int,
                    restarts: int = 1, batch_size: int = 500, autocast_dtype: torch.dtype | None = None,
                    generator: torch.Generator | None = None) -> float:
    """Accuracy under PGD(eps, alpha, steps, restarts) with random start (drawn from ``generator``)."""
    correct = 0
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size], y[i:i + batch_size]
        adv = pgd(model, xb, yb, eps=eps, alpha=alpha, steps=steps, restarts=restarts,
                  autocast_dtype=autocast_dtype, generator=generator)
        correct += (predict(model, adv, batch_size) == yb).sum().item()
    return correct / len(x)


def autoattack_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float,
                        num_classes: int = 10, version: str = "standard", batch_size: int = 500,
                        seed: int = 0) -> float:
    """Accuracy under AutoAttack (torchattacks), the accepted strong L-inf evaluation.

    Needs the optional dependency ``torchattacks`` (``pip install advsel[eval]``).
    """
    try:
        import torchattacks
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("autoattack_accuracy needs torchattacks: pip install 'advsel[eval]'") from e
    with eval_mode(model):
        atk = torchattacks.AutoAttack(model, norm="Linf", eps=eps, version=version, n_classes=num_classes,
                                      seed=seed)
        correct = 0
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            correct += (predict(model, atk(xb, yb), batch_size) == yb).sum().item()
    return correct / len(x)
