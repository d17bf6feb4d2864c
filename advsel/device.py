"""Which torch device a run uses, from ``Config.device``.

``auto`` takes the GPU when there is one, so the same command runs on a laptop and on a
GPU machine; an explicit ``cuda`` on a machine without one is a configuration error
(naming the parameter, like every other bad value) rather than a silent fall back to
the CPU, whose timings would be compared with GPU runs.  The trainer, the final
evaluation and the CLI's environment report all resolve the device here.
"""

from __future__ import annotations

import torch

from .config import ConfigError


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
