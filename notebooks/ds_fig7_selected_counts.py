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
# # DS Fig. 7: selected clean and adversarial samples per epoch

# %% tags=["parameters", "hide-input"]
profile = "cpu"
dataset = "cifar10"
device = "auto"
seeds = [0, 1, 2]

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from advsel.repro import Family, figures, tables
from advsel.repro.notebook import open_page, show

page = open_page("ds_fig7_selected_counts", profile=profile, dataset=dataset, device=device, seeds=seeds)
rs = page.scope.results(Family.ds(0.5))
c = rs[0]["config"]
page.summary({"DS P_up = 0.5": rs})

# %% [markdown]
# **The paper's claim.** With P_up = 0.5 (b' clean samples and their b' PGD versions per
# batch, b' of the 2b' backpropagated), Fig. 7 plots the averaged amount of selected clean and selected
# adversarial samples at each epoch. The model "starts by selecting more adversarial
# samples than clean samples. However, after a few epochs, this behavior changes, and the
# number of selected clean samples increases", which the authors read as the model learning
# the adversarial problem first and then improving clean accuracy. No numbers are given
# beyond the plot.
#
# **What we run** (family `ds:0.5`, on CIFAR-10 as the paper): at every step DS scores
# the 2b' samples by cross-entropy and keeps the top b'; the record counts how many of the
# kept samples are clean and how many adversarial, averaged over the steps of the epoch
# (`selected_clean`, `selected_adv`; they add up to b'). Curves: mean and standard
# deviation over seeds; the dotted line b'/2 is an even split. The test accuracies in the
# table are those of the evaluation after every epoch. The ledger has two rows: the first
# epoch and the last; a third, ours, asks the last-epoch question of the warm-up variant
# (3 epochs at P_up = 1, then 0.5; its first epochs select every sample, so it has no
# first-epoch row).

# %% tags=["hide-input"]
show(f"Setting: {c['dataset']}, model `{c['model']}`, {c['epochs']} epochs of {rs[0]['epochs'][0]['steps']} steps, "
     f"b' = {c['batch_size']} clean + {c['batch_size']} adversarial samples per batch, P_up = {c['p_up']}: "
     f"{c['batch_size']} selected per step.")

# %% [markdown]
# ## Selected samples per batch (Fig. 7)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "DS Fig. 7, our runs: selected clean and adversarial samples per batch (mean over the steps of each epoch) with P_up = 0.5, mean and standard deviation over seeds.", "name": "ds-fig7"}}
fig, ax = plt.subplots(figsize=(7, 4))
figures.several(ax, rs, {"clean": "selected_clean", "adversarial": "selected_adv"}, "selected samples per batch")
ax.axhline(c["batch_size"] / 2, ls=":", color="black", label="even split b'/2")
ax.legend()
ax.set_title("Fig. 7: selected clean and adversarial samples, P_up = 0.5")
fig.tight_layout()
plt.show()

# %% [markdown]
# Per epoch, mean over seeds: selected clean and adversarial samples per batch, the test
# accuracies beside them (in %):

# %% tags=["hide-input"]
tables.epoch_table(rs, ["selected_clean", "selected_adv", "clean_acc", "robust_acc"])

# %% [markdown]
# ## Verdict
#
# Per run, the selected adversarial minus the selected clean samples per batch: in the
# first epoch the paper expects it positive, in the last epoch negative. The one-sample
# t interval of the per-run values must lie on the claimed side of zero.

# %% tags=["hide-input"]
page.show_verdicts(rs)

# %% [markdown]
# ## Rerun this page

# %% tags=["hide-input"]
page.close()
