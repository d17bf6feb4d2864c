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
# # DS Fig. 3: final accuracy against P_up
#
# **The paper's claim.** Mendonça et al. train ResNet-18 on CIFAR-10 for 200 epochs (PGD
# with eps = 8/255, alpha = 0.01 and 20 iterations, selection set of b = 256) and vary
# P_up, the share of the 2b' clean + adversarial samples of a batch that DS backpropagates.
# Fig. 3 plots the standard (clean) and robust accuracy at the last epoch against P_up. The
# text makes three statements, with no numbers beyond the plot:
#
# 1. P_up = 0.5 "slightly outperforms" P_up = 1 in standard accuracy, "with the benefit of
#    requiring only 50% of the samples in the batch";
# 2. for 0.5 <= P_up < 1 the robust accuracy is "quite close" to that of P_up = 1;
# 3. with a smaller P_up "we do not observe a gain in performance" (the model would need
#    more epochs or more samples).
#
# **What we run.** DS at every P_up of `advsel.repro.P_UP_SWEEP` with the same b' clean
# samples drawn per step, so a step backpropagates round(P_up x 2b') samples (P_up = 0.5:
# b', as many as PGD-AT; P_up = 1: all 2b'); every run has the same number of steps and
# epochs. Accuracies are measured after the last epoch on the fixed, class-balanced test
# subset, PGD robust accuracy at the training eps. Error bars: one standard deviation over
# seeds. "Close" means within `claims.CLOSE` (2 accuracy points); a "gain" is a
# difference of means larger than its standard error (Welch).

# %% tags=["parameters"]
profile = "cpu"
dataset = "mnist"
device = "auto"
seeds = [0, 1, 2]

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from advsel.repro import P_UP_SWEEP, Family, Scope, claims, figures, pages, tables
from advsel.selectors import n_selected

PAGE = "ds_fig3_p_up"
scope = Scope(profile, dataset, device, seeds)
sweep = {p: scope.results(Family.ds(p)) for p in P_UP_SWEEP}
c = sweep[1.0][0]["config"]
display(Markdown(f"Setting: {c['dataset']}, model `{c['model']}`, {c['epochs']} epochs, b' = {c['batch_size']} "
                 f"clean samples per step, training PGD eps = {c['eps']:.4g} with {c['steps']} steps; "
                 f"backpropagated per step: " + ", ".join(
                     f"{n_selected(p, 2 * c['batch_size'])} at P_up = {p}" for p in P_UP_SWEEP) + "."))

# %% [markdown]
# ## Final clean and robust accuracy against P_up (Fig. 3)

# %% mystnb={"figure": {"caption": "DS Fig. 3 reproduced: clean (left) and PGD robust (right) accuracy after the last epoch against P_up, mean and standard deviation over seeds.", "name": "ds-fig3"}}
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
figures.sweep(axes[0], sweep, "clean_acc")
axes[0].set_title("standard accuracy at the last epoch")
figures.sweep(axes[1], sweep, "robust_acc")
axes[1].set_title("robust accuracy at the last epoch")
fig.suptitle("Fig. 3: accuracy against the share P_up of backpropagated samples")
fig.tight_layout()
plt.show()

# %% [markdown]
# Final epoch, mean and standard deviation over seeds (accuracies in %):

# %%
tables.final_table({f"P_up = {p}": rs for p, rs in sweep.items()})

# %% [markdown]
# ## Verdict
#
# Claim 1 compares the final clean accuracy of P_up = 0.5 with P_up = 1; claim 2 asks
# that P_up = 0.5 and 0.75 lose at most 2 points of robust accuracy against P_up = 1;
# claim 3 counts the comparisons (clean and robust, P_up = 0.1 and 0.25 against 0.5) in
# which a smaller P_up shows a gain: none is the paper's statement.

# %%
display(Markdown(claims.verdicts_markdown(scope, PAGE)))
display(Markdown(pages.numbers_from(sweep[0.5])))

# %% [markdown]
# ## Rerun this page

# %%
display(Markdown(pages.rerun_commands(PAGE)))
