"""Readings: the sentences a page generates from its numbers, beside the verdicts.

A verdict (:mod:`~advsel.repro.claims`) decides a claim; a reading says what the numbers
around it show (a run that collapsed, a baseline the similarity stands above, which
sampling numbers are faster, which method to use) without deciding anything, so pages do not
type their conclusions.  Every number comes from :mod:`~advsel.repro.stats` or from a table
of :mod:`~advsel.repro.tables`; the sentences are plain Markdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import stats

Result = dict[str, Any]


# ---------------------------------------------------------------------------- one run
def run_state(r: Result) -> str:
    """Whether a run collapsed, sat on a plateau at chance (and in which epochs) or did not collapse, with its
    final clean and robust accuracy: ``seed 0 collapsed (final clean 10.0%, robust 10.0%)``."""
    at = stats.chance_epochs(r)
    word = ("collapsed" if stats.collapsed(r) else
            f"on a plateau at chance in epochs {', '.join(map(str, at))}" if len(at) >= stats.PLATEAU_EPOCHS
            else "did not collapse")
    return (f"seed {r['config']['seed']} {word} (final clean {100 * stats.final_value(r, 'clean_acc'):.1f}%, "
            f"robust {100 * stats.final_value(r, 'robust_acc'):.1f}%)")


def run_growth(r: Result, key: str) -> str:
    """A run's growth of the per-epoch record ``key`` from the first to the last third of its epochs
    (:func:`~advsel.repro.stats.thirds_growth`), collapsed runs marked: ``seed 1 (collapsed) -0.25``."""
    g = stats.thirds_growth([r], key)
    tag = " (collapsed)" if stats.collapsed(r) else ""
    return f"seed {r['config']['seed']}{tag} " + (f"{g[0]:+.4g}" if g else "no value in a third")


# ---------------------------------------------------------------------------- the ledger
def rows_per_paper(evaluated: Sequence[tuple[Any, Any]]) -> str:
    """How many of the evaluated claims come from each paper, ours named as such: ``27 from DS, 4 of our own``."""
    counts: dict[str, int] = {}
    for c, _ in evaluated:
        counts[c.paper] = counts.get(c.paper, 0) + 1
    return ", ".join(f"{n} {'of our own' if p == 'ours' else f'from {p}'}" for p, n in counts.items())
