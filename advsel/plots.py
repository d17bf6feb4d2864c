"""Plot and table helpers for the book: long-form tables of run histories, seaborn line
plots, error bars against a swept parameter, and the cost table of DS Table I.

Curves show the mean over seeds with a band of one standard deviation, on the papers'
axes (epochs, or iterations / training seconds for CAT), accuracies in percent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd


def history(runs: Mapping[str, Sequence[dict[str, Any]]], metric: str, x: str = "epoch",
            source: str = "epochs") -> pd.DataFrame:
    """Long table (label, seed, x, metric) from ``runs`` = {label: [result per seed]}.

    ``source`` is ``epochs`` (one row per epoch) or ``evals`` (every evaluation,
    with ``step`` and ``train_time_s``).  Accuracies become percentages.
    """
    rows = []
    for label, rs in runs.items():
        for r in rs:
            for e in r[source]:
                if metric not in e:
                    continue
                value = e[metric] * 100 if metric.endswith("_acc") else e[metric]
                rows.append({"method": label, "seed": r["config"]["seed"], x: e[x], metric: value})
    return pd.DataFrame(rows)


def curves(ax: Any, runs: Mapping[str, Sequence[dict[str, Any]]], metric: str, x: str = "epoch",
           source: str = "epochs", ylabel: str | None = None, xlabel: str | None = None) -> pd.DataFrame:
    """Mean +- sd over seeds of ``metric`` against ``x``, one line per label; returns the data."""
    import seaborn as sns

    df = history(runs, metric, x, source)
    sns.lineplot(df, x=x, y=metric, hue="method", errorbar="sd", marker="o", markersize=4, ax=ax)
    ax.set_ylabel(ylabel or _label(metric))
    ax.set_xlabel(xlabel or _label(x))
    _integer_epochs(ax, x)
    ax.grid(alpha=0.3)
    return df


def accuracy_panels(runs: Mapping[str, Sequence[dict[str, Any]]], titles: tuple[str, str]) -> Any:
    """Clean (left) and robust (right) accuracy per epoch, one line per label; returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric, title in zip(axes, ("clean_acc", "robust_acc"), titles, strict=True):
        curves(ax, runs, metric)
        ax.set_title(title)
    fig.tight_layout()
    return fig


def final_table(runs: Mapping[str, Sequence[dict[str, Any]]], metrics: Sequence[str] = ("clean_acc", "robust_acc"),
                ) -> pd.DataFrame:
    """Final-epoch metrics per label: mean, sd and number of seeds (accuracies in percent)."""
    rows = []
    for label, rs in runs.items():
        for r in rs:
            last = r["epochs"][-1]
            rows.append({"method": label, "seed": r["config"]["seed"],
                         **{m: last[m] * (100 if m.endswith("_acc") else 1) for m in metrics}})
    df = pd.DataFrame(rows)
    return df.groupby("method", sort=False)[list(metrics)].agg(["mean", "std", "count"]).round(2)


def epoch_table(rs: Sequence[dict[str, Any]], metrics: Sequence[str]) -> pd.DataFrame:
    """Per-epoch mean over seeds of ``metrics`` of one run family (accuracies in percent)."""
    rows = [{"epoch": e["epoch"], **{m: _value(m, e[m]) for m in metrics if m in e}} for r in rs for e in r["epochs"]]
    return pd.DataFrame(rows).groupby("epoch").mean().round(3)


def sweep(ax: Any, runs: Mapping[float, Sequence[dict[str, Any]]], metric: str, label: str | None = None,
          xlabel: str = "P_up") -> pd.DataFrame:
    """Final-epoch ``metric`` against a swept parameter ``{x: [result per seed]}``.

    Mean over seeds with error bars of one standard deviation (none with one seed);
    returns the per-x summary (mean, std, count; accuracies in percent).
    """
    rows = [{"x": x, metric: _value(metric, r["epochs"][-1][metric])} for x, rs in runs.items() for r in rs]
    g = pd.DataFrame(rows).groupby("x")[metric].agg(["mean", "std", "count"])
    ax.errorbar(g.index, g["mean"], yerr=g["std"].fillna(0.0), marker="o", capsize=4, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(_label(metric))
    ax.set_xticks(list(g.index))
    ax.grid(alpha=0.3)
    return g.round(2)


def several(ax: Any, rs: Sequence[dict[str, Any]], metrics: Mapping[str, str], ylabel: str,
            x: str = "epoch") -> pd.DataFrame:
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


def eq9_without_floor(ax: Any, rs: Sequence[dict[str, Any]], driver: str, label: str) -> None:
    """Dashed line: DS eq. (9) iterated without a floor from P_up(0) = 1 on each run's recorded ``driver``.

    P_up(t) = (1 - acc(t-1)) * P_up(t-1), acc the per-epoch record ``driver`` (mean over seeds).
    """
    seqs = []
    for r in rs:
        p, seq = 1.0, []
        for e in r["epochs"]:
            seq.append(p)
            p *= 1.0 - e[driver]
        seqs.append(seq)
    mean = [sum(col) / len(col) for col in zip(*seqs, strict=True)]
    ax.plot([e["epoch"] for e in rs[0]["epochs"]], mean, ls="--", color="grey", label=label)


def cost_table(runs: Mapping[str, Sequence[dict[str, Any]]], reference: str,
               paper: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Total training cost per method (means over seeds), pre-training included (DS Table I).

    Columns: training time (attack + training passes, evaluation excluded), its sd and
    ratio to the ``reference`` label, the paper's time and ratio where ``paper`` gives
    one; the time spent in the attack; sample passes from :func:`advsel.reproduce.total_cost`
    (forward, backward) and their split (:func:`advsel.reproduce.cost_split`: attack
    forward / backward, training forward / backward); forward-pass equivalents F + 2B (a
    backward pass costing about two forward passes) and their ratio to the reference.
    """
    from .reproduce import cost_split, total_cost

    rows = []
    for label, rs in runs.items():
        tot = pd.DataFrame([total_cost(r) for r in rs])
        split = pd.DataFrame([cost_split(r) for r in rs])
        rows.append({"method": label, "time (s)": tot["train_time_s"].mean(),
                     "sd (s)": tot["train_time_s"].std() if len(rs) > 1 else 0.0,
                     "attack time (s)": split["time_attack_s"].mean(),
                     "forward passes": tot["forward_passes"].mean(), "backward passes": tot["backward_passes"].mean(),
                     "attack fwd": split["attack_forward"].mean(), "attack bwd": split["attack_backward"].mean(),
                     "training fwd": split["train_forward"].mean(), "training bwd": split["train_backward"].mean(),
                     "seeds": len(rs)})
    df = pd.DataFrame(rows).set_index("method")
    df.insert(2, "time ratio", df["time (s)"] / df.loc[reference, "time (s)"])
    if paper:
        df.insert(3, "paper time (s)", pd.Series(dict(paper), dtype=float))
        df.insert(4, "paper ratio", df["paper time (s)"] / paper[reference])
    df["F + 2B"] = df["forward passes"] + 2 * df["backward passes"]
    df["F + 2B ratio"] = df["F + 2B"] / df.loc[reference, "F + 2B"]
    return df


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


def _integer_epochs(ax: Any, x: str) -> None:
    """Whole-number ticks on an epoch axis."""
    if x == "epoch":
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _value(metric: str, v: float) -> float:
    return v * 100 if metric.endswith("_acc") else v


_LABELS = {"clean_acc": "standard (clean) accuracy (%)", "robust_acc": "robust accuracy (%)", "epoch": "epoch",
           "step": "iteration", "train_time_s": "training time (s)", "p_up": "P_up",
           "selected_clean": "selected clean samples per batch", "selected_adv": "selected adversarial per batch",
           "min_adv_selected": "selected minimum adversarial examples per batch",
           "min_adv_share": "share of probed selected adversarial samples", "min_eps_mean": "mean minimum eps",
           "train_acc": "training accuracy (%)"}


def _label(name: str) -> str:
    return _LABELS.get(name, name)
