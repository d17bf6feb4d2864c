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
import matplotlib.pyplot as plt

from advsel.repro import claims, equal_cost, figures, pages, readings, stats, tables
from advsel.repro.notebook import open_page, show

page = open_page("which_selection", profile=profile, dataset=dataset, device=device, seeds=seeds)
scope = page.scope
runs = scope.timed_results(["robust", "ds", "cat", "ds-cat", "prescreen"])
REFERENCE, NEW = "PGD-AT", "prescreen"
FRACTIONS = equal_cost.BUDGET_FRACTIONS
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
# registry entry in `advsel/methods.py`; `before_attack` and `select("screened", ...)` in `advsel/selectors.py`;
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
show(readings.prescreen_pass_model(runs[NEW][0]["config"]))
show(tables.step_cost_table(runs, REFERENCE))

# %% [markdown]
# ## Accuracy against training time and against sample passes

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Clean and robust accuracy against training time (top; attack + training, evaluation excluded) and against sample passes (bottom) for PGD-AT, DS, CAT, DS-CAT and prescreen; mean over seeds with a band of one standard deviation (solid where every seed has data).", "name": "which-selection-curves"}}
figures.cost_curves(runs)
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
levels = {m: tables.reference_levels(runs, REFERENCE, m, claims.PRESCREEN_FRACTIONS)
          for m in ("robust_acc", "clean_acc")}
target = levels["robust_acc"]["PGD-AT's lowest final"]  # every PGD-AT run reaches it
for m, lvs in levels.items():
    show(f"**{m.split('_')[0]} accuracy** (per-epoch evaluation: "
         + ("clean" if m == "clean_acc" else f"PGD-{runs[REFERENCE][0]['config']['eval_steps']}")
         + f", {runs[REFERENCE][0]['test_size']:,} test samples)")
    show(tables.level_ratio_tables(runs, lvs, m, REFERENCE))

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Training time (left) and sample passes (right) until PGD-AT's final robust accuracy (the lowest over its seeds, the ledger's level) is first reached, per method (mean over the runs that reached it; the label gives how many did; no bar: none did).", "name": "which-selection-level"}}
figures.level_bars(tables.level_ratio_table(runs, target, "robust_acc", REFERENCE),
                   f"to {100 * target:.1f}% robust accuracy (PGD-AT's lowest final)")
plt.show()

# %% [markdown]
# ## Accuracy at equal training time
#
# Budgets are shares (below) of the mean training time at which the fastest-finishing
# method ended; each run contributes its last evaluation at or before the budget
# (accuracies in %, mean and sd over seeds). The sentences under the table compare
# prescreen with each method by the 95 % interval (paired t over seeds; Welch when a side lost a seed) of the difference.

# %% tags=["hide-input"]
budget = equal_cost.common_budget(runs)
show("Budgets: " + ", ".join(f"{f:.0%}" for f in FRACTIONS) + f" of {budget:.1f} s.")
show(tables.budget_table(runs, [f * budget for f in FRACTIONS]))
for metric in ("robust_acc", "clean_acc"):
    show(equal_cost.budget_verdict(runs, budget, NEW, metric))

# %% [markdown]
# ## Accuracy at equal sample passes
#
# The same with forward + 2 x backward sample passes as the budget.

# %% tags=["hide-input"]
passes = equal_cost.common_budget(runs, x="f2b")
show(tables.budget_table(runs, [f * passes for f in FRACTIONS], x="f2b"))
for metric in ("robust_acc", "clean_acc"):
    show(equal_cost.budget_verdict(runs, passes, NEW, metric, x="f2b"))

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
# per-epoch one (PGD with restarts on more test samples; the line below says which).
# Mean, sd and number of seeds, in %:

# %% tags=["hide-input"]
show("Robust accuracy: " + stats.evaluation_label(runs[REFERENCE], "robust_acc") + ".")
show(tables.final_table(runs))

# %% [markdown]
# AutoAttack's APGD-CE + APGD-T, for the runs that carry it:

# %% tags=["hide-input"]
if aa_runs := pages.autoattack_runs(runs):
    show("AutoAttack: " + stats.evaluation_label(next(iter(aa_runs.values())), "autoattack_acc") + ".")
    show(tables.final_table(aa_runs, ["clean_acc", "robust_acc", "autoattack_acc"]))
else:
    show("*No run of this page has an AutoAttack evaluation (the smoke profile has none).*")

# %% [markdown]
# ## Verdicts
#
# The ledger's rows for prescreen ask whether it reaches PGD-AT's robust accuracy sooner
# in training time; they are tested like the papers' claims (the
# [claims ledger](ledger.ipynb) states the test).

# %% tags=["hide-input"]
page.show_verdicts(runs[NEW])

# %% [markdown]
# ## Which method should I use?
#
# At this scale (see "Our setting" at the top), from the numbers above; the sentence is
# generated from them, not typed:

# %% tags=["hide-input"]
show(page.lead("Result") + readings.advice(runs, budget, target, REFERENCE, NEW))

# %% [markdown]
# ## Rerun this page

# %% tags=["hide-input"]
page.close()
