"""What every page says about itself: where its numbers come from, how to rerun it, titles and links.

Nothing here knows where the repository is: a page that needs its sibling pages'
sources (the claims ledger, for their titles) passes the folder it was run from.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def provenance(rs: Sequence[dict[str, Any]]) -> str:
    """Where numbers come from: profile, data source, hardware, commit, seeds (Markdown)."""
    r0 = rs[0]
    seeds = sorted({r["config"]["seed"] for r in rs})
    hw = r0["hardware"]
    return (f"profile `{r0['config'].get('profile')}`, dataset `{r0['config']['dataset']}` "
            f"({r0['data_source']}), model `{r0['config']['model']}`, {r0['train_size']} training / "
            f"{r0['test_size']} test samples, seeds {seeds}; ran on {r0['device']} "
            f"({hw.get('cuda_device', hw.get('processor'))}, {hw.get('cpu_threads')} threads, torch {hw['torch']}), "
            f"advsel {r0['advsel_version']} at commit `{(r0.get('git_commit') or 'unknown')[:10]}`")


def numbers_from(rs: Sequence[dict[str, Any]], what: str = "") -> str:
    """The footer line under a page's verdicts: "Numbers from (what): " and :func:`provenance` (Markdown)."""
    return f"Numbers from{f' ({what})' if what else ''}: {provenance(rs)}"


def rerun_commands(page: str, paper_dataset: str | None = "cifar10") -> str:
    """The papermill commands that rerun a page at the cpu and the paper profile (Markdown).

    ``paper_dataset``: the dataset the paper used, passed at the paper profile (None:
    the page has no dataset parameter).
    """
    nb = f"notebooks/{page}.py"
    ds = f" -p dataset {paper_dataset}" if paper_dataset else ""
    return (f"```bash\nexport ADVSEL_DATA=/path/to/data   # MNIST/raw, cifar-10-batches-py/ (or --download once)\n"
            f"jupytext --to ipynb {nb} -o {page}.ipynb\n"
            f"papermill {page}.ipynb {page}-cpu.ipynb -p profile cpu\n"
            f"papermill {page}.ipynb {page}-paper.ipynb -p profile paper{ds} -p device cuda\n```")


def page_link(page: str) -> str:
    """Where a page lives in the built book, relative to another generated page.

    Links inside cell *outputs* are not rewritten by Sphinx (only links in Markdown
    cells are resolved from ``page.ipynb`` to ``page.html``), so they must name the built
    HTML file; all generated pages sit in the same folder, book/generated/.
    """
    return f"{page}.html"


def page_title(page: str, folder: str | os.PathLike[str]) -> str:
    """The first ``# `` heading of a page's jupytext source ``folder/page.py`` (the page name if none)."""
    src = Path(folder) / f"{page}.py"
    if src.is_file():
        for line in src.read_text().splitlines():
            if line.startswith("# # "):
                return line[4:].strip()
    return page


def titles(folder: str | os.PathLike[str]) -> Callable[[str], str]:
    """:func:`page_title` with the pages' sources in ``folder`` (e.g. ``notebooks`` from the repository root)."""
    return lambda page: page_title(page, folder)

