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
# # Which selection saves time?

# %% tags=["parameters", "hide-input"]
profile = "cpu"
dataset = "cifar10"
device = "auto"
seeds = [0, 1, 2]

# %% tags=["hide-input"]
import math
import statistics

import matplotlib.pyplot as plt
import pandas as pd

from advsel.repro import claims, figures, pages, stats, tables
from advsel.repro.notebook import open_page, show

page = open_page("which_selection", profile=profile, dataset=dataset, device=device, seeds=seeds)
scope = page.scope
runs = scope.timed_results(["robust", "ds", "cat", "ds-cat", "prescreen"])
REFERENCE, NEW = "PGD-AT", "prescreen"
FRACTIONS = stats.BUDGET_FRACTIONS
page.summary(runs, [
    "prescreen is our method, inspired by selective adversarial training, adversarial coreset selection and "
    "InfoBatch; it is in neither paper, DS-CAT is our combination of the two papers' methods"])

# %% [markdown]
# Every method on this page trains a model as robust as PGD-AT's, or tries to, for less.
# They save at different places of a PGD-AT step. A step draws b' clean samples,
# attacks each with PGD (K steps: K forward and K backward passes per sample), and
# backpropagates the b' adversarial examples once. The attack is most of the step (the
# table below measures how much on our runs), yet DS and CAT both pay it in full:
#
# - **CAT** (Fan et al.) chooses *which samples are drawn*, by a stale estimate of each
#   sample's information gain; it attacks all b' it draws.
# - **DS** (Mendonça et al.) chooses, *after* the attack, which of the 2b' clean and
#   adversarial samples are backpropagated; it attacks all b'.
# - **DS-CAT** ([its page](new_ds_cat.ipynb)) stacks the two and still attacks all b'.
# - **prescreen** (ours) chooses, *before* the attack, which samples are attacked at all.
#
# **prescreen, one iteration, exactly as `advsel` runs it** (`method="prescreen"`, the
# registry entry in `advsel/methods.py`; `screen` and `screened` in `advsel/selectors.py`;
# `Trainer.train_step` in `advsel/trainer.py`):
#
# 1. *Draw.* b' training samples, uniformly (a shuffled epoch), as PGD-AT.
# 2. *Screen.* One forward pass *without gradients* over the b' clean samples (train-mode
#    BatchNorm, running statistics left untouched, as DS's scoring pass) gives each its
#    clean cross-entropy: b' forward passes.
# 3. *Attack.* Only the share `attack_share` (default 0.5) of the b' with the highest clean
#    loss is attacked with PGD (random start): attack_share x K x b' forward and backward
#    passes instead of K x b'. A sample the model already classifies confidently is the one
#    whose attack is most likely wasted; one it gets wrong or barely right carries most
#    gradient.
# 4. *Train.* One SGD step on the adversarial examples of the attacked samples and, with
#    `unattacked="clean"` (default), the clean versions of the others: b' samples
#    forwarded and backpropagated, as in PGD-AT. With `unattacked="skip"` the others are
#    left out of the step (attack_share x b' samples).
#
# The screening pass is charged to the attack phase of the training time (it is measured
# between the draw and the end of the attack) and counted as training forward passes.
#
# **Related work.** Ye, Wang and Bhandare's *Selective Adversarial Training* ("Scaling
# Adversarial Training via Data Selection", arXiv 2512.22069) also attacks only a subset
# of each mini-batch, chosen before PGD by the logit margin or by gradient matching, and
# trains the rest clean; they report robustness comparable to PGD-AT with up to 50 % less
# attack computation. prescreen is the margin variant's simplest relative: its score is
# the clean cross-entropy, which the screening pass gives for b' forward passes.
# *Adversarial coreset selection* (ACS; Dolatabadi et al.) selects, every few epochs, a
# subset of the training set whose gradients approximate the full one's and trains
# adversarially on it only. *InfoBatch* (Qin et al.) prunes well-learned (low-loss)
# samples at random and rescales the loss of the low-loss samples it keeps so that the
# expected gradient is unchanged; prescreen does not rescale anything (the clean
# samples it trains on keep weight 1, and `skip` simply drops the others), and neither
# ACS nor InfoBatch's rescaling is implemented here.
#
# **The comparison.** PGD-AT, DS (P_up = 0.5), CAT, DS-CAT (P_up = 0.5) and prescreen
# (attack share 0.5, others clean) at the same settings, seeds and epochs. On CIFAR-10
# each reads its method's own run family (`robust`, `ds:0.5`, `cat`, `ds-cat`,
# `prescreen`), evaluated once per epoch. Methods that do more work per epoch end later,
# so we compare them at equal training cost (time, and sample passes forward + 2 x
# backward, which are free of timing noise), by the time each needs to reach PGD-AT's
# final accuracy, and at the end of training.

# %% [markdown]
# ## What a step costs

# %% tags=["hide-input"]
def step_costs(runs):
    """Per method, means over seeds: time per step, passes per drawn sample, the attack's share."""
    rows = []
    for label, rs in runs.items():
        per = [stats.per_step(r) for r in rs]
        split = [stats.cost_split(r) for r in rs]
        b = rs[0]["config"]["batch_size"]
        att = [(s["attack_forward"] + 2 * s["attack_backward"])
               / sum(s[k] * (2 if k.endswith("backward") else 1) for k in stats.PASS_KINDS) for s in split]
        rows.append({"method": label, "time per step (ms)": 1000 * statistics.fmean(p["time_s"] for p in per),
                     "F + 2B per drawn sample": statistics.fmean(p["f2b"] for p in per) / b,
                     "attack share of time (%)": 100 * statistics.fmean(
                         s["time_attack_s"] / (s["time_attack_s"] + s["time_train_s"]) for s in split),
                     "attack share of F + 2B (%)": 100 * statistics.fmean(att), "seeds": len(rs)})
    df = pd.DataFrame(rows).set_index("method")
    df.insert(1, "time ratio", df["time per step (ms)"] / df.loc[REFERENCE, "time per step (ms)"])
    df.insert(3, "F + 2B ratio", df["F + 2B per drawn sample"] / df.loc[REFERENCE, "F + 2B per drawn sample"])
    return df.round(3)


cfg = runs[NEW][0]["config"]
K, share = cfg["steps"], cfg["attack_share"]
trained = 1.0 if cfg["unattacked"] == "clean" else share
model_new, model_at = 1 + 3 * share * K + 3 * trained, 3 * K + 3
show(
    f"By the pass model (a backward pass costs about two forward passes), a PGD-AT step costs 3K + 3 = "
    f"{model_at} forward-pass equivalents per drawn sample with K = {K} training PGD steps, the attack "
    f"{100 * K / (K + 1):.0f} % of it. prescreen with attack share {share} and `unattacked={cfg['unattacked']!r}` "
    f"costs 1 (screening) + 3 x {share} x K (attack) + 3 x {trained} (training) = {model_new:g}, "
    f"{model_new / model_at:.2f} x PGD-AT's. Measured on our runs (means over seeds; `time` and `attack` include "
    "the screening pass for prescreen, DS's and DS-CAT's scoring pass is in their training phase):")
show(step_costs(runs))

# %% [markdown]
# ## Accuracy against training time and against sample passes

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Clean and robust accuracy against training time (top; attack + training, evaluation excluded) and against sample passes (bottom) for PGD-AT, DS, CAT, DS-CAT and prescreen; mean over seeds with a band of one standard deviation (solid where every seed has data).", "name": "which-selection-curves"}}
fig, axes = plt.subplots(2, 2, figsize=(11, 8))
for row, x in enumerate(("train_time_s", "f2b")):
    for col, metric in enumerate(("clean_acc", "robust_acc")):
        figures.time_curves(axes[row, col], runs, metric, x=x)
        axes[row, col].set_title(f"{metric.split('_')[0]} accuracy")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Time to reach PGD-AT's accuracy
#
# Levels from PGD-AT's final accuracy (its last per-epoch evaluation): the lowest over its
# seeds, which every PGD-AT run reaches (the ledger's level for the verdicts below, at the
# ledger's shares of it), and the mean over its seeds. Per method: the mean training time,
# iterations, epochs and sample passes until a run first reaches the level, over the runs
# that reached it, and how many did ("reached"); the ratios to PGD-AT are given only where
# every run of both reached the level.

# %% tags=["hide-input"]
def level_table(metric, level):
    t = tables.time_to_level_table(runs, level, metric).rename_axis("method")
    full = {k: stats.level_stats(rs, level, metric).all_reached for k, rs in runs.items()}
    for col, name in (("time (s)", "time / PGD-AT"), ("passes (F + 2B)", "passes / PGD-AT")):
        ref = t.loc[REFERENCE, col]
        t[name] = [round(t.loc[k, col] / ref, 3) if full[k] and full[REFERENCE] else math.nan for k in t.index]
    return t


def levels_of(metric):
    """{description: level}: shares of PGD-AT's lowest final accuracy over its (not collapsed) seeds, as the
    ledger's claims read it, and PGD-AT's final mean accuracy."""
    finals = [r["epochs"][-1][metric] for r in runs[REFERENCE] if not stats.collapsed(r)] \
        or [r["epochs"][-1][metric] for r in runs[REFERENCE]]
    out = {(f"{f:.0%} of " if f != 1 else "") + "PGD-AT's lowest final": f * min(finals)
           for f in claims.PRESCREEN_FRACTIONS}
    out["PGD-AT's final mean"] = stats.end_summary(runs[REFERENCE])[metric]
    return dict(sorted(out.items(), key=lambda kv: kv[1]))


levels = {m: levels_of(m) for m in ("robust_acc", "clean_acc")}
target = levels["robust_acc"]["PGD-AT's lowest final"]  # every PGD-AT run reaches it
level_tables = {}
for m, lvs in levels.items():
    t = pd.concat({f"{100 * lv:.1f}% ({what})": level_table(m, lv) for what, lv in lvs.items()},
                  names=["level", "method"])
    level_tables[m] = t
    show(f"**{m.split('_')[0]} accuracy** (per-epoch evaluation: "
         + ("clean" if m == "clean_acc" else
            f"PGD-{runs[REFERENCE][0]['config']['eval_steps']}")
         + f", {runs[REFERENCE][0]['test_size']:,} test samples)")
    show(t)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Training time (left) and sample passes (right) until PGD-AT's final robust accuracy (the lowest over its seeds, the ledger's level) is first reached, per method (mean over the runs that reached it; the label gives how many did; no bar: none did).", "name": "which-selection-level"}}
top = level_table("robust_acc", target)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
for ax, col in zip(axes, ("time (s)", "passes (F + 2B)"), strict=True):
    bars = ax.bar(list(top.index), top[col].fillna(0), color=[f"C{i}" for i in range(len(top))])
    ax.bar_label(bars, labels=list(top["reached"]), fontsize=8)
    ax.set(ylabel=col, title=f"to {100 * target:.1f}% robust accuracy (PGD-AT's lowest final)")
    ax.grid(alpha=0.3, axis="y")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Accuracy at equal training time
#
# Budgets are shares (below) of the mean training time at which the fastest-finishing
# method ended; each run contributes its last evaluation at or before the budget
# (accuracies in %, mean and sd over seeds). The sentences under the table compare
# prescreen with each method by the Welch 95 % interval of the difference.

# %% tags=["hide-input"]
budget = stats.common_budget(runs)
show("Budgets: " + ", ".join(f"{f:.0%}" for f in FRACTIONS) + f" of {budget:.1f} s.")
show(tables.budget_table(runs, [f * budget for f in FRACTIONS]))
for metric in ("robust_acc", "clean_acc"):
    show(claims.budget_verdict(runs, budget, NEW, metric))

# %% [markdown]
# ## Accuracy at equal sample passes
#
# The same with forward + 2 x backward sample passes as the budget.

# %% tags=["hide-input"]
passes = stats.common_budget(runs, x="f2b")
show(tables.budget_table(runs, [f * passes for f in FRACTIONS], x="f2b"))
for metric in ("robust_acc", "clean_acc"):
    show(claims.budget_verdict(runs, passes, NEW, metric, x="f2b"))

# %% [markdown]
# ## At the end of training (equal epochs, unequal cost)
#
# Accuracies (%) at the last per-epoch evaluation and total training cost, means over
# seeds; time ratio to PGD-AT:

# %% tags=["hide-input"]
show(tables.end_table(runs))

# %% [markdown]
# ## Final evaluation
#
# Each run's model after training, evaluated once more with a stronger attack than the
# per-epoch one (at the cpu and paper profiles PGD-20 with two restarts on 2,000 test
# samples; the line below says what these runs used). Mean, sd and number of seeds, in %:

# %% tags=["hide-input"]
show("Robust accuracy: " + stats.evaluation_label(runs[REFERENCE], "robust_acc") + ".")
show(tables.final_table(runs))

# %% [markdown]
# AutoAttack (standard), for the seed-0 run of each method only (one run: no sd):

# %% tags=["hide-input"]
aa_runs = {k: [r for r in rs if stats.has_autoattack([r])] for k, rs in runs.items()}
aa_runs = {k: rs for k, rs in aa_runs.items() if rs}
if aa_runs:
    show("AutoAttack: " + stats.evaluation_label(next(iter(aa_runs.values())), "autoattack_acc")
         + ".")
    show(tables.final_table(aa_runs, ["clean_acc", "robust_acc", "autoattack_acc"]))
else:
    show("*No run of this page has an AutoAttack evaluation (the smoke profile has none, and only "
         "seed 0 of the CIFAR-10 runs gets one).*")

# %% [markdown]
# ## Verdicts
#
# The ledger's rows for prescreen ask whether it reaches PGD-AT's robust accuracy sooner
# in training time; they are tested like the papers' claims (the
# [claims ledger](ledger.ipynb) states the test).

# %% tags=["hide-input"]
show(pages.verdicts_markdown(page.evaluated) if page.evaluated
     else "*No claim is registered for this page yet.*")
show(pages.numbers_from(runs[NEW]))

# %% [markdown]
# ## Which method should I use?
#
# At this scale (see "Our setting" at the top), from the numbers above; the sentence is
# generated from them, not typed:

# %% tags=["hide-input"]
def advice():
    within = {k: v for k, v in stats.at_budget(runs, budget, "robust_acc").items() if v}
    mean = {k: statistics.fmean(v) for k, v in within.items()}
    ranked = sorted(mean, key=mean.get, reverse=True)
    out = []
    if len(ranked) >= 2:
        best, second = ranked[:2]
        lead = 100 * (mean[best] - mean[second])
        if min(len(within[best]), len(within[second])) < 2:
            sure, why = False, "a single run on a side, no interval"
        else:
            iv = stats.welch_interval(within[best], within[second])
            sure = iv.lo > 0
            why = f"95% interval [{100 * iv.lo:+.1f}, {100 * iv.hi:+.1f}] points"
        out.append(f"Within {budget:.1f} s of training (the time the fastest-finishing method needed), {best} has "
                   f"the highest robust accuracy, {100 * mean[best]:.1f}%, {lead:.1f} points above {second} ({why}).")
        out.append(f"With a fixed training time, use {best}." if sure else
                   f"That lead is not distinguishable from zero at {len(within[best])} seeds: with a fixed training "
                   f"time, {best} is not clearly better than {second} here.")
    hits = {k: stats.level_stats(rs, target, "robust_acc") for k, rs in runs.items()}
    full = {k: s.mean() for k, s in hits.items() if s.all_reached}
    if full:
        fastest = min(full, key=full.get)
        ref = f", {full[fastest] / full[REFERENCE]:.2f} x PGD-AT's {full[REFERENCE]:.1f} s" \
            if REFERENCE in full and fastest != REFERENCE else ""
        never = [k for k in runs if k not in full]
        out.append(f"To reach PGD-AT's final robust accuracy (the lowest over its seeds, {100 * target:.1f}%), "
                   f"{fastest} was the fastest method all of whose runs got there ({full[fastest]:.1f} s{ref})"
                   + (f"; not every run of {', '.join(never)} reached it" if never else "") + ".")
        if fastest != NEW and NEW in full and REFERENCE in full:
            out.append(f"{NEW} needed {full[NEW] / full[REFERENCE]:.2f} x PGD-AT's time.")
    else:
        out.append(f"No method had every run reach PGD-AT's final robust accuracy (the lowest over its seeds, "
                   f"{100 * target:.1f}%).")
    return " ".join(out)


result = f"**Result ({claims.SMOKE}).** " if scope.profile == "smoke" else "**Result.** "
show(result + advice())

# %% [markdown]
# ## Rerun this page

# %% tags=["hide-input"]
page.close()
