"""Stage the checkout for a device call that advances the GPU track, and put it back afterwards.

    python scripts/device_pack.py stage      # before the call: prints the one device command to run
    python scripts/device_pack.py restore    # after it (and after unpacking the results)

A device call sends the checkout (tracked and untracked files that git does not ignore, plus the paths it
carries) up to 64 MiB; ``../shared`` does not travel.  ``stage`` copies CIFAR-10's zip (59.3 MiB) into
``.device/data``, records the checkout's commit in ``.device/COMMIT`` (the copy travels without ``.git``),
fetches the torchattacks wheel the device lacks into ``.whl`` and moves what cannot travel beside the zip (the
committed weights ``results/runs/*.model.pt``, about 38 MB, and any checkpoints) into ``.device-aside``; it
then checks the size of what would travel and prints the call.  ``restore`` moves the weights back (``--clean``
also removes ``.device`` and ``.whl``).  The four folders must be ignored by git; ``stage`` refuses otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from advsel.provenance import git_commit

DEVICE, ASIDE, WHEELS, WORK = Path(".device"), Path(".device-aside"), Path(".whl"), Path(".gpu-work")
ZIP = "cifar10-jpeg.zip"
LIMIT_MIB = 64  # what a device call carries at most
CANNOT_TRAVEL = ("results/runs/*.model.pt", "results/runs/*.ckpt.pt")
GITIGNORE = ("/.device/", "/.device-aside/", "/.whl/", "/.gpu-work/")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64")
QUEUE = "python3 scripts/gpu_track.py --budget 540 --jobs 3"


class StageError(RuntimeError):
    """Staging cannot go on; the message says why and what to do."""


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


def check_ignored() -> None:
    """Refuse unless git ignores the staging folders (else the zip and the moved weights would show as changes)."""
    missing = [line for line, path in zip(GITIGNORE, (DEVICE, ASIDE, WHEELS, WORK), strict=True)
               if subprocess.run(["git", "check-ignore", "-q", f"{path}/x"]).returncode != 0]
    if missing:
        raise StageError("git does not ignore " + ", ".join(missing) + "; add these lines to .gitignore: "
                         + " ".join(GITIGNORE))


def data_zip(data: Path | None) -> Path:
    """CIFAR-10's zip: ``data`` (a folder), else ``$ADVSEL_DATA``, else ``../shared/data``."""
    folder = data or Path(os.environ.get("ADVSEL_DATA") or Path("..") / "shared" / "data")
    path = folder / ZIP
    if not path.is_file():
        raise StageError(f"{path} not found: give the folder holding {ZIP} with --data (or set ADVSEL_DATA)")
    return path


def stage_data(src: Path) -> Path:
    """Copy the zip into ``.device/data`` (unless the same file is there), keeping its time so that the decoded
    copy in ``$ADVSEL_CACHE`` stays valid."""
    dst = DEVICE / "data" / ZIP
    if not (dst.is_file() and dst.stat().st_size == src.stat().st_size
            and int(dst.stat().st_mtime) == int(src.stat().st_mtime)):
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.unlink(missing_ok=True)
        shutil.copy2(src, dst)
    return dst


def torchattacks_requirement() -> str:
    """The torchattacks pin of the book's environment, requirements/book.txt (``torchattacks==3.5.1``)."""
    lines = Path("requirements/book.txt").read_text().splitlines()
    return next(line.strip() for line in lines if line.strip().lower().startswith("torchattacks=="))


def stage_wheels() -> list[Path]:
    """The torchattacks wheel in ``.whl`` (downloaded with pip for the device's Python 3.12 when missing)."""
    requirement = torchattacks_requirement()
    version = requirement.split("==")[1]
    have = sorted(WHEELS.glob(f"torchattacks-{version}-*.whl"))
    if have:
        return have
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version",
           "3.12", "--implementation", "cp", *(a for p in PLATFORMS for a in ("--platform", p)), "-d", str(WHEELS),
           requirement]
    if subprocess.run(cmd).returncode != 0:
        raise StageError(f"pip could not download {requirement} into {WHEELS}/: run `{' '.join(cmd)}` where pip "
                         "reaches the index, or pass --no-wheels if the device has torchattacks")
    return sorted(WHEELS.glob(f"torchattacks-{version}-*.whl"))


def move_aside() -> list[Path]:
    """Move the files that cannot travel (:data:`CANNOT_TRAVEL`) into ``.device-aside``, same relative paths."""
    moved = []
    for pattern in CANNOT_TRAVEL:
        for p in sorted(Path().glob(pattern)):
            dst = ASIDE / p
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(p, dst)
            moved.append(dst)
    return moved


def travelling_bytes(carry: Sequence[Path]) -> int:
    """Bytes a device call would send: tracked files that exist, untracked files git does not ignore, and the
    carried paths."""
    files = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    total = sum(Path(f).stat().st_size for f in set(files) if f and Path(f).is_file())
    for c in carry:
        total += sum(p.stat().st_size for p in c.rglob("*") if p.is_file()) if c.is_dir() else 0
    return total


def device_command(wheels: bool) -> str:
    """The command of the device call (run from the checkout's root there)."""
    install = ("python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "
               "/tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site || exit; ") if wheels else ""
    return (f"{install}export PYTHONPATH=$PWD${{PYTHONPATH:+:$PYTHONPATH}} ADVSEL_DATA=$PWD/{DEVICE}/data "
            f"ADVSEL_CACHE=/tmp/advsel-cache ADVSEL_GIT_COMMIT=$(cat {DEVICE}/COMMIT) PYTHONHASHSEED=0 "
            f"PYTHONUNBUFFERED=1; {QUEUE}")


def stage(data: Path | None, wheels: bool) -> str:
    """Stage everything and return what to do next (the device call, then unpack and restore)."""
    check_ignored()
    zip_path = stage_data(data_zip(data))
    commit = git_commit()
    if commit is None:
        raise StageError("no git commit found for advsel/: stage from a git checkout")
    (DEVICE / "COMMIT").write_text(commit + "\n")
    whl = stage_wheels() if wheels else []
    moved = move_aside()
    carry = [DEVICE] + ([WHEELS] if wheels else [])
    size = travelling_bytes(carry) / 2**20
    lines = [f"staged {zip_path} ({zip_path.stat().st_size / 2**20:.1f} MiB), {DEVICE}/COMMIT ({commit[:10]})"
             + (f", {', '.join(str(w) for w in whl)}" if whl else ""),
             f"moved aside to {ASIDE}/: {len(moved)} file(s) that cannot travel "
             f"({sum(p.stat().st_size for p in ASIDE.rglob('*') if p.is_file()) / 2**20:.1f} MiB); do not commit "
             "until `python scripts/device_pack.py restore`",
             f"the call carries {size:.1f} MiB of {LIMIT_MIB} MiB"]
    if size > LIMIT_MIB:
        raise StageError("\n".join(lines) + f"\nthat is over {LIMIT_MIB} MiB: move more aside or restore and look "
                         "at `git ls-files --others --exclude-standard` for large untracked files")
    carry_list = ", ".join(f'"{c}"' for c in carry)
    lines += ["", "the device call (the device tool's run):", f"  command: {device_command(wheels)}",
              f"  carry: [{carry_list}]", "  timeout_s: 600", "",
              "then here, with the folder the call's files came back to (files_at):",
              "  python scripts/gpu_track.py --unpack FILES_AT/gpu-track-results.tar.gz",
              "  python scripts/device_pack.py restore"]
    return "\n".join(lines)


def restore(clean: bool) -> str:
    """Move the files in ``.device-aside`` back; ``clean``: remove ``.device`` and ``.whl`` too."""
    back, kept = 0, []
    for p in sorted(x for x in ASIDE.rglob("*") if x.is_file()) if ASIDE.is_dir() else []:
        dst = p.relative_to(ASIDE)
        if dst.exists() and dst.read_bytes() != p.read_bytes():
            kept.append(str(p))
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(p, dst)
        back += 1
    if kept:
        raise StageError(f"moved {back} file(s) back; these differ from the file now in their place and were left "
                         f"in {ASIDE}: {', '.join(kept)}")
    shutil.rmtree(ASIDE, ignore_errors=True)
    if clean:
        for d in (DEVICE, WHEELS):
            shutil.rmtree(d, ignore_errors=True)
    return f"moved {back} file(s) back from {ASIDE}" + (f"; removed {DEVICE} and {WHEELS}" if clean else "")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python scripts/device_pack.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("stage", help="stage the data, the commit and the wheel; move the weights aside; print the "
                                     "device call")
    s.add_argument("--data", type=Path, help=f"folder holding {ZIP} (default $ADVSEL_DATA, else ../shared/data)")
    s.add_argument("--no-wheels", action="store_true", help="carry no torchattacks wheel (the device has it)")
    r = sub.add_parser("restore", help="move the weights back")
    r.add_argument("--clean", action="store_true", help=f"also remove {DEVICE} and {WHEELS}")
    a = p.parse_args(argv)
    try:
        print(stage(a.data, not a.no_wheels) if a.command == "stage" else restore(a.clean))
    except StageError as e:
        print(f"device_pack.py {a.command}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
