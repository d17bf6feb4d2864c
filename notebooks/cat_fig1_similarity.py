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
# # CAT Fig. 1: predictions on a sample's adversarial examples at neighbouring iterations

# %% tags=["parameters", "hide-input"]
profile = "cpu"
dataset = "mnist"
device = "auto"
seeds = [0, 1, 2]

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from advsel.repro import Family, Scope, claims, figures, pages, tables

PAGE = "cat_fig1_similarity"
params = pages.check_parameters(PAGE, profile=profile, dataset=dataset, device=device, seeds=seeds)
scope = Scope(**params)
runs = {"CAT": scope.results(Family.timed("cat")), "PGD-AT": scope.results(Family.timed("robust"))}
evaluated = claims.evaluate_claims(scope, PAGE)
display(Markdown(pages.summary_box(evaluated, runs, "CAT", [
    "the paper gives no number for the similarity; \"highly similar\" is read as a mean cosine at or above the "
    "threshold stated on the claims ledger"])))

# %% [markdown]
# **The paper's claim.** Fan et al. sample by the information gain of eq. (3),
# $w = \max_{k \neq y} \log p_k(x + \delta) - \log p_y(x + \delta)$, but compute it only
# when a sample is drawn, and smooth it by eq. (4). The weight a sample carries into a
# later draw was therefore measured on an *older* model. Fig. 1 justifies this: "the
# cosine similarity between predictions of adversarial examples of identical examples in
# neighboring iterations" is high, and the adversarial examples of earlier iterations are
# "fairly comparable (in terms of ASR and model prediction)" to the current ones. The
# figure has no numbers in the text; what is claimed is *high* similarity and *similar*
# attack success rates (ASR).
#
# **What we run.** CAT (run family `timed:cat`) and, for comparison, PGD-AT
# (`timed:robust`), with a similarity probe: a fixed, seeded set of training samples
# (`similarity_probe` of them, see below) that is re-attacked with the training PGD *without random
# start* (so the attack draws no random numbers and any difference comes from the model
# alone), the model's softmax vectors on those adversarial examples being compared.
# Two neighbourhoods are measured every epoch:
#
# - **consecutive iterations**: after the first and after the second optimizer step of
#   the epoch;
# - **one epoch apart**: at the end of this epoch and of the previous one. In CAT an
#   epoch has as many iterations as there are batches in the training set, so one epoch
#   is the typical gap between two draws of the same sample: this is how stale CAT's
#   weights usually are.
#
# Per probe sample we get one cosine similarity; per epoch we plot its mean and its
# quantile band (10-90% light, 25-75% dark, median dotted), and the ASR (share of the
# probe misclassified under attack) at the earlier and the later iteration.
#
# **How to read it.** A cosine near 1 means the model gives the adversarial example
# nearly the same class distribution at both iterations, so a weight computed at the
# earlier one is a fair proxy for the later one. A caveat the cosine hides: eq. (3) is a
# difference of *log*-probabilities. Two confident predictions of the same class have a
# cosine close to 1 even when the true-class probability moved from 0.01 to 0.001, which
# changes $w$ by 2.3. The lower quantiles (the samples whose prediction did change) are
# therefore the informative part of the band, and the ASR pair shows whether the attack
# still succeeds on the same share of samples.

# %% tags=["hide-input"]
step = tables.similarity_frame(runs, "step")
epoch = tables.similarity_frame(runs, "epoch")
probe = runs["CAT"][0]["config"]["similarity_probe"]
display(Markdown(f"Probe: {probe} training samples per run; {len(scope.seeds)} seed(s); "
                 f"{runs['CAT'][0]['config']['epochs']} epochs."))

# %% [markdown]
# ## Consecutive iterations

# %% tags=["hide-input"] mystnb={"figure": {"caption": "CAT Fig. 1, consecutive iterations: cosine similarity of the predictions on the adversarial examples of the same probe samples after the first and the second step of each epoch (mean, median dotted, quantile bands 10-90% and 25-75%, averaged over seeds), and the attack success rate at both iterations.", "name": "cat-fig1-step"}}
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
figures.similarity_plot(axes[0], axes[1], step, "consecutive iterations")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## One epoch apart (the typical staleness of a CAT weight)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "CAT Fig. 1, one epoch apart: the same measurements between the end of an epoch and the end of the previous one.", "name": "cat-fig1-epoch"}}
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
if len(epoch):
    figures.similarity_plot(axes[0], axes[1], epoch, "one epoch apart")
else:  # a single epoch (smoke profile): nothing to compare
    for ax in axes:
        ax.text(0.5, 0.5, "one epoch trained: no pair of epochs to compare", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
fig.tight_layout()
plt.show()

# %% [markdown]
# Per epoch, seed-averaged (cosine mean and quantiles; ASR in %):

# %% tags=["hide-input"]
display(Markdown("**Consecutive iterations**"))
display(tables.similarity_summary(step).round(3))
if len(epoch):
    display(Markdown("**One epoch apart**"))
    display(tables.similarity_summary(epoch).round(3))

# %% [markdown]
# ## Verdict
#
# Two rows, consecutive iterations and one epoch apart: per run, the mean cosine
# similarity over its epochs; the one-sample t interval of these per-run means must lie at
# or above the threshold. PGD-AT is shown beside CAT to see whether CAT's non-uniform
# sampling makes the model change faster than uniform PGD-AT does; it does not enter the
# verdict.

# %% tags=["hide-input"]
display(Markdown(pages.verdicts_markdown(evaluated)))
display(Markdown(pages.numbers_from(runs["CAT"])))

# %% [markdown]
# ## Rerun this page

# %% tags=["hide-input"]
display(Markdown(pages.rerun_commands(PAGE, params)))
