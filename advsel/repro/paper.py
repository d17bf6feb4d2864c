"""The papers' printed numbers that the book compares against.

Only numbers the papers print go here (tables, times); the thresholds this book uses to
call a claim reproduced live with the claims (:mod:`advsel.repro.claims`).
"""

from __future__ import annotations

import statistics

# CAT Tables 1-2 as printed: {dataset: {metric: {level: (AT time, CAT time)}}}; units in CAT_PAPER_UNITS
CAT_PAPER_TABLES: dict[str, dict[str, dict[float, tuple[float, float]]]] = {
    "mnist": {"clean_acc": {0.80: (166.4, 141.9), 0.85: (192.0, 167.7), 0.90: (243.2, 219.3), 0.95: (396.8, 296.7)},
              "robust_acc": {0.60: (179.2, 167.7), 0.70: (230.4, 219.3), 0.80: (371.2, 335.5),
                             0.90: (1075.2, 941.8)}},
    "cifar10": {"clean_acc": {0.65: (1.33, 0.57), 0.70: (3.51, 0.76), 0.75: (7.31, 1.52), 0.80: (11.87, 4.66)},
                "robust_acc": {0.50: (0.85, 0.67), 0.55: (2.09, 1.33), 0.60: (7.50, 2.37)}},
}
CAT_PAPER_UNITS = {"mnist": "s", "cifar10": "h"}

# The papers' settings, by our config's names (the summary box lists where a page departs from them).
# DS: ResNet-18 on CIFAR-10, 200 epochs, b' = 256 clean samples per step, PGD-20 (eps 8/255, alpha 0.01) for
# training and evaluation.  CAT: ResNet-18, batch 128, evaluation by PGD-20 with 10 restarts, MNIST and CIFAR-10.
SETTINGS: dict[str, dict[str, object]] = {
    "DS": {"dataset": "cifar10", "model": "resnet18", "epochs": 200, "batch_size": 256, "steps": 20,
           "eps": 8 / 255, "alpha": 0.01, "eval_steps": 20},
    "CAT": {"dataset": ("mnist", "cifar10"), "model": "resnet18", "batch_size": 128, "eval_steps": 20,
            "eval_restarts": 10},
}

# DS Table I: total training time (s) on CIFAR-10, keyed by our name of the method
DS_TABLE1_S: dict[str, float] = {"dong": 39970.71, "p_up=1": 20200.33, "p_up=0.5": 19770.51, "adaptive": 20161.29}


def paper_speedups(dataset: str, metric: str | None = None) -> list[float]:
    """The AT/CAT time ratios of every level of CAT's table for ``dataset`` (of one ``metric``'s rows if given)."""
    tables = CAT_PAPER_TABLES[dataset]
    return [a / c for m, rows in tables.items() if metric in (None, m) for a, c in rows.values()]


def paper_median_speedup(dataset: str) -> float:
    """The median AT/CAT time ratio of CAT's table for ``dataset`` (1.13 MNIST, 2.55 CIFAR-10)."""
    return statistics.median(paper_speedups(dataset))


def ds_table1_ratio(method: str, reference: str = "p_up=1") -> float:
    """DS Table I's time of ``method`` over that of ``reference`` (e.g. 0.979 for P_up = 0.5 over P_up = 1)."""
    return DS_TABLE1_S[method] / DS_TABLE1_S[reference]


def ds_table1_implied_p_up() -> float:
    """The mean P_up of DS eq. (9) that Table I implies if the saving over P_up = 1 grew in proportion to
    1 - P_up (P_up = 0.5 saves 0.5 of it): about 0.95."""
    t = DS_TABLE1_S
    return 1.0 - 0.5 * (t["p_up=1"] - t["adaptive"]) / (t["p_up=1"] - t["p_up=0.5"])
