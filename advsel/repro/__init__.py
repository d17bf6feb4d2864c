"""The book layer: the runs each page needs, the claims they test, their tables and figures.

Imported only by the notebooks, scripts and tests; the core (``advsel/*.py``) never
imports it, so training needs neither pandas nor matplotlib.  By concern:

- :mod:`~advsel.repro.scope` — :class:`Scope` (profile, dataset, device, seeds), created once
  per page, and run :class:`Family` values; :func:`book_families`.
- :mod:`~advsel.repro.paper` — the papers' printed numbers.
- :mod:`~advsel.repro.stats` — every number a verdict or a table uses.
- :mod:`~advsel.repro.claims` — the claims, their evaluators and verdicts.
- :mod:`~advsel.repro.tables` — pandas tables (formatting of :mod:`stats`' numbers).
- :mod:`~advsel.repro.figures` — plots.
- :mod:`~advsel.repro.readings` — the sentences a page generates from its numbers, beside the verdicts.
- :mod:`~advsel.repro.book` — the page registry: each page's name, part of the table of contents,
  parameters; the source of ``_toc.yml``.
- :mod:`~advsel.repro.pages` — parameters, summary box, provenance, rerun commands, page titles and links.
- :mod:`~advsel.repro.notebook` — a page as its notebook runs it: ``open_page``, ``show``, ``close``.
"""

from .scope import P_UP_SWEEP, SEEDS, Family, Scope, book_families

__all__ = ["P_UP_SWEEP", "SEEDS", "Family", "Scope", "book_families"]
