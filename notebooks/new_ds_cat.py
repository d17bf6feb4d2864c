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
# # A method neither paper has: DS inside CAT batches (DS-CAT)

# %% tags=["parameters", "hide-input"]
profile = "cpu"
dataset = "cifar10"
device = "auto"
seeds = [0, 1, 2]

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from advsel.repro import equal_cost, figures, pages, tables
from advsel.repro.notebook import open_page, show

page = open_page("new_ds_cat", profile=profile, dataset=dataset, device=device, seeds=seeds)
scope = page.scope
runs = scope.timed_results(["robust", "ds", "cat", "ds-cat"])
FRACTIONS = equal_cost.BUDGET_FRACTIONS
page.summary(runs, ["DS-CAT is our combination; no paper claims anything about it"])

# %% [markdown]
# DS and CAT save work at different places. CAT (Fan et al.) chooses *which samples are
# drawn and attacked*: a class-balanced, weighted draw without replacement by a stale
# estimate of each sample's information gain. DS (Mendonça et al.) chooses, *after* the
# attack, which of the clean and adversarial samples of the batch are backpropagated:
# the share P_up with the highest cross-entropy. The two choices do not overlap, so they
# can be stacked. Neither paper does; this page tests the combination. (The two
# methods alone: [DS Figs. 4-5](ds_fig4_5_accuracy.ipynb),
# [CAT Tables 1-2](cat_tables_time_to_accuracy.ipynb).)
#
# **DS-CAT, one iteration, exactly as `advsel` runs it** (`method="ds-cat"`, see
# `advsel/trainer.py`, `advsel/selectors.py`, `advsel/cat.py`):
#
# 1. *Draw (CAT).* The CAT sampler draws b' training samples: b'/C per class, weighted
#    without replacement with probabilities proportional to $\exp(w_i / T)$ within each
#    class (T = 1; successive weighted draws by descending a sum-tree per class),
#    $w_i$ the sample's smoothed information gain, 1 at the start.
# 2. *Attack.* PGD (the training attack, random start) turns the b' samples into b'
#    adversarial examples: b' x steps forward and backward passes, as in PGD-AT and CAT.
# 3. *Score (DS).* One forward pass *without gradients* over all 2b' clean + adversarial
#    samples (train-mode BatchNorm on the 2b' batch, running statistics left untouched)
#    gives each its cross-entropy: 2b' forward passes.
# 4. *Select (DS).* The P_up share of the 2b' with the highest cross-entropy is kept
#    (P_up = 0.5: b' samples, as many as PGD-AT and CAT backpropagate).
# 5. *Train.* Only the selected samples are forwarded again and backpropagated; one SGD
#    step: P_up x 2b' forward and backward passes.
# 6. *Update the weights (CAT).* Eqs. (3)-(4) for the b' drawn samples,
#    $w_i \leftarrow \alpha w_i + (1 - \alpha)\,[\max_{k \neq y} \log p_k - \log p_y]$
#    with $\alpha = 0.5$, from the logits that step 3 already computed on their b'
#    adversarial examples (before the update). No extra pass: every drawn sample's
#    weight is refreshed, whether or not DS selected its adversarial example. (In CAT
#    alone the same logits come from the training pass over the b' adversarial examples;
#    the only difference is that DS-CAT's BatchNorm statistics are those of the 2b'
#    clean + adversarial batch.)
#
# Per iteration DS-CAT costs what DS costs (CAT's bookkeeping is negligible): the attack,
# plus 2b' forward passes of scoring, plus P_up x 2b' forward and backward passes of
# training; CAT and PGD-AT skip the scoring pass. So DS-CAT must learn more per iteration
# than CAT to pay for its extra forward passes.
#
# **The comparison.** PGD-AT, DS (P_up = 0.5), CAT and DS-CAT (P_up = 0.5) at the same
# settings, seeds and epochs (run families `timed:robust`, `timed:ds`, `timed:cat`,
# `timed:ds-cat`, which on CIFAR-10 are the methods' own families `robust`, `ds:0.5`,
# `cat` and `ds-cat`), evaluated once per epoch. Methods that do more work per epoch
# end later, so final accuracies are not a fair comparison; we compare accuracy *at
# equal training cost*: the accuracy each method had reached by a given training time
# (the last evaluation at or before it, `equal_cost.accuracy_at_time`), at fractions of the
# time at which the fastest-finishing method ended (`equal_cost.common_budget`), and the same
# with sample passes (forward + 2 x backward) as the budget, which is free of timing
# noise.

# %% [markdown]
# ## Accuracy against training time and against sample passes

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Clean and robust accuracy against training time (top; attack + training, evaluation excluded) and against sample passes (bottom) for PGD-AT, DS, CAT and DS-CAT; mean over seeds with a band of one standard deviation (solid where every seed has data).", "name": "new-ds-cat-curves"}}
figures.cost_curves(runs)
plt.show()

# %% [markdown]
# ## Accuracy at equal training time
#
# Budgets are shares (below) of the mean training time at which the fastest-finishing
# method ended; each run contributes its last evaluation at or before the budget
# (accuracies in %, mean and sd over seeds). The sentences under the table compare DS-CAT
# with each method by the 95 % interval (paired t over seeds; Welch when a side lost a seed) of the difference.

# %% tags=["hide-input"]
budget = equal_cost.common_budget(runs)
show("Budgets: " + ", ".join(f"{f:.0%}" for f in FRACTIONS) + f" of {budget:.1f} s.")
show(tables.budget_table(runs, [f * budget for f in FRACTIONS]))
for metric in ("robust_acc", "clean_acc"):
    show(equal_cost.budget_verdict(runs, budget, "DS-CAT", metric))

# %% [markdown]
# ## Accuracy at equal sample passes
#
# The same with forward + 2 x backward sample passes as the budget.

# %% tags=["hide-input"]
passes = equal_cost.common_budget(runs, x="f2b")
show(tables.budget_table(runs, [f * passes for f in FRACTIONS], x="f2b"))
for metric in ("robust_acc", "clean_acc"):
    show(equal_cost.budget_verdict(runs, passes, "DS-CAT", metric, x="f2b"))

# %% [markdown]
# ## At the end of training (equal epochs, unequal cost)

# %% [markdown]
# Final accuracies (%) and total training cost, means over seeds; time ratio to PGD-AT:

# %% tags=["hide-input"]
show(tables.end_table(runs))

# %% [markdown]
# ## Verdict
#
# No paper claims anything about DS-CAT, so there is no claim in the ledger; the result
# is the comparison above, at equal training time (the sentence is generated from the
# table, not typed):

# %% tags=["hide-input"]
show(page.lead("Result") + equal_cost.budget_verdict(runs, budget, "DS-CAT", "robust_acc") + " "
     + equal_cost.budget_verdict(runs, budget, "DS-CAT", "clean_acc"))
show(pages.numbers_from(runs["DS-CAT"]))

# %% [markdown]
# ## Rerun this page

# %% tags=["hide-input"]
page.close()
