"""The claims ledger and the final numbers as flat tables, for CSV files a reader can cite or compare with.

- :func:`ledger_rows` — one row per sub-claim of :func:`~advsel.repro.claims.evaluate_claims`:
  the claim, its page, the verdict, the headline and the deciding numbers (estimate and
  interval as the headline reads them, degrees of freedom, runs per side).
- :func:`final_numbers` — one row per run family of :func:`~advsel.repro.scope.book_families`:
  its seeds, the mean and sd over seeds of the final clean, PGD and AutoAttack accuracies, and
  the evaluation they come from.
- :func:`csv_text` — either table as CSV text (header, ``\\n`` line ends, empty cells for
  missing values), the same bytes for the same results.

``scripts/export_results.py`` writes them to ``results/ledger.csv`` and
``results/final_numbers.csv`` from the committed runs.  Every number comes from the claims'
verdicts and from :mod:`~advsel.repro.stats`; nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from ..runs import Result
from . import inference, stats
from .scope import Family, Scope
from .verdicts import Claim, Verdict

DIGITS = 4  # decimals of estimates, interval ends and accuracies (percent) in the files
LEDGER_COLUMNS = ("claim_id", "paper", "item", "claim", "page", "page_title", "verdict", "headline", "estimate",
                  "interval_low", "interval_high", "reads_as", "interval", "df", "side_a", "n_a", "side_b", "n_b",
                  "seeds_needed", "holm_rows", "p_claimed", "p_opposite")
METRICS = ("clean_acc", "robust_acc", "autoattack_acc")
FINAL_COLUMNS = ("dataset", "family", "method", "seeds", "collapsed_seeds", "status",
                 *(f"{m}_{s}_pct" for m in METRICS[:2] for s in ("mean", "sd")), "n_test", "attack", "source",
                 "autoattack_acc_mean_pct", "autoattack_acc_sd_pct", "autoattack_seeds", "autoattack_n")
INTEGERS = ("n_a", "n_b", "seeds_needed", "n_test", "autoattack_n", "holm_rows")


def ledger_row(claim: Claim, v: Verdict, title: Callable[[str], str] = str) -> dict[str, Any]:
    """One sub-claim as a flat record: the interval's numbers are empty when the verdict has none
    (not testable, not run, an implementation check); ``holm_rows``, ``p_claimed`` and ``p_opposite``: the rows
    of its figure Holm's procedure ran over and the row's one-sided p-values for the claimed and the opposite
    side (:func:`~advsel.repro.verdicts.holm_over_figures`)."""
    row: dict[str, Any] = {"claim_id": claim.id, "paper": claim.paper, "item": claim.item, "claim": claim.text,
                           "page": claim.page, "page_title": title(claim.page), "verdict": v.label,
                           "headline": v.headline or v.summary}
    iv, scale = v.numbers.get("interval"), v.numbers.get("scale")
    if iv is None or scale is None:
        return row
    sides = v.numbers["sides"]
    row |= {"estimate": round(scale.reading(iv.estimate), DIGITS), "interval_low": round(scale.reading(iv.lo), DIGITS),
            "interval_high": round(scale.reading(iv.hi), DIGITS), "reads_as": scale.reads_as,
            "interval": f"{iv.method} {iv.level:.0%}", "df": round(iv.df, 2),
            "side_a": sides[0], "n_a": iv.n[0], "seeds_needed": v.numbers.get("seeds_needed")}
    if len(sides) > 1:
        row |= {"side_b": sides[1], "n_b": iv.n[1]}
    holm = v.numbers.get("holm")
    if holm:  # the one-sided p-values Holm's procedure read over the rows of the claim's figure
        row |= {"holm_rows": holm["claimed"]["rows"], "p_claimed": float(f"{holm['claimed']['p']:.4g}"),
                "p_opposite": float(f"{holm['opposite']['p']:.4g}")}
    return row


def ledger_rows(evaluated: Sequence[tuple[Claim, Verdict]], title: Callable[[str], str] = str) -> pd.DataFrame:
    """The claims ledger, one row per sub-claim in the ledger's order (columns :data:`LEDGER_COLUMNS`).

    ``evaluated``: :func:`~advsel.repro.claims.evaluate_claims`'s output; ``title``: a page's
    title (:func:`~advsel.repro.pages.titles`; default the page name).  ``estimate`` and the
    interval ends read as ``reads_as`` says: accuracy points, a ratio of geometric means, or the
    measured value (see the claim); ``side_a`` minus (or over) ``side_b``.
    """
    return _frame([ledger_row(c, v, title) for c, v in evaluated], LEDGER_COLUMNS)


def _pct(xs: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and sd (None with one value) of accuracies, in percent."""
    if not xs:
        return None, None
    m, s = inference.mean_sd(xs)
    return round(100 * m, DIGITS), round(100 * s, DIGITS) if len(xs) > 1 else None


def _one(values: Sequence[Any], what: str, family: Family) -> Any:
    """The value every run of a family shares (a mixed family would make its mean meaningless)."""
    distinct = list(dict.fromkeys(values))
    if len(distinct) != 1:
        raise ValueError(f"run family {family.name}: its runs differ in {what} ({distinct}); one row needs one")
    return distinct[0]


def final_row(scope: Scope, family: Family) -> dict[str, Any]:
    """One run family's final accuracies (mean and sd over its seeds, in percent) and their evaluation."""
    rs = scope.results(family)
    if not rs:
        raise ValueError(f"run family {family.name} on {scope.dataset} has no runs")
    seeds = [r["config"]["seed"] for r in rs]
    ev = [stats.evaluation(r, "robust_acc") for r in rs]
    row: dict[str, Any] = {"dataset": scope.dataset, "family": family.name,
                           "method": _one([r["config"]["method"] for r in rs], "method", family),
                           "seeds": " ".join(map(str, seeds)),
                           "collapsed_seeds": " ".join(map(str, stats.collapsed_seeds(rs))),
                           "status": _status(rs),
                           "n_test": _one([e["n"] for e in ev], "test samples", family),
                           "attack": _one([stats.attack_label(e["attack"]) for e in ev], "attack", family),
                           "source": _one([e["source"] for e in ev], "evaluation", family)}
    for m in METRICS[:2]:
        row[f"{m}_mean_pct"], row[f"{m}_sd_pct"] = _pct(stats.final(rs, m))
    aa = [r for r in rs if stats.has_autoattack([r])]
    if aa:
        row["autoattack_acc_mean_pct"], row["autoattack_acc_sd_pct"] = _pct(stats.final(aa, "autoattack_acc"))
        row["autoattack_seeds"] = " ".join(str(r["config"]["seed"]) for r in aa)
        row["autoattack_n"] = _one([stats.evaluation(r, "autoattack_acc")["n"] for r in aa], "AutoAttack samples",
                                   family)
    return row


def _status(rs: Sequence[Result]) -> str:
    """Whether a family's numbers are results: its collapsed seeds (at chance, :func:`stats.collapsed`) are
    not, and no verdict reads them."""
    dead = stats.collapsed_seeds(rs)
    if not dead:
        return "trained"
    if len(dead) == len(rs):
        return "every seed collapsed (at chance): not a result"
    return f"{len(dead)} of {len(rs)} seeds collapsed (at chance)"


def final_numbers(families: Sequence[tuple[Scope, Family]]) -> pd.DataFrame:
    """The final accuracies of every run family (columns :data:`FINAL_COLUMNS`), e.g. of
    :func:`~advsel.repro.scope.book_families`: all runs of a family count, collapsed ones too
    (named in ``collapsed_seeds``, with a ``status`` saying they are not results), as on the pages' final tables."""
    return _frame([final_row(scope, f) for scope, f in families], FINAL_COLUMNS)


def _frame(rows: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(columns))
    return df.astype({c: "Int64" for c in INTEGERS if c in df.columns})


def csv_text(df: pd.DataFrame) -> str:
    """``df`` as CSV: a header row, ``\\n`` line ends, missing values as empty cells."""
    return df.to_csv(index=False, lineterminator="\n", na_rep="")
