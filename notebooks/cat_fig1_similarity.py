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
import math
import statistics

import matplotlib.pyplot as plt
import pandas as pd

from advsel.repro import Family, figures, stats, tables
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


def baseline_frame(gap: str) -> pd.DataFrame:
    """Per (seed, epoch): the same-sample cosine summary and the same-class baseline's (``base_`` columns),
    with the number of same-class pairs; read from the probe's ``similarity_{gap}`` records."""
    rows = []
    for r in runs["CAT"]:
        for e in r["epochs"]:
            m = e.get(f"similarity_{gap}")
            if m is None:
                continue
            base = m.get("cosine_same_class") or {}
            rows.append({"seed": r["config"]["seed"], "epoch": e["epoch"], "same sample": m["cosine"]["mean"],
                         "same class": base.get("mean", math.nan),
                         **{f"base_{q}": base.get(q, math.nan) for q in tables.QKEYS},
                         "pairs": m.get("same_class_pairs", 0)})
    return pd.DataFrame(rows, columns=["seed", "epoch", "same sample", "same class",
                                       *[f"base_{q}" for q in tables.QKEYS], "pairs"])


def gain_frame() -> pd.DataFrame:
    """Per (seed, epoch): Spearman correlation of eq. (3) gains between consecutive draws, pairs, mean gap."""
    rows = [{"seed": r["config"]["seed"], "epoch": e["epoch"], "spearman": e["gain_spearman"],
             "pairs": e.get("gain_spearman_pairs", 0), "gap (iterations)": e.get("gain_spearman_gap_steps", math.nan),
             "iterations per epoch": e["steps"]}
            for r in runs["CAT"] for e in r["epochs"] if "gain_spearman" in e]
    return pd.DataFrame(rows, columns=["seed", "epoch", "spearman", "pairs", "gap (iterations)",
                                       "iterations per epoch"])


def add_baseline(ax, base: pd.DataFrame) -> None:
    """The same-class baseline (seed-averaged mean, q25-q75 band) on a cosine axis."""
    g = base.drop(columns="seed").groupby("epoch").mean()
    if g["same class"].notna().any():
        ax.fill_between(g.index, g["base_q25"], g["base_q75"], color="grey", alpha=0.2, lw=0, zorder=0)
        ax.plot(g.index, g["same class"], color="grey", ls="--", marker="x", ms=4,
                label="baseline: different samples of the same class (mean, band q25-q75)")
        ax.legend(fontsize=8)


def per_run_means(base: pd.DataFrame) -> tuple[list[float], list[float]]:
    """Per seed with a baseline, the mean over epochs of the same-sample and of the same-class cosine."""
    g = base.dropna(subset=["same class"]).groupby("seed")[["same sample", "same class"]].mean()
    return list(g["same sample"]), list(g["same class"])


def baseline_sentence(base: pd.DataFrame, what: str) -> str:
    same, other = per_run_means(base)
    if not same:
        return f"{what}: no probe class had two samples, so there is no baseline."
    pairs = base["pairs"].mean()
    text = (f"{what}: the same sample's predictions have a mean cosine of {statistics.fmean(same):.4f}; two "
            f"different samples of the same class, at the same iteration, {statistics.fmean(other):.4f} "
            f"({pairs:.0f} pairs per measurement on average; means over epochs, then over {len(same)} run(s)). ")
    if len(same) >= 2:
        iv = stats.paired_interval(same, other)
        where = "above" if iv.lo > 0 else "below" if iv.hi < 0 else "not distinguishable from"
        text += (f"Same sample minus baseline: {iv.estimate:+.4f} [{iv.lo:+.4f}, {iv.hi:+.4f}] (paired t "
                 f"{iv.level:.0%} interval over seeds): the same-sample cosine is {where} the baseline. ")
    else:
        text += "One run: no interval for the difference. "
    if statistics.fmean(other) >= stats.SIMILAR_COSINE:
        text += (f"The baseline itself is at or above the threshold {stats.SIMILAR_COSINE} that the verdict asks of "
                 "the same-sample cosine, so passing the threshold does not by itself show that a sample's "
                 "prediction is stable; only the margin over the baseline does.")
    else:
        text += (f"The baseline is below the threshold {stats.SIMILAR_COSINE} that the verdict asks of the "
                 "same-sample cosine.")
    return text


base_step, base_epoch = baseline_frame("step"), baseline_frame("epoch")
gains = gain_frame()

# %% [markdown]
# ## Consecutive iterations

# %% tags=["hide-input"] mystnb={"figure": {"caption": "CAT Fig. 1, consecutive iterations: cosine similarity of the predictions on the adversarial examples of the same probe samples after the first and the second step of each epoch (mean, median dotted, quantile bands 10-90% and 25-75%, averaged over seeds), with the baseline (grey, dashed: two different probe samples of the same class at the later iteration), and the attack success rate at both iterations.", "name": "cat-fig1-step"}}
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
if len(step):
    figures.similarity_plot(axes[0], axes[1], step, "consecutive iterations")
    add_baseline(axes[0], base_step)
else:
    for ax in axes:
        ax.text(0.5, 0.5, "no measurement (one iteration per epoch)", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
fig.tight_layout()
plt.show()

# %% tags=["hide-input"]
if len(base_step):
    show(baseline_sentence(base_step, "Consecutive iterations"))

# %% [markdown]
# ## One epoch apart (the typical staleness of a CAT weight)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "CAT Fig. 1, one epoch apart: the same measurements between the end of an epoch and the end of the previous one, with the same-class baseline.", "name": "cat-fig1-epoch"}}
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
if len(epoch):
    figures.similarity_plot(axes[0], axes[1], epoch, "one epoch apart")
    add_baseline(axes[0], base_epoch)
else:  # a single epoch (smoke profile): nothing to compare
    for ax in axes:
        ax.text(0.5, 0.5, "one epoch trained: no pair of epochs to compare", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
fig.tight_layout()
plt.show()

# %% tags=["hide-input"]
if len(base_epoch):
    show(baseline_sentence(base_epoch, "One epoch apart"))

# %% [markdown]
# Per epoch, seed-averaged (cosine mean and quantiles; ASR in %), with the same-class
# baseline's mean and the number of same-class pairs beside:

# %% tags=["hide-input"]
def with_baseline(df: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    t = tables.similarity_summary(df)
    b = base.drop(columns="seed").groupby("epoch")[["same class", "pairs"]].mean()
    b = b.rename(columns={"same class": "baseline mean", "pairs": "baseline pairs"})
    return t.join(b, on="epoch")


show("**Consecutive iterations**")
show(with_baseline(step, base_step).round(4))
if len(epoch):
    show("**One epoch apart**")
    show(with_baseline(epoch, base_epoch).round(4))

# %% [markdown]
# ## Do a sample's eq. (3) gains keep their rank between draws?

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Spearman rank correlation of a sample's eq. (3) information gain at two consecutive draws by CAT, per epoch (pairs whose later draw falls in the epoch; line: mean over seeds, dots: each seed), and the mean number of iterations between the two draws against the iterations of an epoch.", "name": "cat-fig1-gain-rank"}}
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
if gains["spearman"].notna().any():
    g = gains.drop(columns="seed").groupby("epoch").mean()
    axes[0].plot(g.index, g["spearman"], color="C0", marker="o", ms=4, label="mean over seeds")
    axes[0].plot(gains["epoch"], gains["spearman"], color="C0", ls="none", marker=".", alpha=0.4, label="each seed")
    axes[0].axhline(0, color="grey", lw=0.8)
    axes[0].set(xlabel="epoch", ylabel="Spearman correlation of the gains", ylim=(-1.05, 1.05),
                title="eq. (3) gain, earlier draw vs later draw")
    axes[1].plot(g.index, g["gap (iterations)"], color="C1", marker="o", ms=4, label="mean gap between draws")
    axes[1].plot(g.index, g["iterations per epoch"], color="grey", ls="--", label="iterations per epoch")
    axes[1].set(xlabel="epoch", ylabel="iterations", title="how stale the earlier gain is")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
else:
    for ax in axes:
        ax.text(0.5, 0.5, "no sample drawn twice with a gain on both draws", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
fig.tight_layout()
plt.show()


# %% tags=["hide-input"]
def gain_sentence() -> str:
    ok = gains.dropna(subset=["spearman"])
    if ok.empty:
        return "No sample was drawn twice with a gain recorded at both draws: no rank correlation to report."
    per_run = ok.groupby("seed")["spearman"].mean()
    by_epoch = ok.groupby("epoch")["spearman"].mean()
    spread = f" (per-epoch means from {by_epoch.min():.3f} to {by_epoch.max():.3f})" if len(by_epoch) > 1 else ""
    text = (f"Over {len(per_run)} run(s), the Spearman correlation of a sample's eq. (3) gain at one draw with "
            f"its gain at the next averages {per_run.mean():.3f}{spread}, over {ok['pairs'].mean():.0f} pairs per epoch on average, the two draws "
            f"{ok['gap (iterations)'].mean():.1f} iterations apart on average (an epoch has "
            f"{ok['iterations per epoch'].mean():.0f}).")
    if len(per_run) >= 2:
        iv = stats.one_sample_interval(list(per_run))
        text += (f" {iv.level:.0%} t interval of the per-run means: [{iv.lo:.3f}, {iv.hi:.3f}]"
                 + ("; the ranks persist above chance (zero)." if iv.lo > 0 else
                    "; it does not exclude zero." if iv.hi >= 0 else "; below zero."))
    return text + (" A correlation near 1 means a stale weight ranks samples as a fresh one would; near 0, the "
                   "weighted draw is close to a random one.")


show(gain_sentence())
if len(gains):
    show(gains.drop(columns="seed").groupby("epoch").mean().round(3))

# %% [markdown]
# ## Verdict
#
# Two rows, consecutive iterations and one epoch apart: per run, the mean cosine
# similarity over its epochs; the one-sample t interval of these per-run means must lie at
# or above the threshold. The same-class baseline and the rank correlation of the gains do
# not enter the verdict (the paper claims neither); they say how much a passing verdict
# tells about CAT's stale weights.

# %% tags=["hide-input"]
show(f"Threshold: mean cosine at or above {stats.SIMILAR_COSINE} (`stats.SIMILAR_COSINE`); intervals "
     f"at {stats.LEVEL:.0%}.")
page.show_verdicts(runs["CAT"])

# %% [markdown]
# ## Rerun this page

# %% tags=["hide-input"]
page.close()
