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
# # CAT Figs. 2-3: the sampling number

# %% tags=["parameters", "hide-input"]
profile = "cpu"
dataset = "mnist"
device = "auto"
seeds = [0, 1, 2]

# %% tags=["hide-input"]
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from advsel.repro import Family, claims, figures, pages, stats, tables
from advsel.repro.notebook import open_page, show

page = open_page("cat_fig2_3_sampling_number", profile=profile, dataset=dataset, device=device, seeds=seeds)
scope = page.scope
numbers = scope.sampling_numbers()
METHODS = {"CAT": "cat", "PGD-AT": "robust"}  # PGD-AT at each sampling number: the small-batch control
by_method = {label: {n: scope.results(Family.sampling(n, m)) for n in numbers} for label, m in METHODS.items()}
cat, at = by_method["CAT"], by_method["PGD-AT"]
runs = {f"{label} N = {n}": rs for label, fam in by_method.items() for n, rs in fam.items()}
page.summary(runs, [
    "convergence speed is read as training time to a robust accuracy level, not iterations (see below)",
    "the learning rate is scaled linearly with the sampling number (the paper keeps its hyperparameters)",
    "sampling numbers other than the profile's b' run with the first seed only",
    "no sampling number below the profile's b' is run (cut for the rerun budget), so none lies inside the range",
    "CAT Fig. 3 (CIFAR-10) is not run at this scale (budget); only Fig. 2 (MNIST) is"])

# %% [markdown]
# **The paper's claim.** The sampling number is the number of samples CAT draws (and
# attacks) per iteration. Figs. 2 (MNIST) and 3 (CIFAR-10) plot accuracy and robust
# accuracy against iterations for AT and for CAT with several sampling numbers. Fan et
# al. read two things from them: CAT "always requires fairly fewer iterations than AT"
# for the same accuracy, and "there is a trade-off of the convergence speed and the
# sampling number": speed rises with the sampling number up to a threshold and falls
# beyond it; on CIFAR-10 "the convergence speed rises in smaller sampling numbers until
# its peak of around 256". Their explanation: with few samples per iteration the stale
# weights mis-measure the gain (the model moves too much between draws), with many the
# weighted draw approaches a uniform one. The figures' numbers are not given in the text.
#
# **What we run.** Fig. 2 only, on MNIST: CAT with each sampling number N of
# `Scope.sampling_numbers` (run families `sampling:cat@N`) and, at each N, PGD-AT with
# batch size b' = N (`sampling:robust@N`), for the same number of epochs. At the
# profile's b' these are the CAT Tables page's `timed:cat` and `timed:robust` runs. An
# epoch is (training set size) / N iterations, so every run attacks and trains on the
# same number of samples, and N trades iterations for samples per iteration. *CAT Fig. 3
# (the CIFAR-10 sampling numbers) is not run at this scale*: the budget goes to the
# CIFAR-10 runs of DS and of CAT Table 2. *Nor is a sampling number below the profile's
# b'*: its runs take many small SGD steps and cost as much as several CIFAR-10 runs, so it
# is cut for the book's rerun budget. With the two numbers listed below, no number lies
# inside the range, and both ledger rows are "not testable at this scale"; the curves still
# show CAT and PGD-AT side by side at each number.
#
# **One learning-rate rule.** Every run, CAT and PGD-AT, uses a learning rate linear in N
# (the rule and the values are read from the runs' configs below). A fixed learning rate
# would make small N take many more, equally long SGD steps per epoch; the linear rule
# keeps the step per sample comparable. Either way part of any "smaller (or larger) is
# faster" pattern is plain SGD's batch-size effect, not CAT's weighting. That is why
# PGD-AT runs at every N too: if its times depend on N as CAT's do, the pattern is SGD's;
# only what CAT does differently across N is CAT's.
#
# **Which speed.** Per *iteration* a larger N does proportionally more work, so a curve
# against iterations favours large N by construction. We therefore read "convergence
# speed" as speed per unit of training cost: the verdict uses the training time to reach
# a robust accuracy level (a share `stats.SAMPLING_FRACTION` of the lowest best robust
# accuracy over CAT's sampling numbers, so every CAT run can reach it); iterations and
# sample passes at that point are shown beside. The ledger has two rows: the fastest
# inner sampling number of CAT against the smallest and against the largest.

# %% tags=["hide-input"]
def setup() -> pd.DataFrame:
    """Per method and N, from the runs' configs: learning rate, lr / N, iterations and evaluations per epoch,
    epochs, seeds."""
    rows = []
    for label, fam in by_method.items():
        for n, rs in fam.items():
            r0 = rs[0]
            rows.append({"method": label, "N": n, "learning rate": r0["config"]["lr"],
                         "lr / N": r0["config"]["lr"] / r0["config"]["batch_size"],
                         "iterations per epoch": r0["epochs"][0]["steps"],
                         "evaluations per epoch": len(r0["evals"]) / len(r0["epochs"]),
                         "epochs": r0["config"]["epochs"],
                         "seeds": ", ".join(str(s) for s in sorted(r["config"]["seed"] for r in rs))})
    return pd.DataFrame(rows).set_index(["method", "N"])


def setup_sentence(t: pd.DataFrame) -> str:
    base = scope.base()
    ratios = t["lr / N"].to_numpy()
    linear = bool(np.allclose(ratios, ratios[0], rtol=1e-9))
    lr_rule = (f"The learning rate is linear in N in every run: lr / N = {ratios[0]:.4g}, i.e. lr = "
               f"{ratios[0] * base.batch_size:g} x N / {base.batch_size} (the profile's b' = {base.batch_size})."
               if linear else "The learning rate is **not** one linear rule over these runs: lr / N = "
               + ", ".join(f"{v:.4g}" for v in ratios) + ".")
    by_seeds: dict[str, list[str]] = {}
    for (label, n), row in t.iterrows():
        by_seeds.setdefault(row["seeds"], []).append(f"{label} N = {n}")
    seeds_text = "; ".join(f"seed{'s' if ',' in s else ''} {s}: {', '.join(v)}" for s, v in by_seeds.items())
    return (f"Sampling numbers: {', '.join(map(str, numbers))}. {lr_rule} Seeds per run family ({seeds_text}); "
            "`Scope.seeds_of` gives the sampling numbers other than the profile's b' the first seed only, for "
            "budget.")


setup_t = setup()
show(setup_sentence(setup_t))
show(setup_t)

# %% [markdown]
# ## Accuracy against iterations (the paper's axes)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "CAT Fig. 2 at this scale (MNIST): clean (top) and robust (bottom) accuracy against iterations (log scale) for CAT (left) and PGD-AT (right) at each sampling number N (for PGD-AT, its batch size).", "name": "cat-fig2-3-iterations"}}
def panels(x: str, log: bool = False) -> None:
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), sharey="row")
    for row, metric in enumerate(("clean_acc", "robust_acc")):
        for col, (label, fam) in enumerate(by_method.items()):
            ax = axes[row, col]
            figures.time_curves(ax, {f"N = {n}": rs for n, rs in fam.items()}, metric, x=x)
            if log:
                ax.set_xscale("log")
            ax.set_title(f"{label}: {'standard' if metric == 'clean_acc' else 'robust'} accuracy")
    fig.tight_layout()
    plt.show()


panels("step", log=True)

# %% [markdown]
# ## Accuracy against training time

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The same runs against training time (attack + training, evaluation excluded): CAT (left), PGD-AT (right).", "name": "cat-fig2-3-time"}}
panels("train_time_s")

# %% [markdown]
# ## Time to a level per sampling number
#
# The robust level is the verdict's (from CAT's runs); the clean level follows the same
# rule (the same share of the lowest best clean accuracy over CAT's sampling numbers).
# PGD-AT is timed to the same levels; *reached* says how many of its runs got there.

# %% tags=["hide-input"]
levels = {m: stats.sampling_level(cat, m) for m in ("robust_acc", "clean_acc")}
level_tables = {m: pd.concat({label: tables.time_to_level_table(fam, lv, m).rename_axis("N")
                              for label, fam in by_method.items()}, names=["method"])
                for m, lv in levels.items()}
for m, t in level_tables.items():
    show(f"**{m.split('_')[0]} accuracy {100 * levels[m]:.1f}%**")
    show(t)


# %% [markdown]
# The question the PGD-AT runs answer: does CAT's time depend on N differently from
# PGD-AT's? Per N, the mean time to the robust level (only where every run of the
# method reached it), CAT over PGD-AT at the same N, and each method's time relative to
# its own time at the smallest N:

# %% tags=["hide-input"]
def shape_table(metric: str = "robust_acc") -> pd.DataFrame:
    lv = levels[metric]
    times = {label: {n: stats.time_to_level(rs, lv, metric) for n, rs in fam.items()}
             for label, fam in by_method.items()}
    nan = (lambda v: math.nan if v is None else v)  # noqa: E731
    rows = []
    for n in numbers:
        row = {"N": n, **{f"{label} time (s)": nan(t[n]) for label, t in times.items()}}
        row["CAT / PGD-AT"] = row["CAT time (s)"] / row["PGD-AT time (s)"]
        for label, t in times.items():
            row[f"{label} / {label} at N = {numbers[0]}"] = nan(t[n]) / nan(t[numbers[0]])
        rows.append(row)
    return pd.DataFrame(rows).set_index("N").round(3)


def shape_sentence(t: pd.DataFrame) -> str:
    out, order = [], {}
    for label in by_method:
        col = t[f"{label} time (s)"].dropna().sort_values()
        if col.empty:
            out.append(f"no sampling number of {label} had every run reach the level")
            continue
        order[label] = list(col.index)
        missing = sorted(set(numbers) - set(col.index))
        out.append(f"{label}: " + " < ".join(f"N = {n} ({v:.3g} s)" for n, v in col.items())
                   + (f", N = {', '.join(map(str, missing))} not reached by every run" if missing else ""))
    text = "Time to the robust level, fastest first: " + "; ".join(out) + "."
    if len(order) == 2 and all(len(v) == len(numbers) for v in order.values()):
        a, b = order["CAT"], order["PGD-AT"]
        if a == b:
            text += (" Both methods order the sampling numbers the same way: the direction of the dependence on N is "
                     "shared with plain PGD-AT (SGD's batch-size effect), not specific to CAT.")
        else:
            shared = ([f"both are fastest at N = {a[0]}"] if a[0] == b[0] else []) \
                + ([f"both are slowest at N = {a[-1]}"] if a[-1] == b[-1] else [])
            text += (" The two methods order the sampling numbers differently"
                     + (f"; {' and '.join(shared)}, which is then not specific to CAT" if shared else "") + ".")
    one = [n for n in numbers if len(cat[n]) < 2 or len(at[n]) < 2]
    if one:
        text += (f" N = {', '.join(map(str, one))} ran with one seed: those times have no interval, so neither "
                 "ordering is established, and timing noise alone can swap close values.")
    return text


shape = shape_table()
show(shape)
reading = f"**Reading ({claims.SMOKE}).** " if scope.profile == "smoke" else "**Reading.** "
show(reading + shape_sentence(shape))

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Training time (left) and sample passes (right) until the robust level is first reached, per sampling number, CAT beside PGD-AT (means over the runs that reached it; the label gives how many did; no bar: none did).", "name": "cat-fig2-3-level"}}
t = level_tables["robust_acc"]
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
x = np.arange(len(numbers))
width = 0.8 / len(by_method)
for ax, col in zip(axes, ("time (s)", "passes (F + 2B)"), strict=True):
    for i, label in enumerate(by_method):
        sub = t.loc[label]
        bars = ax.bar(x + (i - (len(by_method) - 1) / 2) * width, sub[col].fillna(0).to_numpy(), width,
                      color=f"C{i}", label=label)
        ax.bar_label(bars, labels=list(sub["reached"]), fontsize=8)
    ax.set_xticks(x, [str(n) for n in numbers])
    ax.set(xlabel="sampling number N (PGD-AT: batch size)", ylabel=col,
           title=f"to {100 * levels['robust_acc']:.1f}% robust accuracy")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Final accuracy
#
# Each run's model after training, evaluated once more with a stronger attack than the
# per-epoch one. Mean, sd and number of seeds, in %:

# %% tags=["hide-input"]
show("Robust accuracy: " + stats.evaluation_label(next(iter(runs.values())), "robust_acc") + ".")
show(tables.final_table(runs, ["clean_acc", "robust_acc"]))

# %% [markdown]
# ## Verdict
#
# The fastest sampling number of CAT inside the range (by mean training time to the
# robust level, chosen from the data) against each end: the Welch interval of the ratio
# of geometric-mean times must lie below 1. A peak needs both rows reproduced. The PGD-AT
# runs do not enter the verdict; they say whether a pattern is CAT's.

# %% tags=["hide-input"]
def testable_note() -> str:
    untestable = [(c, v) for c, v in page.evaluated if v.verdict == "not testable at this scale"]
    if not untestable:
        return ""
    one = [n for n in numbers if len(cat[n]) < 2]
    return ("Not testable at this scale: " + "; ".join(f"`{c.id}` ({v.headline})" for c, v in untestable)
            + (f". N = {', '.join(map(str, one))} ran with one seed, which has no interval; the measured times are "
               "still shown above" if one else "") + ".")


show(f"Intervals at {stats.LEVEL:.0%} (Welch).")
page.show_verdicts()
if note := testable_note():
    show(note)
show(pages.numbers_from([r for rs in runs.values() for r in rs]))

# %% [markdown]
# ## Rerun this page

# %% tags=["hide-input"]
page.close()
