# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # CAT Tables 1-2: time to reach a clean / robust accuracy, AT vs CAT

# %% tags=["parameters", "hide-input"]
profile = "cpu"
device = "auto"
seeds = [0, 1, 2]
cifar_seeds = [0, 1, 2]

# %% tags=["hide-input"]
import math

import matplotlib.pyplot as plt
import pandas as pd

from advsel.repro import claims, figures, pages, paper, stats, tables
from advsel.repro.notebook import open_page, show

page = open_page("cat_tables_time_to_accuracy", profile=profile, device=device, seeds=seeds, cifar_seeds=cifar_seeds)
scopes = page.scopes
AT, CAT, UNIFORM = claims.AT_TIMED, claims.CAT_TIMED, claims.UNIFORM_TIMED
FAMILIES = {"mnist": (AT, CAT, UNIFORM), "cifar10": (AT, CAT)}  # the control runs on MNIST only
runs = {ds: {claims.name(f): s.results(f) for f in FAMILIES[ds]} for ds, s in scopes.items()}
A, C, U = (claims.name(f) for f in (AT, CAT, UNIFORM))
TITLE = {"mnist": "Table 1 (MNIST)", "cifar10": "Table 2 (CIFAR-10)"}
page.summary({f"{ds} {m}": rs for ds, r in runs.items() for m, rs in r.items()},
             ["the verdicts use relative accuracy levels, not the paper's (see Levels)"])

# %% [markdown]
# **The paper's claim.** Fan et al. train ResNet-18 with vanilla PGD adversarial training
# (AT) and with CAT (same settings, batch 128, $\alpha = 0.5$ in eq. (4)) and report how
# long each takes to first reach a given accuracy: Table 1 for MNIST in seconds
# (accuracy evaluated every iteration), Table 2 for CIFAR-10 in hours (every 10
# iterations). "CAT achieves faster convergence speed in all settings, especially in the
# more sophisticated dataset CIFAR-10", "about faster 2~5x" in clean accuracy, and
# "CAT just requires 2.37 hours to reach 60% robust accuracy; whereas, AT requires
# about triple times". The abstract sums it up as "faster than vanilla AT by up to 3x
# while achieving competitive defense effect". Their tables, with the speed-up AT/CAT of
# each row:

# %% tags=["hide-input"]
printed = pd.DataFrame([{"table": TITLE[ds], "accuracy": m.split("_")[0], "level (%)": round(100 * lv),
                         "AT": at, "CAT": cat, "speed-up": at / cat}
                        for ds, t in paper.CAT_PAPER_TABLES.items() for m, rows in t.items()
                        for lv, (at, cat) in rows.items()]).set_index(["table", "accuracy", "level (%)"])
show(printed.style.format({"AT": "{:,.2f}", "CAT": "{:,.2f}", "speed-up": "{:.2f}x"}))
show("Units: " + ", ".join(f"{TITLE[ds]} {u}" for ds, u in paper.CAT_PAPER_UNITS.items()) + ". "
     + "; ".join(f"{TITLE[ds]}: speed-ups {min(paper.paper_speedups(ds)):.2f}x to "
                 f"{max(paper.paper_speedups(ds)):.2f}x, median {paper.paper_median_speedup(ds):.2f}x"
                 for ds in paper.CAT_PAPER_TABLES) + ".")

# %% [markdown]
# **What we run.** PGD-AT (run family `timed:robust`) and CAT (`timed:cat`) at the same
# settings and sampling number, with clean and PGD robust accuracy evaluated on a fixed
# test subset during training. CAT's epoch has as many iterations as AT's, so both attack
# and train on the same number of samples per epoch; any saving comes from *which*
# samples CAT draws. On CIFAR-10 the `timed` families are the methods' own runs (`robust`,
# `cat`), shared with the other CIFAR-10 pages. MNIST runs with `seeds`, CIFAR-10 with
# `cifar_seeds`. How often each data set is evaluated, and with how many seeds, is read
# from the runs:

# %% tags=["hide-input"]
def schedule(ds: str) -> str:
    """Seeds, epochs and evaluations per epoch of a data set's runs, from their results."""
    r0 = runs[ds][A][0]
    per_epoch = len(r0["evals"]) / len(r0["epochs"])
    steps = r0["epochs"][0]["steps"]
    seeds_ = sorted({r["config"]["seed"] for rs in runs[ds].values() for r in rs})
    times = "once" if per_epoch == 1 else "twice" if per_epoch == 2 else f"{per_epoch:g} times"
    return (f"{TITLE[ds]}: {', '.join(runs[ds])} with {len(seeds_)} seed{'s' if len(seeds_) != 1 else ''} "
            f"{seeds_}, {r0['config']['epochs']} epoch{'s' if r0['config']['epochs'] != 1 else ''} of {steps} "
            f"iterations, evaluated {times} per epoch (every {steps / per_epoch:g} iterations)")


show("; ".join(schedule(ds) for ds in runs) + ".")

# %% [markdown]
# **The control (MNIST).** CAT differs from AT in two ways at once: its batches are exactly
# class-balanced (each class gets its share of the batch, drawn without replacement), and
# within a class it draws by its weights (eq. (3)-(4)). A speed-up could come from either.
# The *class-balanced uniform* control (`timed:cat-uniform`, method `cat-uniform`) is CAT's
# own sampler with its weights never updated: the same class balance, the same draw and
# the same random numbers, but uniform within each class. If CAT beats AT but not this
# control, the speed-up is class balance (or the draw), not the weights; the ledger row
# `cat-weights-robust` tests CAT against the control in time to robust accuracy levels.
#
# **Time.** The clock is the run's training time at each evaluation: the PGD attack plus
# the training forward/backward passes and CAT's weight update, *evaluation excluded*
# (the loading of a batch, and with it CAT's weighted draw, is not timed for any
# method; the draw is a top-k over the training set's weights, negligible beside PGD). It
# is resolved to the evaluation interval above: the time to a level is the training time
# of the first evaluation at or above it. Wall-clock time on a shared machine is noisy, so
# forward and backward sample passes at that point are given too; they do not depend on
# the machine.
#
# **Levels.** The paper's absolute levels are listed where our smaller models reach
# them. Because a model at the cpu profile tops out elsewhere, the verdict uses
# *relative* levels (`stats.speedups`): the shares `stats.SPEEDUP_FRACTIONS` of the lower
# of the two methods' best (mean over seeds) accuracies, so that both methods reach them on
# average. Only the levels every run of both methods reached enter the verdict.

# %% tags=["hide-input"]
show(f"Relative levels: {', '.join(f'{f:.0%}' for f in stats.SPEEDUP_FRACTIONS)} of the lower best "
     "mean accuracy of the two methods compared.")


def show_tables(ds: str) -> None:
    """The paper's levels and the relative levels of one data set, clean and robust."""
    unit = paper.CAT_PAPER_UNITS[ds]
    show(f"Our times in seconds, the paper's in {unit}; passes are sample passes at that point "
         "(means over the runs that reached the level); *reached* = runs that reached it.")
    show(tables.cat_table(runs[ds][A], runs[ds][C], ds))


# %% [markdown]
# ## Table 1: MNIST

# %% tags=["hide-input"]
show_tables("mnist")

# %% [markdown]
# ### CAT against its class-balanced uniform control (MNIST)
#
# The three MNIST methods at the control verdict's levels (relative levels of CAT and the
# control), clean and robust; the speed-up is the control's time over CAT's, given only
# where every run of both reached the level.

# %% tags=["hide-input"]
def control_table(metric: str) -> pd.DataFrame:
    """Time (s) and passes to the relative levels of CAT vs the control, for AT, CAT and the control."""
    r = runs["mnist"]
    levels, rows = stats.speedups(r[U], r[C], metric)
    t = tables.level_table(r, levels, metric)
    ratio = (lambda sp: math.nan if sp.ratio is None else sp.ratio)  # noqa: E731
    t[f"speed-up {U}/CAT"] = [ratio(sp) for sp in rows]
    t[f"speed-up {A}/CAT"] = [ratio(sp) for sp in stats.speedup_rows(r[A], r[C], levels, metric)]
    cols = [c for c in t.columns if c.endswith("time (s)") or c.endswith("reached") or c.startswith("speed-up")]
    return t[cols].round(2)


show(pd.concat({m.split("_")[0]: control_table(m) for m in ("clean_acc", "robust_acc")},
                  names=["accuracy"]))

# %% [markdown]
# ## Table 2: CIFAR-10

# %% tags=["hide-input"]
show_tables("cifar10")

# %% [markdown]
# ## Accuracy against training time
#
# The curves behind the tables: each evaluation at its training time (evaluation
# excluded); with several seeds the line is their mean on a common time grid (solid
# where every seed has data) with a band of one standard deviation, the faint dots each
# seed's own evaluations. A level's time in the tables is where a curve first crosses
# it.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Clean and robust accuracy against training time (attack + training, evaluation excluded) for PGD-AT, CAT and, on MNIST, CAT's class-balanced uniform control; MNIST (top) and CIFAR-10 (bottom).", "name": "cat-tables-time"}}
fig, axes = plt.subplots(2, 2, figsize=(11, 8))
for row, ds in enumerate(("mnist", "cifar10")):
    for col, metric in enumerate(("clean_acc", "robust_acc")):
        figures.time_curves(axes[row, col], runs[ds], metric)
        axes[row, col].set_title(f"{TITLE[ds]}: {metric.split('_')[0]} accuracy")
fig.tight_layout()
plt.show()

# %% [markdown]
# The same against sample passes (forward + 2 x backward, a backward pass costing about
# two forward passes), which is free of timing noise. AT, CAT and the control do the same
# passes per iteration, so this axis is iterations up to a constant.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Clean and robust accuracy against sample passes (forward + 2 x backward) for PGD-AT, CAT and, on MNIST, CAT's class-balanced uniform control; MNIST (top) and CIFAR-10 (bottom).", "name": "cat-tables-passes"}}
fig, axes = plt.subplots(2, 2, figsize=(11, 8))
for row, ds in enumerate(("mnist", "cifar10")):
    for col, metric in enumerate(("clean_acc", "robust_acc")):
        figures.time_curves(axes[row, col], runs[ds], metric, x="f2b")
        axes[row, col].set_title(f"{TITLE[ds]}: {metric.split('_')[0]} accuracy")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Final accuracy ("competitive defense effect")
#
# Each run's model after training, evaluated once more with a stronger attack than the
# per-epoch one (the line above each table says which). Mean, sd and number of seeds, in %:

# %% tags=["hide-input"]
for ds, r in runs.items():
    show(f"**{TITLE[ds]}**. Robust accuracy: {stats.evaluation_label(r[A], 'robust_acc')}.")
    show(tables.final_table(r, ["clean_acc", "robust_acc"]))
    aa = {k: [x for x in rs if stats.has_autoattack([x])] for k, rs in r.items()}
    aa = {k: rs for k, rs in aa.items() if rs}
    if aa:
        aa_seeds = sorted({x["config"]["seed"] for rs in aa.values() for x in rs})
        show(f"AutoAttack, for the runs that have one (seed{'s' if len(aa_seeds) != 1 else ''} "
             f"{', '.join(map(str, aa_seeds))}): "
             f"{stats.evaluation_label(next(iter(aa.values())), 'autoattack_acc')}.")
        show(tables.final_table(aa, ["clean_acc", "robust_acc", "autoattack_acc"]))

# %% [markdown]
# ## Verdict
#
# One row per table and accuracy: per run, the mean log training time to the levels; the
# Welch interval of AT minus CAT is the log of the geometric-mean speed-up, which must lie
# above 1. The control row does the same with the class-balanced uniform control in AT's
# place. "Competitive" final robust accuracy (MNIST and CIFAR-10, from the final
# evaluation) asks for the interval of CAT minus AT at or above minus the band:

# %% tags=["hide-input"]
show(f"Intervals at {stats.LEVEL:.0%} (Welch); the band is {100 * stats.CLOSE_BAND:.0f} accuracy "
     "points (`stats.CLOSE_BAND`).")
page.show_verdicts()
for ds in ("mnist", "cifar10"):
    show(pages.numbers_from([r for rs in runs[ds].values() for r in rs], TITLE[ds]))

# %% [markdown]
# ## Rerun this page

# %% tags=["hide-input"]
page.close()
