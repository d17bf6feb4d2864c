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
# # DS Fig. 6: P_up per epoch under eq. (9)

# %% tags=["parameters", "hide-input"]
profile = "cpu"
dataset = "mnist"
device = "auto"
seeds = [0, 1, 2]

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from advsel.repro import Family, Scope, claims, figures, pages, paper, stats, tables

PAGE = "ds_fig6_adaptive_p_up"
params = pages.check_parameters(PAGE, profile=profile, dataset=dataset, device=device, seeds=seeds)
scope = Scope(**params)
rs = scope.results(Family.method("ds-adaptive"))
c = rs[0]["config"]
floor, driver = c["p_up_floor"], stats.adaptive_driver(c)
evaluated = claims.evaluate_claims(scope, PAGE)
display(Markdown(pages.summary_box(evaluated, {"DS eq. (9)": rs}, "DS", [
    f"P_up has a floor `p_up_floor` = {floor}, which eq. (9) lacks; lambda is `adaptive_accuracy` = "
    f"`{c['adaptive_accuracy']}` (record `{driver}`)"])))

# %% [markdown]
# **The paper's claim.** Instead of a fixed P_up, DS can set it per epoch from "the last
# available accuracy" (eq. 9):
#
# $$P_{\rm up}^{(t)} = \left(1 - \lambda_{acc}^{(t-1)}\right) P_{\rm up}^{(t-1)}, \qquad P_{\rm up}^{(0)} = 1,$$
#
# so that many samples are backpropagated while the accuracy is low and fewer later. Fig. 6
# shows the resulting P_up for each epoch; the text gives no number for it. Since the
# factor 1 - lambda lies in [0, 1], P_up can only decrease, and as written it goes to 0
# (an empty selection set cannot train), so a floor is needed in practice. This page is
# therefore an **implementation check**: it verifies that our runs follow the equation;
# it does not count as reproducing a finding.
#
# The paper's Table I gives an indirect hint about its schedule (computed below): if the
# saving over P_up = 1 grew in proportion to 1 - P_up, the eq. (9) run saved as if its mean
# P_up were close to 1, i.e. it stayed near 1 for most epochs, which eq. (9) as written
# only does when lambda is close to 0. We cannot tell which accuracy the authors used; we
# follow the equation.
#
# **What we run** (family `ds-adaptive`): P_up(t) = max(floor, (1 - lambda(t-1)) P_up(t-1))
# with P_up(0) = 1 (`advsel.selectors.adaptive_p_up`). Two readings are named parameters:
#
# - `p_up_floor`: the floor; with floor 0 this is the paper's equation (clipped at 1e-6 so
#   that at least one sample is selected).
# - `adaptive_accuracy` (default `"train"`): which accuracy is lambda. With `"train"`,
#   lambda(t-1) is the accuracy of DS's scoring pass over epoch t-1: at every step the
#   2b' samples of the batch (b' clean samples and their b' PGD versions) go through the
#   network once without gradients (BatchNorm on the batch statistics of the 2b', running
#   statistics untouched), with the model of that step before its update, to rank them
#   by cross-entropy; lambda is the number of these predictions that are correct divided by
#   the number scored, summed over all steps of the epoch (the record's `train_acc`). It is
#   the accuracy "available" at the end of an epoch at no extra cost, a running average over
#   the epoch on the training clean + adversarial samples; `"clean"` and `"robust"` read the
#   clean or PGD accuracy on a held-out validation split of the training set
#   (`validation_size`, required for them), never the test set.

# %% tags=["hide-input"]
t = paper.DS_TABLE1_S
display(Markdown(f"Table I: eq. (9) {t['adaptive']:,.0f} s, P_up = 1 {t['p_up=1']:,.0f} s, P_up = 0.5 "
                 f"{t['p_up=0.5']:,.0f} s; implied mean P_up {paper.ds_table1_implied_p_up():.2f}."))

# %% [markdown]
# ## P_up per epoch (Fig. 6) and the accuracy that drives it
#
# Left: the P_up used in each epoch (mean and standard deviation over seeds), the floor,
# and, dashed, eq. (9) iterated without the floor from the same recorded accuracies.
# Right: lambda, the scoring-pass accuracy on the 2b' training samples, beside the test
# clean and robust accuracy of the same epochs.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "DS Fig. 6 reproduced: P_up per epoch under eq. (9) with its floor (left) and the accuracy that drives it (right).", "name": "ds-fig6"}}
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
figures.curves(axes[0], {"DS eq. (9) with floor": rs}, "p_up")
figures.eq9_without_floor(axes[0], rs, driver, "eq. (9) without floor")
axes[0].axhline(floor, ls=":", color="black", label=f"floor {floor}")
axes[0].set_ylim(0, 1.05)
axes[0].legend()
axes[0].set_title("Fig. 6: P_up per epoch")
figures.several(axes[1], rs, {"lambda: scoring pass on the 2b' (training)": driver, "test clean": "clean_acc",
                              "test robust": "robust_acc"}, "accuracy (%)")
axes[1].set_title("accuracy per epoch")
fig.tight_layout()
plt.show()

# %% [markdown]
# Per epoch, mean over seeds: P_up used, the accuracy that sets the next epoch's P_up, and
# the selected clean / adversarial samples per step (accuracies in %):

# %% tags=["hide-input"]
table = tables.epoch_table(rs, ["p_up", driver, "selected_clean", "selected_adv"])
display(table)
display(Markdown(f"Mean P_up over the {len(table)} epochs: {table['p_up'].mean():.3f} "
                 "(the share of the 2b' samples backpropagated on average)."))

# %% [markdown]
# ## Verdict
#
# An implementation check: every run must start at 1, never increase, and follow eq. (9)
# with the floor applied to the previous epoch's recorded accuracy. The reading is in the
# numbers: how fast P_up reaches the floor.

# %% tags=["hide-input"]
display(Markdown(pages.verdicts_markdown(evaluated)))
display(Markdown(pages.numbers_from(rs)))

# %% [markdown]
# ## Rerun this page

# %% tags=["hide-input"]
display(Markdown(pages.rerun_commands(PAGE, params)))
