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
# # DS Table I: total training time

# %% tags=["parameters", "hide-input"]
profile = "cpu"
dataset = "cifar10"
device = "auto"
seeds = [0, 1, 2]

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import pandas as pd

from advsel.repro import Family, costs, figures, inference, pages, paper, tables
from advsel.repro.notebook import open_page, show

page = open_page("ds_table1_time", profile=profile, dataset=dataset, device=device, seeds=seeds)
scope = page.scope
P1 = "robust with P_up = 1 (DS, all 2b')"
families = {"Dong et al. (incl. pre-training)": Family.method("dong"), P1: Family.ds(1.0),
            "DS P_up = 0.5": Family.ds(0.5), "DS eq. (9)": Family.method("ds-adaptive"),
            "robust (PGD-AT, b' adversarial)": Family.method("robust"), "standard": Family.method("standard"),
            "random (P_up = 0.5)": Family.method("random")}
runs = {label: scope.results(family) for label, family in families.items()}
page.summary(runs, [
    f"wall time on {runs[P1][0]['device']} ({runs[P1][0]['hardware'].get('cpu_threads')} threads) of a shared "
    "machine, not two GTX-1080: only ratios compare"])

# %% [markdown]
# **The paper's claim.** Table I gives the total training time on CIFAR-10 on a computer
# with two GTX-1080 GPUs (below, with each time's ratio to P_up = 1). "With P_up = 0.5, the
# training time is reduced when compared with P_up = 1 and varying P_up", and Dong et al.'s
# method costs more "as their method needs a pre-training to rank the samples by the
# learning stability values" (its ratio is in the table).

# %% tags=["hide-input"]
pd.DataFrame({"method": ["Selection approach of Dong et al. [13] with 50% of samples removed", "Robust with P_up = 1",
                         "DS robust with P_up = 0.5", "DS robust with P_up varying as in eq. (9)"],
              "time (s)": [paper.DS_TABLE1_S[k] for k in ("dong", "p_up=1", "p_up=0.5", "adaptive")],
              "ratio to P_up = 1": [paper.ds_table1_ratio(k) for k in ("dong", "p_up=1", "p_up=0.5", "adaptive")]}
             ).set_index("method").style.format({"time (s)": "{:,.2f}", "ratio to P_up = 1": "{:.3f}"})

# %% [markdown]
# **What we run.** The same methods on the book's runs, plus standard training, PGD-AT
# and random selection for context. "Robust with P_up = 1" is read as DS with P_up = 1 (all
# 2b' clean + adversarial samples backpropagated), since P_up is a share of the 2b'; PGD-AT
# (b' adversarial samples) is listed apart, and a ledger row compares the cost of a DS step
# with a PGD-AT step (the other reading of "robust"; see "The cost of a step" below). Dong
# et al.'s cost includes its pre-training, the PGD-AT run of the same settings and seed,
# and its subset run takes as many optimizer steps as PGD-AT (`dong_steps` = `pgd-at`), so
# by design it costs about a PGD-AT run plus a PGD-AT run's worth of steps (the step counts
# are computed below): its ledger row checks this accounting rather than a finding about
# Dong et al.'s method. Time is training time, attack
# plus training passes, evaluation and probes excluded, summed over epochs; mean over
# seeds.
#
# **What selection can save.** Per step, with b' clean samples and a PGD attack of s steps,
# every adversarial method pays s x b' forward and s x b' backward passes for the attack,
# while selection only changes the training passes. Here the DS scoring pass forwards all
# 2b' samples without gradients, then the |S| = round(P_up x 2b') selected ones are
# forwarded again and backpropagated: 2b' + |S| forward and |S| backward passes. P_up = 0.5
# instead of 1 therefore saves b' forward and b' backward passes per step, against an
# attack of s x b' of each. Counting a backward pass as about two forward passes (F + 2B)
# at the paper's s (computed below): in the paper's Algorithm 1 the forward pass over the
# 2b' serves both scoring and training and only the backward pass is restricted to S; our
# scoring pass costs a forward pass of 2b' that a plain P_up = 1 would not need, and in
# exchange unselected samples never enter a pass with gradients. Random selection needs no
# scoring pass. Wall times come from a shared CPU and include its noise; the pass counts
# are exact.

# %% tags=["hide-input"]
s = paper.SETTINGS["DS"]["steps"]
u = {(p, sc): costs.ds_step_units(s, p, sc) for p in (1.0, 0.5) for sc in (True, False)}
show(
    f"At s = {s}, per clean sample: attack {3 * s} units; ours (with a scoring pass) {u[1.0, True]:g} units per step "
    f"at P_up = 1 and {u[0.5, True]:g} at P_up = 0.5, ratio {u[0.5, True] / u[1.0, True]:.3f}; the paper's "
    f"Algorithm 1 {u[1.0, False]:g} and {u[0.5, False]:g}, ratio {u[0.5, False] / u[1.0, False]:.3f} (Table I: "
    f"{paper.ds_table1_ratio('p_up=0.5'):.3f}).")
c = runs[P1][0]["config"]
DONG, AT = "Dong et al. (incl. pre-training)", "robust (PGD-AT, b' adversarial)"
dong0 = runs[DONG][0]
at_steps = inference.mean_sd([costs.steps_of(r) for r in runs[AT]])[0]
dong_steps = inference.mean_sd([costs.steps_of(r) for r in runs[DONG]])[0]
show(f"Our runs: {runs[P1][0]['epochs'][0]['steps']} steps per epoch, training PGD with s = {c['steps']} "
     f"steps. Dong et al. (`dong_steps` = `{dong0['config']['dong_steps']}`): pre-training "
     f"{at_steps:,.0f} PGD-AT steps + subset run {dong_steps:,.0f} steps = "
     f"{(at_steps + dong_steps) / at_steps:.2f} x PGD-AT's steps, the cost ratio to expect by design "
     f"(the paper's Dong over P_up = 1: {paper.ds_table1_ratio('dong'):.2f}).")
table = tables.cost_table(runs, reference=P1, paper_times={
    label: paper.DS_TABLE1_S[key] for label, key in (("Dong et al. (incl. pre-training)", "dong"), (P1, "p_up=1"),
                                                     ("DS P_up = 0.5", "p_up=0.5"), ("DS eq. (9)", "adaptive"))})

# %% [markdown]
# ## Table I: total training time
#
# Ours beside the paper's, both as seconds and as a ratio to P_up = 1 (our seconds are for
# a much smaller setting, so only the ratios compare):

# %% tags=["hide-input"]
fmt = {"time (s)": "{:,.1f}", "sd (s)": "{:,.1f}", "time ratio": "{:.3f}", "paper time (s)": "{:,.2f}",
       "paper ratio": "{:.3f}", "attack time (s)": "{:,.1f}", "seeds": "{:d}"}
table[list(fmt)].style.format(fmt, na_rep="—")

# %% [markdown]
# Sample passes over the whole training (an attack step on b' samples counts b' forward and
# b' backward passes), split into attack and training, and forward-pass equivalents
# F + 2B with their ratio to P_up = 1:

# %% tags=["hide-input"]
passes = ["forward passes", "backward passes", "attack fwd", "attack bwd", "training fwd", "training bwd", "F + 2B"]
table[[*passes, "F + 2B ratio"]].style.format({**dict.fromkeys(passes, "{:,.0f}"), "F + 2B ratio": "{:.3f}"})

# %% [markdown]
# ## Where the time goes
#
# Left: measured training time, attack against training passes. Right: forward-pass
# equivalents, the attack's passes against the training forward and backward passes.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "DS Table I, our runs: training time split into attack and training passes (left) and forward-pass equivalents F + 2B split into attack, training forward and training backward (right), means over seeds.", "name": "ds-table1"}}
time_split = pd.DataFrame({"attack": table["attack time (s)"],
                           "training passes": table["time (s)"] - table["attack time (s)"]})
units = pd.DataFrame({"attack (fwd + 2 bwd)": table["attack fwd"] + 2 * table["attack bwd"],
                      "training fwd": table["training fwd"], "training bwd (x 2)": 2 * table["training bwd"]})
fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), sharey=True)
figures.stacked_bars(axes[0], time_split, list(time_split), "training time (s)")
axes[0].set_title("measured training time")
figures.stacked_bars(axes[1], units, list(units), "forward-pass equivalents (samples)")
axes[1].set_title("sample passes, F + 2B")
fig.tight_layout()
plt.show()

# %% tags=["hide-input"]
share = table["attack time (s)"] / table["time (s)"]
show("Share of the training time spent in the attack: " + ", ".join(
    f"{m} {100 * v:.0f}%" for m, v in share.items() if families[m] != Family.method("standard")) + ".")

# %% [markdown]
# ## The cost of a step: DS against PGD-AT
#
# The other reading of the paper's "robust" is PGD-AT with b' adversarial samples per step.
# A DS step with P_up = 0.5 backpropagates as many samples and pays the same attack, plus
# the scoring pass over the 2b'; its ledger row (`ds-cost-per-step`) asks that a DS step
# cost no more than a PGD-AT step, within the cost band. Per method, each run's own
# training time and sample passes F + 2B over its optimizer steps (pre-training excluded),
# means over seeds, with their ratios to PGD-AT:

# %% tags=["hide-input"]
per_step = pd.DataFrame({label: {
    "steps": inference.mean_sd([costs.per_step(r)["steps"] for r in rs])[0],
    "time per step (ms)": 1000 * inference.mean_sd([costs.per_step(r)["time_s"] for r in rs])[0],
    "F + 2B per step": inference.mean_sd([costs.per_step(r)["f2b"] for r in rs])[0], "seeds": len(rs)}
    for label, rs in runs.items()}).T
per_step.insert(2, "time ratio to PGD-AT", per_step["time per step (ms)"] / per_step.loc[AT, "time per step (ms)"])
per_step["F + 2B ratio to PGD-AT"] = per_step["F + 2B per step"] / per_step.loc[AT, "F + 2B per step"]
show(per_step.style.format({"steps": "{:,.0f}", "time per step (ms)": "{:,.2f}", "time ratio to PGD-AT": "{:.3f}",
                               "F + 2B per step": "{:,.0f}", "F + 2B ratio to PGD-AT": "{:.3f}", "seeds": "{:.0f}"}))
show(pages.verdicts_markdown([(cl, v) for cl, v in page.evaluated if cl.id == "ds-cost-per-step"]))

# %% [markdown]
# ## Verdict
#
# Cost claims compare log training times, so each interval is one for the ratio of the
# methods' geometric-mean times; "about as much" and "about twice" ask for that interval
# inside the cost band around the claimed ratio (the [claims ledger](ledger.ipynb) states
# the band). The cost of a step is each run's training time over its optimizer steps.

# %% tags=["hide-input"]
page.show_verdicts(runs[P1])

# %% [markdown]
# ## Rerun this page

# %% tags=["hide-input"]
page.close()
