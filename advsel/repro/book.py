"""The book's pages, each named once: its notebook, its part of the table of contents, its parameters.

:data:`PAGES` is the one list of pages.  ``_toc.yml`` is written from it
(:func:`toc_yaml`, by ``python scripts/notebooks.py toc``), the page parameters that
:func:`~advsel.repro.pages.check_parameters` checks and the rerun box lists come from it,
and a claim names the page that tests it by one of its names (``Claim.page``), so a page
added, renamed or moved to another part changes here only.  A page's name is the stem of
its jupytext source ``notebooks/<name>.py`` and of its executed notebook
``book/generated/<name>.ipynb``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

ROOT = "book/intro"  # the book's first page (Markdown, not a notebook)
GENERATED = "book/generated"  # where `scripts/notebooks.py execute` writes the executed pages
RUNS = ("profile", "dataset", "device", "seeds")  # the parameters of a page that reads one scope's runs


@dataclass(frozen=True)
class Page:
    """One page of the book: ``name`` (its notebook's stem), the ``part`` (caption) of the table of contents
    it sits in, its papermill ``parameters`` (in the order of its parameters cell) and the ``paper`` whose
    settings its summary box compares the runs with (None: neither paper's)."""

    name: str
    part: str
    parameters: tuple[str, ...] = RUNS
    paper: str | None = None


INTRODUCTION, DS, CAT, BEYOND, VERDICTS = ("Introduction", "DS: informed data selection",
                                           "CAT: case-aware adversarial training", "Beyond the papers", "Verdicts")
PAGES: dict[str, Page] = {p.name: p for p in (
    Page("usage", INTRODUCTION, ("profile", "device")),
    Page("ds_fig3_p_up", DS, paper="DS"),
    Page("ds_stall_ablation", DS, paper="DS"),
    Page("ds_fig4_5_accuracy", DS, paper="DS"),
    Page("ds_fig6_adaptive_p_up", DS, paper="DS"),
    Page("ds_fig7_selected_counts", DS, paper="DS"),
    Page("ds_fig8_min_adv", DS, paper="DS"),
    Page("ds_fig9_10_selection_methods", DS, paper="DS"),
    Page("ds_table1_time", DS, paper="DS"),
    Page("cat_fig1_similarity", CAT, paper="CAT"),
    Page("cat_tables_time_to_accuracy", CAT, ("profile", "device", "seeds", "cifar_seeds"), paper="CAT"),
    Page("cat_fig2_3_sampling_number", CAT, paper="CAT"),
    Page("new_ds_cat", BEYOND),
    Page("which_selection", BEYOND),
    Page("ledger", VERDICTS, (*RUNS, "cifar_seeds", "notebooks")),
)}


def parts() -> dict[str, list[Page]]:
    """The pages by part of the table of contents, in the book's order."""
    out: dict[str, list[Page]] = {}
    for p in PAGES.values():
        out.setdefault(p.part, []).append(p)
    return out


def toc_yaml() -> str:
    """The text of ``_toc.yml`` (Jupyter Book 1.x, sphinx-external-toc format): :data:`ROOT`, then one part
    per caption with its pages' executed notebooks in :data:`GENERATED`."""
    lines = ["# Table of contents of the advsel book (Jupyter Book 1.x, sphinx-external-toc format).",
             "# Written by `python scripts/notebooks.py toc` from the page registry advsel/repro/book.py: edit that,",
             "# not this file. book/generated/*.ipynb are produced by `python scripts/notebooks.py execute`",
             "# (not committed) from the jupytext sources notebooks/<name>.py, the usage page included.",
             "format: jb-book", f"root: {ROOT}", "parts:"]
    for caption, pages in parts().items():
        lines += [f"  - caption: {_yaml_text(caption)}", "    chapters:"]
        lines += [f"      - file: {GENERATED}/{p.name}" for p in pages]
    return "\n".join(lines) + "\n"


def _yaml_text(text: str) -> str:
    """``text`` as a YAML scalar: plain when it can be, else double-quoted (JSON's quoting is YAML's)."""
    return json.dumps(text) if any(ch in text for ch in ":#'\"[]{},&*!|>%@`") else text
