"""A page as its notebook runs it: one call opens it, one closes it, and :func:`show` in between.

A page reads: its parameters cell, :func:`open_page` (the parameters checked against the
page registry, the :class:`~advsel.repro.scope.Scope` made from them, the page's claims
evaluated), the runs it names, its explanation, tables and figures, its verdicts
(:meth:`OpenPage.show_verdicts`) and :meth:`OpenPage.close` (the rerun box).  The words and
numbers come from :mod:`~advsel.repro.pages`, :mod:`~advsel.repro.tables`,
:mod:`~advsel.repro.figures` and :mod:`~advsel.repro.readings`; this module only puts them on
the page, so those stay free of IPython.  The sections that several pages show alike (the
per-epoch attack, AutoAttack beside PGD) are functions here too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from IPython.display import Markdown, display

from ..config import config_from_dict
from ..runs import Result
from . import book, claims, pages, stats, tables, track, verdicts
from .scope import BOOK_SEEDS, Scope, gpu_track

Evaluated = list[tuple[verdicts.Claim, verdicts.Verdict]]
SCOPE_FIELDS = tuple(f.name for f in dataclasses.fields(Scope) if f.init and f.name != "loader")


def show(*items: Any) -> None:
    """Display each item on the page, in order: text as Markdown, anything else (a table) as IPython shows it."""
    for item in items:
        display(Markdown(item) if isinstance(item, str) else item)


@dataclass(frozen=True)
class OpenPage:
    """A page being shown: its registered ``name``, its checked ``params``, the ``scope`` of its runs, the
    ``scopes`` by dataset (a page with seeds per dataset has one more) and its ``evaluated`` claims."""

    name: str
    params: dict[str, Any]
    scope: Scope
    scopes: dict[str, Scope]
    evaluated: Evaluated

    def scope_for(self, dataset: str) -> Scope:
        """The scope of ``dataset``'s runs: the page's own or a seeds parameter's (``cifar_seeds``), else the
        book's seeds of that dataset (:data:`~advsel.repro.scope.BOOK_SEEDS`), never another dataset's seeds."""
        return self.scopes.get(dataset) or self.scope.replace(dataset=dataset, seeds=BOOK_SEEDS[dataset])

    @property
    def smoke(self) -> bool:
        """Whether the page runs at the smoke profile (its verdicts and readings are no findings)."""
        return self.scope.profile == "smoke"

    def summary(self, runs: Mapping[str, Sequence[Result]], notes: Sequence[str] = ()) -> None:
        """Show the box the page opens with (:func:`~advsel.repro.pages.summary_box`), the deviations computed
        against the page's paper in the registry."""
        show(pages.summary_box(self.evaluated, runs, book.PAGES[self.name].paper, notes))
        if "cifar10" in self.scopes:
            show(*gpu_track_items(self.scopes["cifar10"], runs))

    def gpu_column(self, evaluated: Evaluated) -> list[Any]:
        """The ledger's GPU-track column for the ``evaluated`` claims (:func:`~advsel.repro.track.ledger_column`)."""
        return track.ledger_column([c for c, _ in evaluated])

    def lead(self, word: str) -> str:
        """A bold lead-in for a generated paragraph, ``**Result.** ``, marked as a smoke run at that profile."""
        return f"**{word} ({verdicts.SMOKE}).** " if self.smoke else f"**{word}.** "

    def show_verdicts(self, runs: Sequence[Result] | None = None) -> None:
        """Show the verdict of each claim of the page, then, given the ``runs`` behind them, where their numbers
        come from (:func:`~advsel.repro.pages.numbers_from`)."""
        show(pages.verdicts_markdown(self.evaluated) if self.evaluated
             else "*No claim is registered for this page yet.*")
        if runs is not None:
            show(pages.numbers_from(runs))

    def close(self) -> None:
        """Show the rerun box: the page's parameters and the papermill commands that rerun it."""
        show(pages.rerun_commands(self.name, self.params))


def open_page(name: str, **values: Any) -> OpenPage:
    """Open the registered page ``name`` with its papermill parameters ``values``: checked
    (:func:`~advsel.repro.pages.check_parameters`, a clear error for a wrong one), the scope made from them
    (a seeds parameter of one dataset, ``cifar_seeds``, gives that dataset a scope of its own) and the
    page's claims evaluated on them.  Shows nothing: the page shows its summary once it has named its runs."""
    params = pages.check_parameters(name, **values)
    scope = Scope(**{k: v for k, v in params.items() if k in SCOPE_FIELDS})
    scopes = {scope.dataset: scope}
    for k, v in params.items():
        if (dataset := pages.PARAMETERS[k].dataset) is not None:
            scopes[dataset] = scope.replace(dataset=dataset, seeds=v)
    seeds_for = {ds: s.seeds for ds, s in scopes.items()} if len(scopes) > 1 else None
    return OpenPage(name, params, scope, scopes, claims.evaluate_claims(scope, name, seeds_for))


def epoch_attack(r: Result) -> str:
    """The attack of a run's evaluation after every epoch (a cheaper PGD than the final one), e.g. ``PGD-10
    (eps 0.0314, alpha 0.00784, 1 restart)``."""
    c = config_from_dict(r["config"])
    return stats.attack_label({"name": "pgd", "eps": c.effective_eval_eps, "alpha": c.effective_eval_alpha,
                               "steps": c.eval_steps, "restarts": c.eval_restarts})


def show_autoattack(runs: Mapping[str, Sequence[Result]]) -> None:
    """Show which AutoAttack evaluation the runs carry (:func:`~advsel.repro.pages.autoattack_note`) and, when
    some have one, their final table with AutoAttack beside PGD."""
    show(pages.autoattack_note(runs))
    if aa_runs := pages.autoattack_runs(runs):
        show(tables.final_table(aa_runs, ["clean_acc", "robust_acc", "autoattack_acc"]))


def gpu_track_items(page_scope: Scope, runs: Mapping[str, Sequence[Result]]) -> list[Any]:
    """What a CIFAR-10 page shows of the GPU track, under its summary box: the track's line (its setting, ``k of n
    runs done``, the command that computes it) and, once the track has runs of the page's families, their final
    table beside the page's own (CPU-track) numbers."""
    gpu = gpu_track()
    items: list[Any] = [track.status_line(gpu)]
    if found := track.page_results(runs, page_scope, gpu):
        rs = [r for group in found.values() for r in group]
        items += [f"The GPU track's runs of this page's families ({stats.evaluation_label(rs, 'robust_acc')}); the "
                  "tables, figures and verdicts below are the CPU track's:", tables.final_table(found)]
    return items
