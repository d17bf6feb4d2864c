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
# # DS Figs. 9-10: DS against other selection methods

# %% tags=["parameters", "hide-input"]
profile = "cpu"
dataset = "cifar10"
device = "auto"
seeds = [0, 1, 2]

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from advsel.repro import Family, figures, stats, tables
from advsel.repro.notebook import epoch_attack, open_page, show, show_autoattack

page = open_page("ds_fig9_10_selection_methods", profile=profile, dataset=dataset, device=device, seeds=seeds)
scope = page.scope
runs = {
    "DS P_up = 0.5": scope.results(Family.ds(0.5)),
    "random (P_up = 0.5)": scope.results(Family.method("random")),
    "Dong et al. (stable half)": scope.results(Family.method("dong")),
}
page.summary(runs)

# %% [markdown]
# **The paper's claim.** Mendonça et al. compare DS with two other ways of choosing what to
# train on, plotting clean
# (Fig. 9) and robust (Fig. 10) accuracy per epoch:
#
# - *random robust*: a batch of b = 256 "composed of clean and adversarial samples selected
#   at random";
# - *Dong et al.* [13]: the samples ranked by learning stability, keeping "50% of the
#   samples with high quality in order to perform a fair comparison in terms of number of
#   samples used".
#
# "The DS approach outperforms both the random method and the selection method with 50% of
# high quality samples from [13], especially in terms of standard accuracy." No numbers are
# given beyond the plots.
#
# **What we run.** Every method draws b' clean samples per step and backpropagates b'
# samples:
#
# - DS (`ds:0.5`): the b' of the 2b' clean + adversarial samples with the highest
#   cross-entropy;
# - random (`random`): a random P_up = 0.5 share of the same 2b', drawn without a scoring
#   pass;
# - Dong et al. (`dong`): PGD-AT on the class-balanced most stable half of the training
#   set. Stability comes from the `robust` (PGD-AT) run of the same settings and seed, used
#   as pre-training: per sample, the number of epochs in which the adversarial example of
#   its training step fooled the model (fewest first, ties broken at random). The subset run
#   then trains for the same number of epochs on half the data, each epoch taking as many
#   optimizer steps as a PGD-AT epoch over the full set when `dong_steps` is `pgd-at` (the
#   book's setting; it then passes over its half more than once per epoch), or one pass over
#   the half otherwise (the line below gives the run's value and step counts).
#
# On CIFAR-10, the paper's dataset. Curves: mean and standard deviation over seeds of the
# evaluation after every epoch (a cheaper PGD at the training eps on a fixed test subset);
# the table and the verdicts use the final evaluation of each trained model (a stronger PGD
# with restarts on more test samples) and AutoAttack's APGD-CE + APGD-T on every seed. The attacks and
# sample counts are printed below. The ledger has one row per rival and figure: four rows, and
# four rows of ours ask the same of the warm-up variant.

# %% tags=["hide-input"]
dong, ds = runs["Dong et al. (stable half)"][0], runs["DS P_up = 0.5"][0]
show(f"Setting: {ds['config']['dataset']}, model `{ds['config']['model']}`, "
     f"{ds['config']['epochs']} epochs, b' = {ds['config']['batch_size']}. Dong et al. train on "
     f"{dong['train_size']:,} of {ds['train_size']:,} samples with `dong_steps` = "
     f"`{dong['config']['dong_steps']}`: {dong['epochs'][0]['steps']} steps per epoch against "
     f"{ds['epochs'][0]['steps']} for DS and random, "
     f"{dong['epochs'][0]['steps'] * ds['config']['batch_size'] / dong['train_size']:.2g} passes over its "
     "subset per epoch.\n\n"
     f"Curves: {epoch_attack(ds)} on {ds['test_size']:,} test samples after every epoch. Table and verdicts: "
     f"{stats.evaluation_label(runs['DS P_up = 0.5'], 'robust_acc')}.")

# %% [markdown]
# ## Clean accuracy (Fig. 9) and robust accuracy (Fig. 10)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "DS Figs. 9-10, our runs: clean (left) and PGD robust (right) accuracy after each epoch (per-epoch evaluation) of DS with P_up = 0.5, random selection and Dong et al.'s stable half, mean and standard deviation over seeds.", "name": "ds-fig9-10"}}
figures.accuracy_panels(runs, ("Fig. 9: standard accuracy per epoch", "Fig. 10: robust accuracy per epoch"))
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
# "DS beats X" asks for the 95 % interval (paired t over seeds; Welch when a side lost a seed) of the difference of final accuracies
# (DS minus X) to lie above zero, for each rival and each accuracy separately.

# %% tags=["hide-input"]
page.show_verdicts(runs["DS P_up = 0.5"])

# %% [markdown]
# ## Rerun this page

# %% tags=["hide-input"]
page.close()
