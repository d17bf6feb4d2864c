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
seeds = [0, 1, 2, 3]

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from advsel.repro import Family, figures, inference, readings, tables
from advsel.repro.notebook import open_page, show

page = open_page("cat_fig1_similarity", profile=profile, dataset=dataset, device=device, seeds=seeds)
scope = page.scope
runs = {"CAT": scope.results(Family.timed("cat"))}
page.summary(runs, [
    "the paper gives no number for the similarity; \"highly similar\" is read as a mean cosine at or above the "
    "threshold stated on the claims ledger"])

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
# **What we run.** CAT (run family `timed:cat`, the CAT Tables page's MNIST runs) with a
# similarity probe: a fixed, seeded set of training samples (`similarity_probe` of them,
# see below) that is re-attacked with the training PGD *without random start* (so the
# attack draws no random numbers and any difference comes from the model alone), the
# model's softmax vectors on those adversarial examples being compared. Two
# neighbourhoods are measured every epoch:
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
# **A baseline for the cosine.** Softmax vectors of confident predictions are close to
# one-hot, so *any* two samples classified confidently into the same class have a cosine
# near 1. The probe therefore also records the cosine between the predictions of two
# *different* probe samples of the same class at the same (the later) iteration. The
# same-sample cosine means something only where it stands above this baseline.
#
# **The weights themselves.** Eq. (3) is a difference of *log*-probabilities, which the
# cosine hides: two confident predictions of the same class have a cosine close to 1
# even when the true-class probability moved from 0.01 to 0.001, which changes $w$ by
# 2.3. What CAT needs is that a sample's gain keeps its *rank* between draws (the draw
# favours high weights). The probe records, for every training sample CAT draws twice,
# its eq. (3) gain at both draws (from the training step's own adversarial logits), and
# reports per epoch the Spearman rank correlation of (gain at the earlier draw, gain at
# the later draw), with the number of pairs and the mean number of iterations between the
# draws.

# %% tags=["hide-input"]
step = tables.similarity_frame(runs, "step")
epoch = tables.similarity_frame(runs, "epoch")
c0 = runs["CAT"][0]["config"]
show(f"Probe: {c0['similarity_probe']} training samples per run; {len(runs['CAT'])} run(s), seeds "
     f"{sorted(r['config']['seed'] for r in runs['CAT'])}; {c0['epochs']} epoch{'s' if c0['epochs'] != 1 else ''} of "
     f"{runs['CAT'][0]['epochs'][0]['steps']} iterations.")

base_step, base_epoch = (tables.similarity_baseline_frame(runs["CAT"], gap) for gap in ("step", "epoch"))
gains = tables.gain_rank_frame(runs["CAT"])

# %% [markdown]
# ## Consecutive iterations

# %% tags=["hide-input"] mystnb={"figure": {"caption": "CAT Fig. 1, consecutive iterations: cosine similarity of the predictions on the adversarial examples of the same probe samples after the first and the second step of each epoch (mean, median dotted, quantile bands 10-90% and 25-75%, averaged over seeds), with the baseline (grey, dashed: two different probe samples of the same class at the later iteration), and the attack success rate at both iterations.", "name": "cat-fig1-step"}}
figures.similarity_panels(step, base_step, "consecutive iterations", "no measurement (one iteration per epoch)")
plt.show()

# %% tags=["hide-input"]
if len(base_step):
    show(readings.similarity_baseline_sentence(base_step, "Consecutive iterations"))

# %% [markdown]
# ## One epoch apart (the typical staleness of a CAT weight)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "CAT Fig. 1, one epoch apart: the same measurements between the end of an epoch and the end of the previous one, with the same-class baseline.", "name": "cat-fig1-epoch"}}
figures.similarity_panels(epoch, base_epoch, "one epoch apart", "one epoch trained: no pair of epochs to compare")
plt.show()

# %% tags=["hide-input"]
if len(base_epoch):
    show(readings.similarity_baseline_sentence(base_epoch, "One epoch apart"))

# %% [markdown]
# Per epoch, seed-averaged (cosine mean and quantiles; ASR in %), with the same-class
# baseline's mean and the number of same-class pairs beside:

# %% tags=["hide-input"]
show("**Consecutive iterations**")
show(tables.similarity_with_baseline(step, base_step).round(4))
if len(epoch):
    show("**One epoch apart**")
    show(tables.similarity_with_baseline(epoch, base_epoch).round(4))

# %% [markdown]
# ## Do a sample's eq. (3) gains keep their rank between draws?

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Spearman rank correlation of a sample's eq. (3) information gain at two consecutive draws by CAT, per epoch (pairs whose later draw falls in the epoch; line: mean over seeds, dots: each seed), and the mean number of iterations between the two draws against the iterations of an epoch.", "name": "cat-fig1-gain-rank"}}
figures.gain_rank_panels(gains)
plt.show()

# %% tags=["hide-input"]
show(readings.gain_rank_sentence(gains))
if len(gains):
    show(tables.per_epoch_means(gains).round(3))

# %% [markdown]
# ## Verdict
#
# Two rows, consecutive iterations and one epoch apart: per run, the mean cosine
# similarity over its epochs; the one-sample t interval of these per-run means must lie at
# or above the threshold. The same-class baseline and the rank correlation of the gains do
# not enter the verdict (the paper claims neither); they say how much a passing verdict
# tells about CAT's stale weights.

# %% tags=["hide-input"]
show(f"Threshold: mean cosine at or above {inference.SIMILAR_COSINE} (`inference.SIMILAR_COSINE`); intervals "
     f"at {inference.LEVEL:.0%}.")
page.show_verdicts(runs["CAT"])

# %% [markdown]
# ## Rerun this page

# %% tags=["hide-input"]
page.close()
