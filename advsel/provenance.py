"""Where a result's numbers come from: the machine and the code that produced them.

Every result records the hardware it ran on (wall times are only comparable on the
same machine, and a loaded machine is slower) and the commit of the advsel checkout,
marked ``-dirty`` when advsel/ has uncommitted changes, so a number in the book can be
traced to the code that computed it.  The benchmarks record the same.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch


def hardware() -> dict[str, Any]:
    """What the run ran on, recorded next to its numbers."""
    info = {"python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpu_threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(), "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
    if torch.cuda.is_available():
        info["cuda_device"] = torch.cuda.get_device_name()
    return info


def git_commit() -> str | None:
    """The commit of the advsel checkout, with ``-dirty`` when advsel/ has uncommitted changes.

    ``$ADVSEL_GIT_COMMIT``, when set, is taken instead: a copy of the checkout without ``.git`` (a device
    machine's, staged by ``scripts/device_pack.py``) cannot ask git, and a folder around it may be another
    repository.
    """
    if commit := os.environ.get("ADVSEL_GIT_COMMIT"):
        return commit
    here = Path(__file__).parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=here, capture_output=True,
                               text=True, timeout=5)
        commit = head.stdout.strip()
        return (commit + ("-dirty" if dirty.stdout.strip() else "")) if commit else None
    except Exception:  # noqa: BLE001 - no git, no commit
        return None
