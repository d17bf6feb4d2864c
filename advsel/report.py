"""Tables and small plots for the CAT pages, the new-method page and the claims ledger.

Everything here reads cached results (``reproduce.results``) and returns pandas tables
(accuracies in percent) or draws on a matplotlib axis; the notebooks only call these.

- :func:`similarity_frame`, :func:`similarity_plot` — CAT Fig. 1.
- :func:`level_table`, :func:`speedup_table`, :func:`cat_table` — CAT Tables 1-2: time and
  passes to an accuracy level, AT vs CAT, the paper's numbers beside.
- :func:`time_to_level_table` — CAT Figs. 2-3: time to a level per sampling number.
- :func:`cost`, :func:`time_grid`, :func:`time_curves` — accuracy against training time
  (or sample passes), mean +- sd over seeds on a common grid.
- :func:`accuracy_at_time`, :func:`common_budget`, :func:`budget_table`, :func:`at_budget`,
  :func:`budget_verdict`, :func:`end_table` — accuracy reached within a training-time (or
  pass) budget: equal-cost comparisons.
- :func:`ledger_table`, :func:`html_table`, :func:`verdict_counts` — the claims ledger.
"""

from __future__ import annotations

import html
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .analysis import QUANTILES, time_to_accuracy

Result = dict[str, Any]
Runs = Mapping[str, Sequence[Result]]
QKEYS = tuple(f"q{int(q * 100)}" for q in QUANTILES)


# ---------------------------------------------------------------------------- CAT Fig. 1
def similarity_frame(runs: Runs, gap: str = "step") -> pd.DataFrame:
    """One row per (method, seed, epoch) of the similarity probe for ``gap`` (``step`` or ``epoch``).

    Columns: method, seed, epoch, cosine ``mean`` and quantiles ``q10`` ... ``q90``, and the
    attack success rate in percent at the earlier (``asr_before``) and later
    (``asr_after``) iteration.  Epochs without a measurement (``epoch``: the first one)
    have no row.
    """
    if gap not in ("step", "epoch"):
        raise ValueError(f"gap={gap!r} is not allowed; choose one of: step, epoch")
    rows = []
    for label, rs in runs.items():
        for r in rs:
            for e in r["epochs"]:
                m = e.get(f"similarity_{gap}")
                if m is None:
                    continue
                rows.append({"method": label, "seed": r["config"]["seed"], "epoch": e["epoch"], **m["cosine"],
                             "asr_before": 100 * m["asr_before"], "asr_after": 100 * m["asr_after"]})
    return pd.DataFrame(rows, columns=["method", "seed", "epoch", "mean", *QKEYS, "asr_before", "asr_after"])


def similarity_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per method and epoch, the seed-average of every column of :func:`similarity_frame`.

    Quantiles are averaged over seeds (each seed's quantile over its own probe), which
    is not the quantile of the pooled probes; with one probe per seed it is the
    typical band of a run.
    """
    return df.drop(columns="seed").groupby(["method", "epoch"], sort=False).mean()


def similarity_plot(ax_cos: Any, ax_asr: Any, df: pd.DataFrame, title: str) -> None:
    """Cosine mean with q10-q90 and q25-q75 bands per epoch (``ax_cos``), ASR at both iterations (``ax_asr``)."""
    summary = similarity_summary(df)
    for i, (label, g) in enumerate(summary.groupby(level="method", sort=False)):
        x = g.index.get_level_values("epoch")
        color = f"C{i}"
        ax_cos.fill_between(x, g["q10"], g["q90"], color=color, alpha=0.15, lw=0)
        ax_cos.fill_between(x, g["q25"], g["q75"], color=color, alpha=0.3, lw=0)
        ax_cos.plot(x, g["mean"], color=color, marker="o", ms=4, label=f"{label}: mean (bands q10-q90, q25-q75)")
        ax_cos.plot(x, g["q50"], color=color, ls=":", lw=1)
        ax_asr.plot(x, g["asr_before"], color=color, marker="o", ms=4, label=f"{label}: earlier iteration")
        ax_asr.plot(x, g["asr_after"], color=color, marker="s", ms=4, ls="--", label=f"{label}: later iteration")
    ax_cos.set(xlabel="epoch", ylabel="cosine similarity of predictions", title=title)
    ax_asr.set(xlabel="epoch", ylabel="attack success rate on the probe (%)", ylim=(-2, 102))
    for ax in (ax_cos, ax_asr):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)


# ---------------------------------------------------------------------------- CAT Tables 1-2
def level_table(runs: Runs, levels: Sequence[float], metric: str) -> pd.DataFrame:
    """Time and sample passes until each run first reaches each level of ``metric``.

    One row per level (in percent), per method: mean training time (s; attack and
    training passes, evaluation excluded) over the runs that reached the level, mean
    forward and backward sample passes at that point, and ``reached`` = "k/n" runs.
    Levels some run never reaches are still listed, with means over those that did (or
    NaN when none did).
    """
    rows = []
    for lv in levels:
        row: dict[str, Any] = {"level (%)": round(100 * lv, 1)}
        for label, rs in runs.items():
            hits = pd.DataFrame([h for r in rs if (h := time_to_accuracy(r, [lv], metric)[lv]) is not None],
                                columns=["time_s", "forward_passes", "backward_passes"])
            row |= {f"{label} time (s)": hits["time_s"].mean(), f"{label} fwd passes": hits["forward_passes"].mean(),
                    f"{label} bwd passes": hits["backward_passes"].mean(),
                    f"{label} reached": f"{len(hits)}/{len(rs)}"}
        rows.append(row)
    return pd.DataFrame(rows).set_index("level (%)")


def speedup_table(at: Sequence[Result], cat: Sequence[Result], levels: Sequence[float], metric: str,
                  paper: Mapping[float, tuple[float, float]] | None = None, paper_unit: str = "s") -> pd.DataFrame:
    """:func:`level_table` for AT and CAT with the speed-up AT/CAT and the paper's numbers beside.

    ``paper``: {level: (AT time, CAT time)} in ``paper_unit``, shown where a level matches.
    The speed-up is given only where every run of both methods reached the level.
    """
    df = level_table({"AT": at, "CAT": cat}, levels, metric)
    full = (df["AT reached"] == f"{len(at)}/{len(at)}") & (df["CAT reached"] == f"{len(cat)}/{len(cat)}")
    df.insert(2, "speed-up AT/CAT", (df["AT time (s)"] / df["CAT time (s)"]).where(full))
    if paper is not None:
        p = {round(100 * lv, 1): v for lv, v in paper.items()}
        df[f"paper AT ({paper_unit})"] = [p.get(lv, (math.nan, math.nan))[0] for lv in df.index]
        df[f"paper CAT ({paper_unit})"] = [p.get(lv, (math.nan, math.nan))[1] for lv in df.index]
        df["paper speed-up"] = df[f"paper AT ({paper_unit})"] / df[f"paper CAT ({paper_unit})"]
    cols = ["AT time (s)", "CAT time (s)", "speed-up AT/CAT", "AT reached", "CAT reached", "AT fwd passes",
            "CAT fwd passes", "AT bwd passes", "CAT bwd passes"]
    df = df[cols + [c for c in df.columns if c.startswith("paper")]]
    return df.round({c: (0 if "passes" in c else 2) for c in df.columns if c not in ("AT reached", "CAT reached")})


def cat_table(at: Sequence[Result], cat: Sequence[Result], dataset: str) -> pd.DataFrame:
    """CAT Table 1 (``mnist``) or 2 (``cifar10``) with ours beside: :func:`speedup_table` at the
    paper's levels and at the relative levels of ``reproduce.speedups``, clean and robust,
    indexed by (accuracy, levels, level (%))."""
    from . import reproduce

    unit = reproduce.CAT_PAPER_UNITS[dataset]
    parts = []
    for metric in ("clean_acc", "robust_acc"):
        paper = reproduce.CAT_PAPER_TABLES[dataset][metric]
        levels, _ = reproduce.speedups(at, cat, metric)
        for kind, lv in (("paper's", list(paper)), ("relative", levels)):
            t = speedup_table(at, cat, lv, metric, paper, unit)
            t.index = pd.MultiIndex.from_tuples([(metric.split("_")[0], kind, i) for i in t.index],
                                                names=["accuracy", "levels", "level (%)"])
            parts.append(t)
    return pd.concat(parts)


def time_to_level_table(runs: Mapping[Any, Sequence[Result]], level: float, metric: str = "robust_acc"
                        ) -> pd.DataFrame:
    """Per key of ``runs`` (e.g. a sampling number): mean training time (s), iterations, epochs
    and sample passes (forward + 2 x backward) until ``metric`` first reaches ``level``, over the
    runs that reached it, and ``reached`` = "k/n"."""
    rows = []
    for key, rs in runs.items():
        hits = [h for r in rs if (h := time_to_accuracy(r, [level], metric)[level]) is not None]
        t = pd.DataFrame([{"time (s)": h["time_s"], "iterations": h["step"], "epoch": h["epoch"],
                           "passes (F + 2B)": h["forward_passes"] + 2 * h["backward_passes"]} for h in hits],
                         columns=["time (s)", "iterations", "epoch", "passes (F + 2B)"])
        rows.append({"key": key, **t.mean().to_dict(), "reached": f"{len(hits)}/{len(rs)}"})
    return pd.DataFrame(rows).set_index("key").round({"time (s)": 2, "iterations": 0, "epoch": 2,
                                                      "passes (F + 2B)": 0})


# ---------------------------------------------------------------------------- time axes
COSTS = {"train_time_s": "training time (s)", "f2b": "sample passes, forward + 2 x backward", "step": "iteration"}


def cost(e: dict[str, Any], x: str = "train_time_s") -> float:
    """The cost of an evaluation record: ``train_time_s`` (seconds of attack + training, evaluation
    excluded), ``f2b`` (forward + 2 x backward sample passes, a backward pass costing about
    two forward passes; machine-independent and free of timing noise) or ``step`` (iterations)."""
    if x in ("train_time_s", "step"):
        return e[x]
    if x == "f2b":
        return e["forward_passes"] + 2 * e["backward_passes"]
    raise ValueError(f"x={x!r} is not allowed; choose one of: {', '.join(COSTS)}")


def time_grid(rs: Sequence[Result], metric: str, points: int = 60, x: str = "train_time_s") -> pd.DataFrame:
    """Each run's evaluations of ``metric`` interpolated linearly onto a common cost grid.

    The grid spans the earliest first to the latest last evaluation over ``rs``; a run
    contributes only inside its own span (no extrapolation), so ``n`` (the number of
    runs averaged) can vary along the grid.  Returns (``x``, mean, sd, n), accuracies in
    percent.
    """
    lo = min(cost(r["evals"][0], x) for r in rs)
    hi = max(cost(r["evals"][-1], x) for r in rs)
    grid = np.linspace(lo, hi, points) if hi > lo else np.array([hi])
    vals = np.full((len(rs), len(grid)), np.nan)
    for i, r in enumerate(rs):
        t = np.array([cost(e, x) for e in r["evals"]])
        v = np.array([100 * e[metric] for e in r["evals"]])
        inside = (grid >= t[0]) & (grid <= t[-1])
        vals[i, inside] = np.interp(grid[inside], t, v)
    table = pd.DataFrame(vals)  # pandas skips NaN: mean over the runs present, sd NaN below two
    return pd.DataFrame({x: grid, "mean": table.mean(axis=0).to_numpy(),
                         "sd": table.std(axis=0).fillna(0.0).to_numpy(), "n": table.count(axis=0).to_numpy()})


def time_curves(ax: Any, runs: Runs, metric: str, x: str = "train_time_s", points: int = 60,
                ylabel: str | None = None) -> None:
    """Mean +- sd over seeds of ``metric`` against training cost ``x`` (see :func:`cost`), one line per method.

    Each seed's own evaluations are dotted faintly; the mean of the seeds (on
    :func:`time_grid`) is drawn solid where every seed has data and thin dashed where
    only some have (a seed ends earlier or starts later than another).  With one seed the
    evaluations are joined directly.
    """
    for i, (label, rs) in enumerate(runs.items()):
        color = f"C{i}"
        if len(rs) == 1:
            ev = rs[0]["evals"]
            ax.plot([cost(e, x) for e in ev], [100 * e[metric] for e in ev], color=color, marker="o", ms=3,
                    label=label)
            continue
        for r in rs:
            ax.plot([cost(e, x) for e in r["evals"]], [100 * e[metric] for e in r["evals"]], color=color,
                    ls="none", marker=".", ms=3, alpha=0.35)
        g = time_grid(rs, metric, points, x)
        full = g["n"] == len(rs)
        ax.plot(g[x], g["mean"].where(g["n"] > 0), color=color, lw=0.8, ls="--")
        ax.plot(g[x], g["mean"].where(full), color=color, label=f"{label} (mean of {len(rs)} seeds)")
        ax.fill_between(g[x], (g["mean"] - g["sd"]).where(full), (g["mean"] + g["sd"]).where(full), color=color,
                        alpha=0.2, lw=0)
    ax.set(xlabel=COSTS[x], ylabel=ylabel or ("robust accuracy (%)" if metric == "robust_acc"
                                              else "standard (clean) accuracy (%)"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


# ---------------------------------------------------------------------------- equal time budgets
def accuracy_at_time(result: Result, budget: float, metric: str = "robust_acc", interpolate: bool = False,
                     x: str = "train_time_s") -> float:
    """``metric`` a run had reached within a budget of training cost ``x`` (default seconds, see :func:`cost`).

    ``interpolate=False``: the last evaluation at or before the budget (what one would
    have in hand when stopping there).  ``interpolate=True``: linear between the
    evaluations around the budget.  A budget beyond the end of the run gives the final
    evaluation (training is over); a budget before the first evaluation gives NaN.
    """
    if metric not in ("clean_acc", "robust_acc"):
        raise ValueError(f"metric={metric!r} is not allowed; choose one of: clean_acc, robust_acc")
    ev = result["evals"]
    if not ev:
        return math.nan
    t = [cost(e, x) for e in ev]
    if budget < t[0]:
        return math.nan
    if budget >= t[-1]:
        return ev[-1][metric]
    if interpolate:
        return float(np.interp(budget, t, [e[metric] for e in ev]))
    return next(e for e, te in zip(reversed(ev), reversed(t), strict=True) if te <= budget)[metric]


def common_budget(runs: Runs, x: str = "train_time_s") -> float:
    """The cost ``x`` at which the fastest-finishing method ended (mean over its seeds).

    Every method has trained at least that long on average, so accuracies within this
    budget compare methods on equal training cost.
    """
    return min(statistics.fmean(cost(r["evals"][-1], x) for r in rs) for rs in runs.values())


def budget_table(runs: Runs, budgets: Sequence[float], metrics: Sequence[str] = ("clean_acc", "robust_acc"),
                 interpolate: bool = False, x: str = "train_time_s") -> pd.DataFrame:
    """Accuracy (percent) within each budget of cost ``x`` per method: mean, sd, seeds (:func:`accuracy_at_time`)."""
    if x not in COSTS:
        raise ValueError(f"x={x!r} is not allowed; choose one of: {', '.join(COSTS)}")
    name = {"train_time_s": "budget (s)", "f2b": "budget (passes)", "step": "budget (iterations)"}[x]
    rows = []
    for b in budgets:
        for label, rs in runs.items():
            row: dict[str, Any] = {name: round(b, 1) if x == "train_time_s" else int(b), "method": label}
            for m in metrics:
                vals = [100 * accuracy_at_time(r, b, m, interpolate, x) for r in rs]
                vals = [v for v in vals if not math.isnan(v)]
                row[f"{m} mean"] = statistics.fmean(vals) if vals else math.nan
                row[f"{m} sd"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
            row["seeds"] = len(rs)
            rows.append(row)
    return pd.DataFrame(rows).set_index([name, "method"]).round(2)


def at_budget(runs: Runs, budget: float, metric: str = "robust_acc", interpolate: bool = False,
              x: str = "train_time_s") -> dict[str, list[float]]:
    """Per method, each run's ``metric`` (fraction) within ``budget`` (:func:`accuracy_at_time`; NaN dropped)."""
    out = {}
    for label, rs in runs.items():
        vals = [accuracy_at_time(r, budget, metric, interpolate, x) for r in rs]
        out[label] = [v for v in vals if not math.isnan(v)]
    return out


def budget_verdict(runs: Runs, budget: float, new: str, metric: str = "robust_acc", interpolate: bool = False,
                   x: str = "train_time_s") -> str:
    """A plain sentence: the methods ranked by ``metric`` within ``budget``, and ``new`` against each other
    method (difference of means with its Welch standard error; "beyond one standard error" or not)."""
    from .reproduce import difference

    everything = at_budget(runs, budget, metric, interpolate, x)
    vals = {k: v for k, v in everything.items() if v}
    missing = [k for k, v in everything.items() if not v]
    note = f" ({', '.join(missing)}: no evaluation yet within this budget)" if missing else ""
    if new not in vals:
        return f"{new} has no evaluation within this budget{note}."
    mean = {k: statistics.fmean(v) for k, v in vals.items()}
    ranked = sorted(mean, key=mean.get, reverse=True)
    unit = {"train_time_s": f"{budget:.1f} s of training", "f2b": f"{budget:,.0f} sample passes",
            "step": f"{budget:.0f} iterations"}[x]
    name = "robust" if metric == "robust_acc" else "clean"
    parts = []
    for other in (k for k in ranked if k != new):
        d, se = difference(vals[new], vals[other])
        word = "higher" if d > 0 else "lower"
        if min(len(vals[new]), len(vals[other])) < 2:
            sure = "a single run each, no error estimate"
        else:
            sure = f"{'beyond' if abs(d) > se else 'within'} one standard error, ±{100 * se:.1f}"
        parts.append(f"{100 * abs(d):.1f} points {word} than {other} ({sure})")
    return (f"Within {unit}, {name} accuracy ranks " + " > ".join(f"{k} {100 * mean[k]:.1f}%" for k in ranked)
            + f"; {new} is " + "; ".join(parts) + note + ".")


def end_table(runs: Runs) -> pd.DataFrame:
    """Per method at the end of training: final clean / robust accuracy (%), training time (s) and
    sample passes (forward + 2 x backward), means over seeds, with the time ratio to the first method."""
    rows = []
    for label, rs in runs.items():
        last = [r["evals"][-1] for r in rs]
        rows.append({"method": label, "clean_acc": 100 * statistics.fmean(e["clean_acc"] for e in last),
                     "robust_acc": 100 * statistics.fmean(e["robust_acc"] for e in last),
                     "training time (s)": statistics.fmean(e["train_time_s"] for e in last),
                     "passes (F + 2B)": statistics.fmean(cost(e, "f2b") for e in last), "seeds": len(rs)})
    df = pd.DataFrame(rows).set_index("method")
    df.insert(3, "time ratio", df["training time (s)"] / df["training time (s)"].iloc[0])
    return df.round({"clean_acc": 2, "robust_acc": 2, "training time (s)": 1, "time ratio": 3, "passes (F + 2B)": 0})


# ---------------------------------------------------------------------------- claims ledger
def page_link(page: str) -> str:
    """Where a page lives in the built book, relative to another generated page.

    Links inside cell *outputs* are not rewritten by Sphinx (only links in Markdown
    cells are resolved from ``page.ipynb`` to ``page.html``), so they must name the built
    HTML file; all generated pages sit in the same folder, book/generated/.
    """
    return f"{page}.html"


NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"  # the pages' sources in a checkout


def page_title(page: str, folder: str | Path = NOTEBOOKS) -> str:
    """The first ``# `` heading of a page's jupytext source ``folder/page.py`` (the page name if none)."""
    src = Path(folder) / f"{page}.py"
    if src.is_file():
        for line in src.read_text().splitlines():
            if line.startswith("# # "):
                return line[4:].strip()
    return page


def ledger_table(evaluated: Sequence[tuple[Any, Any]], link: Callable[[str], str] = page_link,
                 title: Callable[[str], str] = page_title) -> pd.DataFrame:
    """One row per claim: paper, paper item, claim, our figure (an HTML link), verdict, numbers.

    ``evaluated``: the output of ``reproduce.evaluate_claims``; ``link``/``title``: a page's
    address and link text.  Cells are HTML-escaped except the link, so the table is meant
    for :func:`html_table`.  An HTML table renders the same in Jupyter and in the built
    book, whatever Markdown flavour myst-nb uses for outputs (its default, CommonMark, has
    no pipe tables).
    """
    rows = []
    for claim, v in evaluated:
        a = f'<a href="{html.escape(link(claim.page))}">{html.escape(title(claim.page))}</a>'
        rows.append({"paper": html.escape(claim.paper), "paper item": html.escape(claim.item),
                     "claim": html.escape(claim.text), "our figure": a,
                     "verdict": f"<b>{html.escape(v.verdict)}</b>", "numbers": html.escape(v.summary)})
    return pd.DataFrame(rows, columns=["paper", "paper item", "claim", "our figure", "verdict", "numbers"])


def html_table(df: pd.DataFrame) -> str:
    """``df`` as an HTML table whose cells are inserted as they are (escape them beforehand)."""
    return df.to_html(index=False, escape=False, border=0, classes="dataframe ledger")


def verdict_counts(evaluated: Sequence[tuple[Any, Any]], kinds: Sequence[str]) -> pd.DataFrame:
    """Claims per verdict kind (every kind listed, zeros included), per paper and in total."""
    df = pd.DataFrame([{"paper": c.paper, "verdict": v.verdict} for c, v in evaluated])
    counts = pd.crosstab(df["verdict"], df["paper"]).reindex(index=list(kinds), columns=list(df["paper"].unique()),
                                                              fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts.loc["all claims"] = counts.sum()
    return counts
