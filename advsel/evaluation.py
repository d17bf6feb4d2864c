"""The final evaluation of a trained model: clean, PGD and (optionally) AutoAttack accuracy.

Per-epoch curves use the run's cheaper evaluation (``Config.eval_*`` on ``test_size``
samples).  A verdict needs a stronger one, run once on the final weights: PGD with more
steps and restarts on more test samples, and AutoAttack (torchattacks, standard
version) where affordable.  :class:`FinalEval` says which; :func:`final_eval` returns
the record stored in a result as ``final_eval``::

    {"n": 2000, "attack": {"name": "pgd", "eps": ..., "alpha": ..., "steps": 20, "restarts": 2},
     "clean_acc": ..., "robust_acc": ..., "precision": "fp32",
     "autoattack": {"n": 500, "version": "standard", "robust_acc": ...}}   # when asked for

The test samples are the seeded, class-balanced subset of :data:`TEST_SUBSET_SEED` (the
same for every run), the random starts come from a generator of their own (seed
``seed``), and the attack runs in fp32, so the numbers depend on the weights alone.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn as nn

from .attacks import AUTOATTACK_VERSIONS, autoattack_accuracy, clean_accuracy, robust_accuracy
from .config import evaluation_attack
from .data import TensorData, balanced_subset, to_float
from .progress import Progress

TEST_SUBSET_SEED = 1234  # the same evaluation subset for every run, so methods are compared on equal footing


@dataclass(frozen=True)
class FinalEval:
    """What the final evaluation runs.  ``eps``/``alpha`` None: the run's evaluation eps and alpha.

    ``n``: test samples for clean and PGD accuracy (capped by the test set).
    ``autoattack_n``: test samples for AutoAttack (0: none; a class-balanced part of the same
    ``n`` samples).  ``autoattack_version``: ``standard`` (APGD-CE, APGD-T, FAB-T, Square) or
    ``apgd`` (its two gradient attacks APGD-CE and APGD-T only, with the standard version's
    settings: a fraction of the cost, for every seed of a CPU budget; see
    :func:`advsel.attacks.autoattack_accuracy`).
    """

    n: int = 2000
    steps: int = 20
    restarts: int = 2
    eps: float | None = None
    alpha: float | None = None
    autoattack_n: int = 0
    seed: int = 0
    autoattack_version: str = "standard"

    def __post_init__(self) -> None:
        if self.autoattack_version not in AUTOATTACK_VERSIONS:
            raise ValueError(f"autoattack_version={self.autoattack_version!r} is not allowed; choose one of: "
                             f"{', '.join(AUTOATTACK_VERSIONS)}")
        for name in ("n", "steps", "restarts", "autoattack_n"):
            value = getattr(self, name)
            low = 1 if name in ("n", "restarts") else 0
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= low):
                raise ValueError(f"{name}={value!r} is not allowed; {name} must be an integer >= {low}")
        for name, low, rule in (("eps", 0.0, ">= 0"), ("alpha", 0.0, "> 0")):
            value = getattr(self, name)
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                  and (value > low if name == "alpha" else value >= low))
            if value is not None and not ok:
                raise ValueError(f"{name}={value!r} is not allowed; {name} must be a number {rule} or None "
                                 "(None: the run's evaluation value)")

    def resolve(self, eps: float, alpha: float) -> tuple[float, float]:
        """The attack's eps and alpha: the spec's own, else the run's evaluation eps and alpha
        (:func:`advsel.config.evaluation_attack`)."""
        return evaluation_attack(self.eps, self.alpha, base_eps=eps, base_alpha=alpha)

    def matches(self, record: dict[str, Any] | None, eps: float, alpha: float) -> bool:
        """Whether a stored ``final_eval`` record was made with these settings (``eps``/``alpha``: the run's)."""
        if not record:
            return False
        eps, alpha = self.resolve(eps, alpha)
        a = record.get("attack", {})
        same = (record.get("n_asked") == self.n and a.get("steps") == self.steps
                and a.get("restarts") == self.restarts and a.get("eps") == eps and a.get("alpha") == alpha
                and record.get("seed") == self.seed)
        aa = record.get("autoattack") or {}
        return same and aa.get("n_asked", 0) == self.autoattack_n and (
            not self.autoattack_n or aa.get("version", "standard") == self.autoattack_version)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def test_subset(data: TensorData, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed, seeded, class-balanced test subset of ``n`` samples (capped by the test set), as [0, 1]
    floats and labels, in test-set order.  Subsets are nested: the one of ``n`` holds the one of any
    smaller ``n`` (each class's samples come from one seeded permutation)."""
    idx = balanced_subset(data.y_test, min(n, len(data.y_test)), TEST_SUBSET_SEED, data.num_classes)
    return to_float(data.x_test[idx]), data.y_test[idx]


def evaluate_model(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float, alpha: float, steps: int,
                   restarts: int, seed: int = 0, autoattack_n: int = 0, num_classes: int = 10,
                   n_asked: int | None = None, pgd: bool = True, progress: Progress = False,
                   autoattack_version: str = "standard") -> dict[str, Any]:
    """Clean, PGD and optionally AutoAttack accuracy of ``model`` on ``x``, ``y`` (a ``final_eval`` record).

    ``x``: float images in [0, 1] on the model's device, ``y`` their labels (checked by
    :mod:`advsel.attacks`).  ``autoattack_n``: AutoAttack on this many of the samples (0:
    none): all of them when it is at least ``len(y)``, else a seeded class-balanced subset
    (the first ``autoattack_n`` where the classes are too uneven for one).  ``pgd=False``
    leaves out the PGD attack (no ``attack``/``robust_acc`` entries; ``python -m advsel eval
    --attack autoattack``).  ``progress``: show the PGD and AutoAttack stages (:mod:`advsel.progress`;
    off by default, on in the command line).
    """
    gen = torch.Generator(device=x.device).manual_seed(seed)
    record: dict[str, Any] = {
        "n": len(y), "n_asked": n_asked if n_asked is not None else len(y), "seed": seed, "precision": "fp32",
        "clean_acc": clean_accuracy(model, x, y),
    }
    if pgd:
        record["attack"] = {"name": "pgd", "eps": eps, "alpha": alpha, "steps": steps, "restarts": restarts}
        record["robust_acc"] = robust_accuracy(model, x, y, eps=eps, alpha=alpha, steps=steps, restarts=restarts,
                                               generator=gen, progress=progress)
    if autoattack_n:
        k = min(autoattack_n, len(y))
        idx = _balanced_part(y, k, num_classes)
        record["autoattack"] = {"n": k, "n_asked": autoattack_n, "version": autoattack_version, "eps": eps,
                                "robust_acc": autoattack_accuracy(model, x[idx], y[idx], eps=eps,
                                                                  num_classes=num_classes, seed=seed,
                                                                  version=autoattack_version, progress=progress)}
    return record


def _balanced_part(y: torch.Tensor, k: int, num_classes: int) -> torch.Tensor:
    """Indices of ``k`` of the labels ``y``: all, else a seeded class-balanced subset, else the first ``k``."""
    if k >= len(y):
        return torch.arange(len(y), device=y.device)
    try:
        return balanced_subset(y.cpu(), k, TEST_SUBSET_SEED, num_classes).to(y.device)
    except ValueError:  # a class with too few samples among y
        return torch.arange(k, device=y.device)


def final_eval(model: nn.Module, data: TensorData, spec: FinalEval, *, eps: float, alpha: float,
               device: torch.device | str = "cpu", progress: Progress = False) -> dict[str, Any]:
    """The ``final_eval`` record of ``model`` under ``spec`` (eps, alpha: the run's unless the spec sets them;
    ``progress``: show its stages, :mod:`advsel.progress`)."""
    eps, alpha = spec.resolve(eps, alpha)
    x, y = test_subset(data, spec.n)
    model = model.to(device)
    return evaluate_model(model, x.to(device), y.to(device), eps=eps, alpha=alpha, steps=spec.steps,
                          restarts=spec.restarts, seed=spec.seed, autoattack_n=spec.autoattack_n,
                          num_classes=data.num_classes, n_asked=spec.n, progress=progress,
                          autoattack_version=spec.autoattack_version)
