"""Execute the book's notebooks with papermill, check them with nbmake, or write the table of contents.

    python scripts/notebooks.py smoke          # jupytext -> .ipynb, then pytest --nbmake at the smoke profile
    python scripts/notebooks.py execute [--profile cpu] [--runs DIR] [NAME ...]
                                               # papermill-execute into book/generated/ for the book,
                                               # reading the runs of results/runs (or DIR)
    python scripts/notebooks.py toc            # write _toc.yml from the page registry

The pages are those of the registry :data:`advsel.repro.book.PAGES`; their ``.py`` files in
notebooks/ (jupytext percent format) are the sources; the generated ``.ipynb`` files are
never committed.  Every page, the usage page included, has a
``parameters`` cell with ``profile``; the claims ledger also takes ``notebooks``, the
folder of the pages' sources (papermill runs from the repository root, where the default
``notebooks`` is right; nbmake runs from build/nbsmoke, so the smoke run passes it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from advsel.repro import book
from advsel.repro.scope import REPOSITORY_RUNS

ROOT = Path(__file__).resolve().parent.parent
# The kernels inherit the environment: a non-inline MPLBACKEND (e.g. Agg) would keep
# figures out of the executed notebooks.
os.environ.pop("MPLBACKEND", None)
NOTEBOOKS = ROOT / "notebooks"
EXECUTED = ROOT / "book" / "generated"


TOC = ROOT / "_toc.yml"


def sources(names: list[str] | None = None) -> list[Path]:
    """The jupytext sources of the registered pages (of ``names`` only, when given), by name."""
    files = [NOTEBOOKS / f"{name}.py" for name in sorted(book.PAGES)]
    if names:
        files = [p for p in files if p.stem in names or p.name in names]
    return files


def smoke() -> int:
    """Generate smoke-profile .ipynb copies and run them under nbmake."""
    import jupytext
    import nbformat

    out_dir = ROOT / "build" / "nbsmoke"
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for src in sources():
        nb = jupytext.read(src)
        extra = {"notebooks": str(NOTEBOOKS)} if _has_parameter(nb, "notebooks") else {}
        _inject(nb, _profile_parameters(nb, "smoke") | extra)
        dst = out_dir / f"{src.stem}.ipynb"
        nbformat.write(nb, dst)
        paths.append(str(dst))
    if not paths:
        print("no notebooks in notebooks/")
        return 0
    env = dict(os.environ, ADVSEL_RUNS=str(ROOT / "build" / "smoke-runs"))
    cmd = [sys.executable, "-m", "pytest", "-q", "--nbmake", "--nbmake-kernel=python3", "--nbmake-timeout=900",
           "-p", "no:cacheprovider", "--rootdir", str(out_dir), *paths]
    return subprocess.call(cmd, env=env, cwd=ROOT)


def _has_parameter(nb, name: str) -> bool:
    """Whether the cell tagged ``parameters`` assigns ``name``."""
    return any("parameters" in c.get("metadata", {}).get("tags", []) and
               any(line.split("=")[0].strip() == name for line in c.source.splitlines() if "=" in line)
               for c in nb.cells)


def _profile_parameters(nb, profile: str) -> dict:
    """The parameters a page runs with at ``profile``: at ``smoke``, one seed of every dataset it has seeds of."""
    if profile != "smoke":
        return {"profile": profile}
    return {"profile": profile, "seeds": [0]} | ({"cifar_seeds": [0]} if _has_parameter(nb, "cifar_seeds") else {})


def _inject(nb, params: dict) -> None:
    """Append an injected-parameters cell after the cell tagged ``parameters`` (as papermill does)."""
    import nbformat

    for i, cell in enumerate(nb.cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            src = "\n".join(f"{k} = {v!r}" for k, v in params.items())
            new = nbformat.v4.new_code_cell(src, metadata={"tags": ["injected-parameters"]})
            nb.cells.insert(i + 1, new)
            return
    raise SystemExit(f"notebook has no cell tagged 'parameters': {nb.metadata.get('jupytext', {})}")


def execute(profile: str, names: list[str] | None, runs: str | None = None) -> int:
    """papermill-execute each notebook into book/generated/<name>.ipynb, the pages reading their runs from
    the repository's results/runs (or ``runs``), whatever the working folder and ``$ADVSEL_RUNS``."""
    import jupytext
    import papermill

    os.environ["ADVSEL_RUNS"] = str(Path(runs).resolve() if runs else REPOSITORY_RUNS)  # the kernels inherit it
    print(f"run cache: {os.environ['ADVSEL_RUNS']}", flush=True)
    EXECUTED.mkdir(parents=True, exist_ok=True)
    for src in sources(names):
        print(f"executing {src.name} at profile {profile}", flush=True)
        out = EXECUTED / f"{src.stem}.ipynb"
        nb = jupytext.read(src)
        papermill.execute_notebook(nb, str(out), parameters=_profile_parameters(nb, profile), kernel_name="python3",
                                   language="python", cwd=str(ROOT), progress_bar=False)
        _fold_injected(out)
    return 0


def _fold_injected(path: Path) -> None:
    """Collapse papermill's injected-parameters cell like every other code cell (the parameters show once)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "hide-input" not in tags:
            tags.append("hide-input")
    nbformat.write(nb, path)


def toc() -> int:
    """Write _toc.yml from the page registry (:func:`advsel.repro.book.toc_yaml`)."""
    TOC.write_text(book.toc_yaml())
    print(f"wrote {TOC.relative_to(ROOT)}: {len(book.PAGES)} pages in {len(book.parts())} parts")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=["smoke", "execute", "toc"])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--runs", help="execute: the run cache the pages read (default: results/runs)")
    p.add_argument("names", nargs="*")
    a = p.parse_intermixed_args()
    if a.mode == "toc":
        return toc()
    return smoke() if a.mode == "smoke" else execute(a.profile, a.names, a.runs)


if __name__ == "__main__":
    raise SystemExit(main())
