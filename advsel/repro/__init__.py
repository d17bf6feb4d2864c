"""The book layer: the runs each page needs, the claims they test, their tables and figures.

Imported only by the notebooks, scripts and tests; the core (``advsel/*.py``) never
imports it, so training needs neither pandas nor matplotlib.  By concern:

- :mod:`~advsel.repro.scope` — :class:`Scope` (profile, dataset, device, seeds), created once
  per page, and run :class:`Family` values; :func:`book_families`.
- :mod:`~advsel.repro.paper` — the papers' printed numbers.
- :mod:`~advsel.repro.stats` — what a run's result says: final accuracies, per-epoch series,
  collapse, convergence (and :data:`~advsel.repro.stats.Result`).
- :mod:`~advsel.repro.costs` — training time and sample passes, pre-training included.
- :mod:`~advsel.repro.speedup` — time to an accuracy level, CAT's speed-ups.
- :mod:`~advsel.repro.equal_cost` — accuracy at equal training cost, and its sentence.
- :mod:`~advsel.repro.inference` — t intervals, their classification, seeds needed.
- :mod:`~advsel.repro.verdicts` — the comparison behind a claim and its verdict in words.
- :mod:`~advsel.repro.claims` — the claims table and its evaluators.
- :mod:`~advsel.repro.tables` — pandas tables (formatting of the numbers above).
- :mod:`~advsel.repro.export` — the ledger and the final numbers as flat tables (``results/*.csv``).
- :mod:`~advsel.repro.figures` — plots.
- :mod:`~advsel.repro.readings` — the sentences a page generates from its numbers, beside the verdicts.
- :mod:`~advsel.repro.book` — the page registry: each page's name, part of the table of contents,
  parameters; the source of ``_toc.yml``.
- :mod:`~advsel.repro.pages` — parameters, summary box, provenance, rerun commands, page titles and links.
- :mod:`~advsel.repro.notebook` — a page as its notebook runs it: ``open_page``, ``show``, ``close``.
"""

from .scope import BOOK_SEEDS, MNIST_SEEDS, P_UP_SWEEP, SEEDS, Family, Scope, book_families

__all__ = ["BOOK_SEEDS", "MNIST_SEEDS", "P_UP_SWEEP", "SEEDS", "Family", "Scope", "book_families"]
