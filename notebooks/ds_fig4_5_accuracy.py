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
# # DS Figs. 4-5: clean and robust accuracy per epoch
#
# **The paper's claim.** Mendonça et al. train ResNet-18 on CIFAR-10 for 200 epochs and
# plot clean (Fig. 4) and PGD-20 robust (Fig. 5) accuracy per epoch for *standard*
# training, *robust* training (PGD-AT), DS with P_up = 0.5 and DS with P_up varying by
# eq. (9). Both DS variants improve clean accuracy over the robust baseline "without
# affecting the robust accuracy".
#
# **What we run.** The same four methods with `advsel`, every method drawing b' clean
# samples per step: standard backpropagates the b' clean samples, robust their b' PGD
# versions, DS the top P_up share of the 2b' clean + adversarial samples (P_up = 0.5
# backpropagates b', as many as the baselines).

# %% tags=["parameters"]
profile = "cpu"
dataset = "mnist"
device = "auto"
seeds = [0, 1, 2]

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from advsel.repro import Family, Scope, claims, figures, pages, tables

PAGE = "ds_fig4_5_accuracy"
scope = Scope(profile, dataset, device, seeds)
runs = {
    "standard": scope.results(Family.method("standard")),
    "robust (PGD-AT)": scope.results(Family.method("robust")),
    "DS P_up = 0.5": scope.results(Family.ds(0.5)),
    "DS eq. (9)": scope.results(Family.method("ds-adaptive")),
}

# %% [markdown]
# ## Clean accuracy (Fig. 4) and robust accuracy (Fig. 5)

# %%
figures.accuracy_panels(runs, ("Fig. 4: standard accuracy per epoch", "Fig. 5: robust accuracy per epoch"))
plt.show()

# %% [markdown]
# Final epoch, mean and standard deviation over seeds (accuracies in %):

# %%
tables.final_table(runs)

# %% [markdown]
# ## Verdict

# %%
display(Markdown(claims.verdicts_markdown(scope, PAGE)))
display(Markdown(pages.numbers_from(runs["robust (PGD-AT)"])))

# %% [markdown]
# ## Rerun this page

# %%
display(Markdown(pages.rerun_commands(PAGE)))
