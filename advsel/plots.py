"""Plot helpers for the book: long-form tables of run histories and seaborn line plots.

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
    ax.grid(alpha=0.3)
    return df


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


_LABELS = {"clean_acc": "standard (clean) accuracy (%)", "robust_acc": "robust accuracy (%)", "epoch": "epoch",
           "step": "iteration", "train_time_s": "training time (s)", "p_up": "P_up",
           "selected_clean": "selected clean samples per batch", "selected_adv": "selected adversarial per batch",
           "min_adv_selected": "selected minimum adversarial examples per batch"}


def _label(name: str) -> str:
    return _LABELS.get(name, name)
