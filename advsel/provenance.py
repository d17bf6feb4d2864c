"""Where a result's numbers come from: the machine and the code that produced them.

Every result records the hardware it ran on (wall times are only comparable on the
same machine, and a loaded machine is slower) and the commit of the advsel checkout,
marked ``-dirty`` when advsel/ has uncommitted changes, so a number in the book can be
traced to the code that computed it.  The benchmarks record the same.

The commit is advsel's own only: it is read when the package folder is tracked by a git
checkout whose top level is the package folder's parent (the repository's layout).  A
copy of the package without its ``.git`` -- inside another repository, or sent to a
machine without the history -- records ``$ADVSEL_GIT_COMMIT`` when that is set (the
commit the copy was made from, set by whoever made it), else None.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

PACKAGE = Path(__file__).resolve().parent
COMMIT_VARIABLE = "ADVSEL_GIT_COMMIT"  # the commit of a copy of the package without its own .git


def hardware() -> dict[str, Any]:
    """What the run ran on, recorded next to its numbers."""
    info = {"python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpu_threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(), "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
    if torch.cuda.is_available():
        info["cuda_device"] = torch.cuda.get_device_name()
    return info


def _git(package: Path, *args: str) -> str | None:
    """The stripped output of ``git args`` run in ``package``; None when git fails or is missing."""
    try:
        done = subprocess.run(["git", *args], cwd=package, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def own_checkout(package: Path = PACKAGE) -> bool:
    """Whether ``package`` is tracked by a git checkout of its own: one whose top level is the package's
    parent (not a repository the package was merely copied into) and which tracks files in it."""
    top = _git(package, "rev-parse", "--show-toplevel")
    if not top or Path(top).resolve() != package.resolve().parent:
        return False
    return bool(_git(package, "ls-files", "--", "."))


def git_commit(package: Path = PACKAGE) -> str | None:
    """The commit of advsel's own checkout (:func:`own_checkout`), with ``-dirty`` when the package has
    uncommitted changes; without one, ``$ADVSEL_GIT_COMMIT`` when set, else None."""
    if own_checkout(package):
        commit = _git(package, "rev-parse", "HEAD")
        if commit:
            dirty = _git(package, "status", "--porcelain", "--", ".")
            return commit + ("-dirty" if dirty else "")
    return os.environ.get(COMMIT_VARIABLE, "").strip() or None
