"""The book's plots: curves over epochs, iterations or training cost, sweeps, bars, similarity bands.

Curves show the mean over seeds with a band of one standard deviation, on the papers'
axes (epochs, or iterations / training seconds for CAT), accuracies in percent.  Every
function draws on a matplotlib axis it is given; seaborn and matplotlib are imported
only when a function draws.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..runs import Result
from . import costs, stats, tables
from .stats import Runs

_LABELS = {"clean_acc": "standard (clean) accuracy (%)", "robust_acc": "robust accuracy (%)", "epoch": "epoch",
           "step": "iteration", "train_time_s": "training time (s)", "p_up": "P_up",
           "selected_clean": "selected clean samples per batch", "selected_adv": "selected adversarial per batch",
           "min_adv_selected": "selected minimum adversarial examples per batch",
           "min_adv_share": "share of probed selected adversarial samples", "min_eps_mean": "mean minimum eps",
           "train_acc": "training accuracy (%)"}


def _label(name: str) -> str:
    return _LABELS.get(name, name)


def _value(metric: str, v: float) -> float:
    return v * 100 if metric.endswith("_acc") else v


def _integer_epochs(ax: Any, x: str) -> None:
    """Whole-number ticks on an epoch axis."""
    if x == "epoch":
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


# ---------------------------------------------------------------------------- per epoch
def history(runs: Runs, metric: str, x: str = "epoch", source: str = "epochs") -> pd.DataFrame:
    """Long table (label, seed, x, metric) from ``runs`` = {label: [result per seed]}, for seaborn.

    ``source`` is ``epochs`` (one row per epoch) or ``evals`` (every evaluation,
    with ``step`` and ``train_time_s``).  Accuracies become percentages.
    """
    rows = [{"method": label, "seed": r["config"]["seed"], x: e[x], metric: _value(metric, e[metric])}
            for label, rs in runs.items() for r in rs for e in r[source] if metric in e]
    return pd.DataFrame(rows)


def curves(ax: Any, runs: Runs, metric: str, x: str = "epoch", source: str = "epochs", ylabel: str | None = None,
           xlabel: str | None = None) -> pd.DataFrame:
    """Mean +- sd over seeds of ``metric`` against ``x``, one line per label; returns the data."""
    import seaborn as sns

    df = history(runs, metric, x, source)
    sns.lineplot(df, x=x, y=metric, hue="method", errorbar="sd", marker="o", markersize=4, ax=ax)
    ax.set_ylabel(ylabel or _label(metric))
    ax.set_xlabel(xlabel or _label(x))
    _integer_epochs(ax, x)
    ax.grid(alpha=0.3)
    return df


def accuracy_panels(runs: Runs, titles: tuple[str, str]) -> Any:
    """Clean (left) and robust (right) accuracy per epoch, one line per label; returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric, title in zip(axes, ("clean_acc", "robust_acc"), titles, strict=True):
        curves(ax, runs, metric)
        ax.set_title(title)
    fig.tight_layout()
    return fig


def loss_panel(runs: Runs, title: str) -> Any:
    """The training loss per epoch, one line per label (mean and sd over seeds), ln C dashed; returns the figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    curves(ax, runs, "train_loss", ylabel="training loss (selected samples)")
    first = next(r for rs in runs.values() for r in rs)
    ln_c = math.log(stats.num_classes(first))
    ax.axhline(ln_c, color="grey", ls="--", lw=1)
    ax.annotate(f"ln {stats.num_classes(first)}", (1, ln_c), xycoords=ax.get_yaxis_transform(), xytext=(3, 0),
                textcoords="offset points", ha="left", va="center", fontsize=8, color="grey")  # beside the axes
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def several(ax: Any, rs: Sequence[Result], metrics: Mapping[str, str], ylabel: str, x: str = "epoch") -> pd.DataFrame:
    """Several per-epoch metrics of one run family, ``{legend label: metric}``, mean +- sd over seeds."""
    import seaborn as sns

    frames = [history({label: rs}, metric, x).rename(columns={metric: "value"}) for label, metric in metrics.items()]
    df = pd.concat(frames, ignore_index=True).rename(columns={"method": "quantity"})
    sns.lineplot(df, x=x, y="value", hue="quantity", errorbar="sd", marker="o", markersize=4, ax=ax)
    ax.set_ylabel(ylabel)
    ax.set_xlabel(_label(x))
    _integer_epochs(ax, x)
    ax.legend(title=None)
    ax.grid(alpha=0.3)
    return df


def sweep(ax: Any, runs: Mapping[float, Sequence[Result]], metric: str, label: str | None = None,
          xlabel: str = "P_up") -> pd.DataFrame:
    """Final-epoch ``metric`` against a swept parameter ``{x: [result per seed]}``.

    Mean over seeds with error bars of one standard deviation (none with one seed), the
    numbers of :func:`~advsel.repro.tables.final_table`; returns them (mean, std, count).
    """
    g = tables.final_table(runs, [metric])[metric]
    ax.errorbar(g.index, g["mean"], yerr=g["std"].fillna(0.0), marker="o", capsize=4, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(_label(metric))
    ax.set_xticks(list(g.index))
    ax.grid(alpha=0.3)
    return g


def points(ax: Any, runs: Mapping[float, Sequence[Result]], metric: str, label: str) -> pd.DataFrame:
    """Final-epoch ``metric`` at swept values ``{x: [result per seed]}`` as squares with error bars of one
    standard deviation, no line (extra points beside a :func:`sweep`); returns the numbers."""
    g = tables.final_table(runs, [metric])[metric]
    ax.errorbar(g.index, g["mean"], yerr=g["std"].fillna(0.0), marker="s", ls="none", capsize=4, label=label)
    return g


def eq9_without_floor(ax: Any, rs: Sequence[Result], driver: str, label: str) -> None:
    """Dashed line: DS eq. (9) iterated without a floor from P_up(0) = 1 on each run's recorded ``driver``.

    P_up(t) = (1 - acc(t-1)) * P_up(t-1), acc the per-epoch record ``driver`` (mean over seeds).
    """
    seqs = []
    for accs in stats.per_epoch(rs, driver):
        p, seq = 1.0, []
        for acc in accs:
            seq.append(p)
            p *= 1.0 - acc
        seqs.append(seq)
    mean = [sum(col) / len(col) for col in zip(*seqs, strict=True)]
    ax.plot([e["epoch"] for e in rs[0]["epochs"]], mean, ls="--", color="grey", label=label)


def driving_accuracy(ax: Any, driver_runs: Runs) -> None:
    """The accuracy that drives DS eq. (9) per epoch (mean over seeds), one line per driver; ``driver_runs``:
    {"DS eq. (9), <driver label>": runs}, the legend naming each record and driver label."""
    from matplotlib.ticker import MaxNLocator

    for i, (label, rs) in enumerate(driver_runs.items()):
        key = stats.adaptive_driver(rs[0]["config"])
        means = stats.epoch_means(rs, [key])
        ax.plot(list(means), [100 * m[key] for m in means.values()], marker="o", ms=4, color=f"C{i}",
                label=f"{key} ({label.split(',')[1].strip()})")
    ax.set(xlabel="epoch", ylabel="driving accuracy (%)", title="the accuracy that sets the next P_up")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def stacked_bars(ax: Any, table: pd.DataFrame, columns: Sequence[str], xlabel: str) -> None:
    """Horizontal bars, one per row of ``table``, stacked from ``columns`` (e.g. attack vs training)."""
    left = pd.Series(0.0, index=table.index)
    for col in columns:
        ax.barh(list(table.index), table[col], left=left, label=col)
        left = left + table[col]
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=len(columns))
    ax.grid(alpha=0.3, axis="x")


# ---------------------------------------------------------------------------- CAT Fig. 1
def similarity_plot(ax_cos: Any, ax_asr: Any, df: pd.DataFrame, title: str) -> None:
    """Cosine mean with q10-q90 and q25-q75 bands per epoch (``ax_cos``), ASR at both iterations (``ax_asr``).

    ``df``: :func:`~advsel.repro.tables.similarity_frame`.
    """
    summary = tables.similarity_summary(df)
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


def similarity_baseline(ax: Any, base: pd.DataFrame) -> None:
    """The same-class baseline (seed-averaged mean, q25-q75 band; ``base``:
    :func:`~advsel.repro.tables.similarity_baseline_frame`) on a cosine axis, when there is one."""
    g = tables.per_epoch_means(base)
    if g["same class"].notna().any():
        ax.fill_between(g.index, g["base_q25"], g["base_q75"], color="grey", alpha=0.2, lw=0, zorder=0)
        ax.plot(g.index, g["same class"], color="grey", ls="--", marker="x", ms=4,
                label="baseline: different samples of the same class (mean, band q25-q75)")
        ax.legend(fontsize=8)


def nothing_to_show(axes: Sequence[Any], text: str) -> None:
    """Each axis blank but for ``text`` (why there is no measurement)."""
    for ax in axes:
        ax.text(0.5, 0.5, text, ha="center", transform=ax.transAxes)
        ax.set_axis_off()


def similarity_panels(df: pd.DataFrame, base: pd.DataFrame, title: str, empty: str) -> Any:
    """CAT Fig. 1 for one neighbourhood: :func:`similarity_plot` with the same-class baseline, or ``empty``
    when ``df`` has no measurement; returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    if len(df):
        similarity_plot(axes[0], axes[1], df, title)
        similarity_baseline(axes[0], base)
    else:
        nothing_to_show(axes, empty)
    fig.tight_layout()
    return fig


def gain_rank_panels(gains: pd.DataFrame) -> Any:
    """The Spearman correlation of eq. (3) gains between consecutive draws per epoch (mean over seeds and each
    seed), and the mean gap between the draws against the iterations of an epoch (``gains``:
    :func:`~advsel.repro.tables.gain_rank_frame`); returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    if not gains["spearman"].notna().any():
        nothing_to_show(axes, "no sample drawn twice with a gain on both draws")
        fig.tight_layout()
        return fig
    g = tables.per_epoch_means(gains)
    axes[0].plot(g.index, g["spearman"], color="C0", marker="o", ms=4, label="mean over seeds")
    axes[0].plot(gains["epoch"], gains["spearman"], color="C0", ls="none", marker=".", alpha=0.4, label="each seed")
    axes[0].axhline(0, color="grey", lw=0.8)
    axes[0].set(xlabel="epoch", ylabel="Spearman correlation of the gains", ylim=(-1.05, 1.05),
                title="eq. (3) gain, earlier draw vs later draw")
    axes[1].plot(g.index, g["gap (iterations)"], color="C1", marker="o", ms=4, label="mean gap between draws")
    axes[1].plot(g.index, g["iterations per epoch"], color="grey", ls="--", label="iterations per epoch")
    axes[1].set(xlabel="epoch", ylabel="iterations", title="how stale the earlier gain is")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------- against training cost
def time_grid(rs: Sequence[Result], metric: str, points: int = 60, x: str = "train_time_s") -> pd.DataFrame:
    """Each run's evaluations of ``metric`` interpolated linearly onto a common cost grid.

    The grid spans the earliest first to the latest last evaluation over ``rs``; a run
    contributes only inside its own span (no extrapolation), so ``n`` (the number of
    runs averaged) can vary along the grid.  Returns (``x``, mean, sd, n), accuracies in
    percent.
    """
    cost = costs.cost
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
    """Mean +- sd over seeds of ``metric`` against training cost ``x`` (see :func:`~advsel.repro.stats.cost`),
    one line per method.

    Each seed's own evaluations are dotted faintly; the mean of the seeds (on
    :func:`time_grid`) is drawn solid where every seed has data and thin dashed where
    only some have (a seed ends earlier or starts later than another).  With one seed the
    evaluations are joined directly.
    """
    cost = costs.cost
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
    ax.set(xlabel=costs.COSTS[x], ylabel=ylabel or ("robust accuracy (%)" if metric == "robust_acc"
                                                    else "standard (clean) accuracy (%)"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def sampling_panels(by_method: Mapping[str, Runs], x: str, log: bool = False) -> Any:
    """CAT Figs. 2-3: clean (top) and robust (bottom) accuracy against ``x`` (:func:`time_curves`), one column
    per method of ``by_method`` = {method: {N: runs}}, one line per sampling number N; returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8), sharey="row")
    for row, metric in enumerate(("clean_acc", "robust_acc")):
        for col, (label, fam) in enumerate(by_method.items()):
            ax = axes[row, col]
            time_curves(ax, {f"N = {n}": rs for n, rs in fam.items()}, metric, x=x)
            if log:
                ax.set_xscale("log")
            ax.set_title(f"{label}: {'standard' if metric == 'clean_acc' else 'robust'} accuracy")
    fig.tight_layout()
    return fig


def level_bars_by_method(table: pd.DataFrame, numbers: Sequence[int], title: str) -> Any:
    """Training time (left) and sample passes (right) to a level per sampling number, one bar per method side by
    side, labelled with how many runs reached it (``table``:
    :func:`~advsel.repro.tables.time_to_level_by_method`); returns the figure."""
    import matplotlib.pyplot as plt

    methods = list(dict.fromkeys(table.index.get_level_values("method")))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    x = np.arange(len(numbers))
    width = 0.8 / len(methods)
    for ax, col in zip(axes, ("time (s)", "passes (F + 2B)"), strict=True):
        for i, label in enumerate(methods):
            sub = table.loc[label]
            bars = ax.bar(x + (i - (len(methods) - 1) / 2) * width, sub[col].fillna(0).to_numpy(), width,
                          color=f"C{i}", label=label)
            ax.bar_label(bars, labels=list(sub["reached"]), fontsize=8)
        ax.set_xticks(x, [str(n) for n in numbers])
        ax.set(xlabel="sampling number N (PGD-AT: batch size)", ylabel=col, title=title)
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def cost_curves(runs: Runs) -> Any:
    """Clean (left) and robust (right) accuracy against training time (top) and sample passes F + 2B (bottom),
    one line per method (:func:`time_curves`); returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for row, x in enumerate(("train_time_s", "f2b")):
        for col, metric in enumerate(("clean_acc", "robust_acc")):
            time_curves(axes[row, col], runs, metric, x=x)
            axes[row, col].set_title(f"{metric.split('_')[0]} accuracy")
    fig.tight_layout()
    return fig


def level_bars(table: pd.DataFrame, title: str) -> Any:
    """Training time (left) and sample passes (right) to a level, one bar per method, labelled with how many
    runs reached it (``table``: :func:`~advsel.repro.tables.time_to_level_table`); returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for ax, col in zip(axes, ("time (s)", "passes (F + 2B)"), strict=True):
        bars = ax.bar(list(table.index), table[col].fillna(0), color=[f"C{i}" for i in range(len(table))])
        ax.bar_label(bars, labels=list(table["reached"]), fontsize=8)
        ax.set(ylabel=col, title=title)
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def cost_curves_by_dataset(runs: Mapping[str, Runs], titles: Mapping[str, str], x: str = "train_time_s") -> Any:
    """Clean (left) and robust (right) accuracy against training cost ``x``, one row per dataset of ``runs`` =
    {dataset: {method: runs}}, titled by ``titles`` = {dataset: name}; returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(runs), 2, figsize=(11, 4 * len(runs)), squeeze=False)
    for row, (ds, r) in enumerate(runs.items()):
        for col, metric in enumerate(("clean_acc", "robust_acc")):
            time_curves(axes[row, col], r, metric, x=x)
            axes[row, col].set_title(f"{titles[ds]}: {metric.split('_')[0]} accuracy")
    fig.tight_layout()
    return fig
