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
seeds = [0, 1, 2, 3]
cifar_seeds = [0, 1, 2]

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import pandas as pd

from advsel.repro import claims, figures, inference, pages, paper, readings, speedup, stats, tables
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
show(tables.cat_paper_tables(TITLE).style.format({"AT": "{:,.2f}", "CAT": "{:,.2f}", "speed-up": "{:.2f}x"}))
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
show("; ".join(readings.schedule(TITLE[ds], r) for ds, r in runs.items()) + ".")

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
# method; the draw descends per-class sum-trees, O(b' log n) per batch, negligible beside
# PGD: `benchmarks/cat_draw.py` times it). It
# is resolved to the evaluation interval above: the time to a level is the training time
# of the first evaluation at or above it. Wall-clock time on a shared machine is noisy, so
# forward and backward sample passes at that point are given too; they do not depend on
# the machine.
#
# **Levels.** The paper's absolute levels are listed where our smaller models reach
# them. Because a model at the cpu profile tops out elsewhere, the verdict uses
# *relative* levels (`speedup.speedups`): the shares `speedup.SPEEDUP_FRACTIONS` of the lower
# of the two methods' best (mean over seeds) accuracies, so that both methods reach them on
# average. Only the levels every run of both methods reached enter the verdict.

# %% tags=["hide-input"]
show(f"Relative levels: {', '.join(f'{f:.0%}' for f in speedup.SPEEDUP_FRACTIONS)} of the lower best "
     "mean accuracy of the two methods compared.")

KEY = ("Our times in seconds, the paper's in {unit}; passes are sample passes at that point (means over the runs "
       "that reached the level); *reached* = runs that reached it.")

# %% [markdown]
# ## Table 1: MNIST

# %% tags=["hide-input"]
show(KEY.format(unit=paper.CAT_PAPER_UNITS["mnist"]), tables.cat_table(runs["mnist"][A], runs["mnist"][C], "mnist"))

# %% [markdown]
# ### CAT against its class-balanced uniform control (MNIST)
#
# The three MNIST methods at the control verdict's levels (relative levels of CAT and the
# control), clean and robust; the speed-up is the control's time over CAT's, given only
# where every run of both reached the level.

# %% tags=["hide-input"]
show(pd.concat({m.split("_")[0]: tables.control_table(runs["mnist"], A, C, U, m) for m in ("clean_acc", "robust_acc")},
               names=["accuracy"]))

# %% [markdown]
# ## Table 2: CIFAR-10

# %% tags=["hide-input"]
show(KEY.format(unit=paper.CAT_PAPER_UNITS["cifar10"]), tables.cat_table(runs["cifar10"][A], runs["cifar10"][C], "cifar10"))

# %% [markdown]
# ## Accuracy against training time
#
# The curves behind the tables: each evaluation at its training time (evaluation
# excluded); with several seeds the line is their mean on a common time grid (solid
# where every seed has data) with a band of one standard deviation, the faint dots each
# seed's own evaluations. A level's time in the tables is where a curve first crosses
# it.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Clean and robust accuracy against training time (attack + training, evaluation excluded) for PGD-AT, CAT and, on MNIST, CAT's class-balanced uniform control; MNIST (top) and CIFAR-10 (bottom).", "name": "cat-tables-time"}}
figures.cost_curves_by_dataset(runs, TITLE)
plt.show()

# %% [markdown]
# The same against sample passes (forward + 2 x backward, a backward pass costing about
# two forward passes), which is free of timing noise. AT, CAT and the control do the same
# passes per iteration, so this axis is iterations up to a constant.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Clean and robust accuracy against sample passes (forward + 2 x backward) for PGD-AT, CAT and, on MNIST, CAT's class-balanced uniform control; MNIST (top) and CIFAR-10 (bottom).", "name": "cat-tables-passes"}}
figures.cost_curves_by_dataset(runs, TITLE, x="f2b")
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
    if aa := pages.autoattack_runs(r):
        show(readings.autoattack_seeds(aa), tables.final_table(aa, ["clean_acc", "robust_acc", "autoattack_acc"]))

# %% [markdown]
# ## Verdict
#
# One row per table and accuracy: per run, the mean log sample passes (forward + 2 x
# backward, counted) to the levels; the interval (paired t over seeds) of AT minus CAT is
# the log of the geometric-mean speed-up, which must lie above 1 (wall time is shown
# beside, deciding nothing). Levels within 10 points of chance make a table not testable. The control row does the same with the class-balanced uniform control in AT's
# place. "Competitive" final robust accuracy (MNIST and CIFAR-10, from the final
# evaluation) asks for the interval of CAT minus AT at or above minus the band:

# %% tags=["hide-input"]
show(f"Intervals at {inference.LEVEL:.0%} (paired t over seeds; Welch when a side lost a seed); the band is {100 * inference.CLOSE_BAND:.0f} accuracy "
     "points (`inference.CLOSE_BAND`).")
page.show_verdicts()
for ds in ("mnist", "cifar10"):
    show(pages.numbers_from([r for rs in runs[ds].values() for r in rs], TITLE[ds]))

# %% [markdown]
# ## Rerun this page

# %% tags=["hide-input"]
page.close()
