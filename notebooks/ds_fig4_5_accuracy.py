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

# %% tags=["parameters", "hide-input"]
profile = "cpu"
dataset = "cifar10"
device = "auto"
seeds = [0, 1, 2]

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from advsel.repro import Family, figures, stats, tables
from advsel.repro.notebook import epoch_attack, open_page, show, show_autoattack

page = open_page("ds_fig4_5_accuracy", profile=profile, dataset=dataset, device=device, seeds=seeds)
scope = page.scope
runs = {
    "standard": scope.results(Family.method("standard")),
    "robust (PGD-AT)": scope.results(Family.method("robust")),
    "DS P_up = 0.5": scope.results(Family.ds(0.5)),
    "DS eq. (9)": scope.results(Family.method("ds-adaptive")),
    "DS P_up = 0.5 after warm-up": scope.results(Family.warmup(0.5)),
}
page.summary(runs)

# %% [markdown]
# **The paper's claim.** Mendonça et al. plot clean (Fig. 4) and PGD-20 robust (Fig. 5)
# accuracy per epoch for *standard* training, *robust* training (PGD-AT), DS with
# P_up = 0.5 and DS with P_up varying by eq. (9). Both DS variants improve clean accuracy
# over the robust baseline "without affecting the robust accuracy", and the text adds that
# the clean gain holds "when compared with the standard and robust methods". The ledger has
# one row per DS variant and comparison: clean against PGD-AT and against standard training
# (Fig. 4), robust against PGD-AT (Fig. 5): six rows.
#
# **Ours: DS after a warm-up.** DS with P_up = 0.5 can collapse to a constant predictor
# (the summary box names the runs that did, and a row whose runs collapsed has no verdict
# on their accuracy). Our variant against the collapse, a few epochs at P_up = 1 before
# P_up = 0.5 (`p_up_warmup_epochs`, see the [Fig. 3 page](ds_fig3_p_up.ipynb)), runs here
# with every seed, and three more rows ask the paper's questions of it: does it improve
# clean accuracy over PGD-AT and over standard training, and does it leave robust accuracy
# unhurt? They are ours, not the paper's, and are counted as such in the ledger. Why DS at
# P_up = 0.5 stalls is the subject of the [stall ablation](ds_stall_ablation.ipynb).
#
# **What we run.** The same four methods with `advsel` on CIFAR-10, the paper's dataset,
# every method drawing b' clean samples per step: standard backpropagates the b' clean
# samples, robust their b' PGD versions, DS the top P_up share of the 2b' clean +
# adversarial samples (P_up = 0.5 backpropagates b', as many as the baselines).
#
# Two evaluations (the attacks and sample counts are printed below): the curves come from
# the evaluation after every epoch, a cheaper PGD on a smaller test subset; the table and
# the verdicts from the final evaluation of each trained model, a stronger PGD with
# restarts on more test samples, and AutoAttack's APGD-CE + APGD-T on every seed of the families a
# robust verdict reads (robust verdicts use the lower of the two).

# %% tags=["hide-input"]
at = runs["robust (PGD-AT)"]
show(f"Curves: evaluation after every epoch, {epoch_attack(at[0])} on {at[0]['test_size']:,} test samples. Table and "
     f"verdicts: {stats.evaluation_label(at, 'robust_acc')}.")

# %% [markdown]
# ## Clean accuracy (Fig. 4) and robust accuracy (Fig. 5)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "DS Figs. 4-5, our runs: clean (left) and PGD robust (right) accuracy after each epoch (per-epoch evaluation) of standard training, PGD-AT, DS with P_up = 0.5, DS with eq. (9) and (ours) DS with P_up = 0.5 after warm-up epochs at P_up = 1, mean and standard deviation over seeds.", "name": "ds-fig4-5"}}
figures.accuracy_panels(runs, ("Fig. 4: standard accuracy per epoch", "Fig. 5: robust accuracy per epoch"))
plt.show()

# %% [markdown]
# Final accuracies, mean and standard deviation over seeds (in %), collapsed runs and the
# evaluation the numbers come from:

# %% tags=["hide-input"]
tables.final_table(runs)

# %% [markdown]
# AutoAttack's APGD-CE + APGD-T for the runs that have it (every seed of the families a robust
# verdict reads), beside the same run's PGD accuracy:


# %% tags=["hide-input"]
show_autoattack(runs)

# %% [markdown]
# ## Verdict
#
# "Improves" asks for a 95 % interval (paired t over seeds; Welch when a side lost a seed) of the difference above zero; "does not hurt"
# for an interval at or above minus the band (the [claims ledger](ledger.ipynb) states
# the test and the band).

# %% tags=["hide-input"]
page.show_verdicts(at)

# %% [markdown]
# ## Rerun this page

# %% tags=["hide-input"]
page.close()
