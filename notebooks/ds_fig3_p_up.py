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

# %% tags=["parameters", "hide-input"]
profile = "cpu"
dataset = "mnist"
device = "auto"
seeds = [0, 1, 2]

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from advsel.repro import P_UP_SWEEP, Family, Scope, claims, figures, pages, tables
from advsel.selectors import n_selected

PAGE = "ds_fig3_p_up"
params = pages.check_parameters(PAGE, profile=profile, dataset=dataset, device=device, seeds=seeds)
scope = Scope(**params)
sweep = {p: scope.results(Family.ds(p)) for p in P_UP_SWEEP}
runs = {f"P_up = {p}": rs for p, rs in sweep.items()}
evaluated = claims.evaluate_claims(scope, PAGE)
display(Markdown(pages.summary_box(evaluated, runs, "DS")))

# %% [markdown]
# **The paper's claim.** Mendonça et al. vary P_up, the share of the 2b' clean +
# adversarial samples of a batch that DS backpropagates, and plot the standard (clean)
# and robust accuracy at the last epoch against it (Fig. 3). The text makes three
# statements, with no numbers beyond the plot:
#
# 1. P_up = 0.5 "slightly outperforms" P_up = 1 in standard accuracy, "with the benefit of
#    requiring only 50% of the samples in the batch";
# 2. for 0.5 <= P_up < 1 the robust accuracy is "quite close" to that of P_up = 1;
# 3. with a smaller P_up "we do not observe a gain in performance" (the model would need
#    more epochs or more samples).
#
# The ledger has one row per comparison: statement 2 for P_up = 0.5 and 0.75, statement 3
# for P_up = 0.1 and 0.25, each in clean and robust accuracy.
#
# **What we run.** DS at every P_up of `advsel.repro.P_UP_SWEEP` with the same b' clean
# samples drawn per step, so a step backpropagates round(P_up x 2b') samples (P_up = 0.5:
# b', as many as PGD-AT; P_up = 1: all 2b'); every run has the same number of steps and
# epochs. Error bars: one standard deviation over seeds.

# %% tags=["hide-input"]
c = sweep[1.0][0]["config"]
display(Markdown(f"Backpropagated per step (b' = {c['batch_size']}): " + ", ".join(
    f"{n_selected(p, 2 * c['batch_size'])} at P_up = {p}" for p in P_UP_SWEEP) + "."))

# %% [markdown]
# ## Final clean and robust accuracy against P_up (Fig. 3)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "DS Fig. 3 reproduced: clean (left) and PGD robust (right) accuracy after the last epoch against P_up, mean and standard deviation over seeds.", "name": "ds-fig3"}}
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
figures.sweep(axes[0], sweep, "clean_acc")
axes[0].set_title("standard accuracy at the last epoch")
figures.sweep(axes[1], sweep, "robust_acc")
axes[1].set_title("robust accuracy at the last epoch")
fig.suptitle("Fig. 3: accuracy against the share P_up of backpropagated samples")
fig.tight_layout()
plt.show()

# %% [markdown]
# Final accuracies, mean and standard deviation over seeds (in %), the runs that collapsed
# and the evaluation the numbers come from:

# %% tags=["hide-input"]
tables.final_table(runs)

# %% [markdown]
# ## Verdict
#
# Each row is decided by the test stated on the [claims ledger](ledger.ipynb) (a Welch 95 %
# interval for the difference, against zero or the band); each verdict names its rule.
# A comparison with a collapsed run family has no verdict on its accuracy.

# %% tags=["hide-input"]
display(Markdown(pages.verdicts_markdown(evaluated)))
display(Markdown(pages.numbers_from(sweep[0.5])))

# %% [markdown]
# ## Rerun this page

# %% tags=["hide-input"]
display(Markdown(pages.rerun_commands(PAGE, params)))
