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
# # Using advsel in your own training loop
#
# `advsel` is a small library: the pieces the book's experiments are made of can be used one
# by one in a training loop of your own. Install it from the repository root with
# `pip install -e '.[eval]'` (the `eval` extra brings torchattacks for AutoAttack).
#
# Every example on this page is executed when the book is built, on a small slice of MNIST
# and a tiny network, so it runs in seconds; the outputs below each cell are what it printed.
# The same calls work unchanged on CIFAR-10 and a ResNet-18 (for CIFAR-10, $\epsilon = 8/255$,
# $\alpha = 2/255$ instead of MNIST's 0.3 and 0.1).

# %% tags=["parameters"]
profile = "cpu"
device = "auto"

# %% tags=["hide-input"]
from advsel.repro import pages

pages.check_parameters("usage", profile=profile, device=device)  # a clear error for a mistyped parameter

# %% [markdown]
# The data: a class-balanced slice of MNIST as float images in $[0, 1]$ (read from
# `$ADVSEL_DATA`), batches of b' clean samples.

# %%
import torch
import torch.nn as nn
import torch.nn.functional as F

from advsel.data import MEAN_STD, balanced_subset, load, to_float
from advsel.device import resolve_device

torch.manual_seed(0)
dev = resolve_device(device)
n_train, n_test, b = (200, 100, 50) if profile == "smoke" else (1000, 200, 100)  # b: b', clean samples per step
mnist = load("mnist")
idx = balanced_subset(mnist.y_train, n_train, seed=0)
train_x, train_y = to_float(mnist.x_train[idx]), mnist.y_train[idx]  # (N, 1, 28, 28) in [0, 1], on the CPU
x_test, y_test = to_float(mnist.x_test[:n_test]).to(dev), mnist.y_test[:n_test].to(dev)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(train_x, train_y), batch_size=b, shuffle=True)
eps, alpha, steps = 0.3, 0.1, 3  # MNIST's eps; CIFAR-10: 8 / 255, 2 / 255
print(f"{n_train} training and {n_test} test images, b' = {b}, {len(loader)} steps per epoch, device {dev}")

# %% [markdown]
# ## Conventions
#
# - **Inputs are images in $[0, 1]$, and the model owns its normalisation.** Attacks clamp to
#   $[0, 1]$ and measure $\epsilon$ in those units ($8/255 \approx 0.0314$ for CIFAR-10). Put
#   the normalisation in front of your network with `advsel.models.Normalize`:

# %%
from advsel.models import Normalize

mean, std = MEAN_STD["mnist"]  # CIFAR-10: (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
my_net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                       nn.Flatten(), nn.Linear(16 * 14 * 14, 10))
model = nn.Sequential(Normalize(mean, std), my_net).to(dev)
print(model)

# %% [markdown]
# - An attack saves the model's train/eval mode, runs in eval mode (BatchNorm uses its running
#   statistics and is not updated by attack steps), restores the mode, and takes gradients with
#   respect to the input only, so the parameters' `.grad` are never touched:

# %%
from advsel.attacks import pgd

model.train()
x, y = train_x[:b].to(dev), train_y[:b].to(dev)
x_adv = pgd(model, x, y, eps=eps, alpha=alpha, steps=steps)
print(f"still in train mode: {model.training}; parameter gradients: "
      f"{'none' if all(p.grad is None for p in model.parameters()) else 'some'}; "
      f"largest perturbation {(x_adv - x).abs().max():.3f} (eps = {eps}); inputs in "
      f"[{x_adv.min():.0f}, {x_adv.max():.0f}]")

# %% [markdown]
# ## DS: backpropagate only the hardest clean and adversarial samples
#
# `select("top", ...)` scores the $2b'$ clean and adversarial samples by cross-entropy in a pass
# without gradients and returns the selection set $\mathcal{S}$; forward and backpropagate
# only `sel.x`, `sel.y`. One epoch:

# %%
from advsel.selectors import select

opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
p_up = 0.5
for x, y in loader:  # x: (b', C, H, W) in [0, 1]
    x, y = x.to(dev), y.to(dev)
    x_adv = pgd(model, x, y, eps=eps, alpha=alpha, steps=steps)
    model.train()
    # scoring pass over the 2b': no gradients, BatchNorm statistics frozen
    sel = select("top", model, x, x_adv, y, p_up=p_up)
    # only S is forwarded again and backpropagated
    loss = F.cross_entropy(model(sel.x), sel.y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
print(f"last step: |S| = {len(sel.x)} of 2b' = {2 * b}: {int(sel.n_clean)} clean, {int(sel.n_adv)} adversarial "
      f"(sel.is_adv marks them one by one: {sel.is_adv[:8].tolist()} ...)")

# %% [markdown]
# With `p_up=0.5`, `sel.x` holds $b'$ of the $2b'$ samples; `sel.n_clean` and `sel.n_adv` say
# how many are clean and adversarial (DS Fig. 7), `sel.is_adv` marks them one by one.
# `select("random", model, x, x_adv, y, p_up=0.5, generator=g)` is DS's random baseline (no
# scoring pass), `select("adv", ...)` is plain PGD-AT and `select("clean", ...)` standard
# training:

# %%
g = torch.Generator().manual_seed(0)
for kind in ("random", "adv", "clean"):
    s = select(kind, model, x, x_adv, y, p_up=0.5, generator=g)
    print(f"{kind:>6}: {len(s.x)} samples, {int(s.n_clean)} clean, {int(s.n_adv)} adversarial")

# %% [markdown]
# ### Adapting P_up by eq. (9)
#
# Start from $P_{\rm up}^{(0)} = 1$ and update once per epoch from the epoch's accuracy;
# `sel.correct` and `sel.scored` give the training accuracy of the scoring passes:

# %%
from advsel.p_up import adaptive_p_up

p_up = 1.0
for epoch in range(2):
    correct = scored = 0
    for x, y in loader:
        x, y = x.to(dev), y.to(dev)
        x_adv = pgd(model, x, y, eps=eps, alpha=alpha, steps=steps)
        model.train()
        sel = select("top", model, x, x_adv, y, p_up=p_up)
        loss = F.cross_entropy(model(sel.x), sel.y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        correct += int(sel.correct)
        scored += sel.scored
    # max(floor, (1 - accuracy) * p_up)
    print(f"epoch {epoch}: P_up = {p_up:.3f}, scoring accuracy {correct / scored:.3f}", end=" -> ")
    p_up = adaptive_p_up(p_up, correct / scored, floor=0.1)
    print(f"next P_up = {p_up:.3f}")

# %% [markdown]
# ## CAT: draw batches by information gain
#
# `CATSampler` yields batches of data-set indices drawn by the smoothed weights, class-balanced
# and without replacement; after the step, `observe` applies eqs. (3) and (4) to the drawn
# samples from the logits on their adversarial examples:

# %%
from advsel.cat import CATSampler

# train_x: (N, C, H, W) in [0, 1] and train_y: (N,) int64, on the CPU
sampler = CATSampler(torch.arange(len(train_y)), train_y, batch_size=b, seed=0, alpha=0.5, temperature=1.0,
                     num_classes=10)
for epoch in range(1):
    for idx in sampler.batches(epoch):  # len(train_y) // b' iterations
        x, y = train_x[idx].to(dev), train_y[idx].to(dev)
        x_adv = pgd(model, x, y, eps=eps, alpha=alpha, steps=steps)
        model.train()
        logits_adv = model(x_adv)
        loss = F.cross_entropy(logits_adv, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        # eqs. (3)-(4) for the drawn samples: w <- a * w + (1 - a) * gain
        sampler.observe(idx, logits_adv.detach(), y)
probs = sampler.probabilities()
print(f"per-class batch counts {sampler.class_counts().tolist()}; within-class sampling probabilities "
      f"from {probs.min():.2e} to {probs.max():.2e} (uniform: {10 / len(train_y):.2e})")

# %% [markdown]
# ### CAT in your own `DataLoader`: three changed lines
#
# The samplers are PyTorch batch samplers too (`__iter__`, `__len__`, `set_epoch`), so CAT
# plugs into an existing loop over any map-style `Dataset`, without holding the data in
# memory: wrap the dataset in `WithIndex` (items come with their index), pass the sampler as
# `batch_sampler`, and report the adversarial logits with `observe`. Below, a dataset that
# reads one image at a time (here from the tensors above, standing for files on disk).
# "Without replacement" covers one batch: a sample never appears twice in a batch, but
# every batch is drawn afresh, so samples recur across the batches of an epoch and an epoch
# touches only part of the training set (with equal weights a share of about
# $1 - (1 - b'/n)^{n/b'} \approx 1 - 1/e$; the count of updated weights below is what this
# epoch touched).

# %%
from advsel.samplers import WithIndex


class OneImageAtATime(torch.utils.data.Dataset):
    """A map-style dataset that produces each item on request (as a dataset reading files would)."""

    def __len__(self) -> int:
        return len(train_y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return train_x[i], int(train_y[i])


cat_sampler = CATSampler(torch.arange(len(train_y)), train_y, batch_size=b, seed=0)          # changed line 1
loader_cat = torch.utils.data.DataLoader(WithIndex(OneImageAtATime()), batch_sampler=cat_sampler)  # changed line 2
before = cat_sampler.weights.clone()
for epoch in range(1):
    cat_sampler.set_epoch(epoch)
    for x, y, i in loader_cat:
        x, y = x.to(dev), y.to(dev)
        x_adv = pgd(model, x, y, eps=eps, alpha=alpha, steps=steps)
        model.train()
        logits_adv = model(x_adv)
        loss = F.cross_entropy(logits_adv, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        cat_sampler.observe(i, logits_adv.detach(), y)                                        # changed line 3
changed = int((cat_sampler.weights != before).sum())
print(f"{len(loader_cat)} batches; {changed} of {len(train_y)} weights updated by eq. (4)")

# %% [markdown]
# `advsel.cat.information_gain(logits_adv, y)` is eq. (3) on its own, and
# `sampler.probabilities()` the current within-class sampling probabilities
# $\operatorname{softmax}(w / T)$:

# %%
from advsel.cat import information_gain

print("eq. (3) on the last batch's first samples:", [round(v, 2) for v in information_gain(logits_adv, y)[:5].tolist()])

# %% [markdown]
# ### DS and CAT in one step: CAT's weights from DS's scoring pass
#
# DS's scoring pass already forwards the $b'$ adversarial examples, and `select("top", ...)`
# keeps their logits: `sel.logits_adv` ($b'$ rows, in the order of `x`, from before the
# update). They are exactly what CAT's `observe` needs, so a DS step on a batch drawn by
# the CAT sampler updates CAT's weights without a forward pass of its own (this is the
# `ds-cat` method). A forward hook counts the passes of each step after the attack:

# %%
ds_cat = CATSampler(torch.arange(len(train_y)), train_y, batch_size=b, seed=1)
before = ds_cat.weights.clone()
passes = []  # samples per forward pass of the model, after the attack
hook = model.register_forward_hook(lambda module, inputs, output: passes.append(len(inputs[0])))
for idx in ds_cat.batches(0):
    x, y = train_x[idx].to(dev), train_y[idx].to(dev)
    x_adv = pgd(model, x, y, eps=eps, alpha=alpha, steps=steps)
    model.train()
    passes.clear()
    sel = select("top", model, x, x_adv, y, p_up=0.5)  # scoring pass over the 2b', no gradients
    loss = F.cross_entropy(model(sel.x), sel.y)  # the selected samples, forwarded again
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    ds_cat.observe(idx, sel.logits_adv, y)  # eqs. (3)-(4) from the scoring pass's logits: no forward pass
hook.remove()
print(f"last step: forward passes over {passes} samples (scoring the 2b' = {2 * b}, training |S| = {len(sel.x)}), "
      f"none for CAT; sel.logits_adv {tuple(sel.logits_adv.shape)}; "
      f"{int((ds_cat.weights != before).sum())} of {len(train_y)} weights updated")

# %% [markdown]
# ## Dong et al.'s stable subset
#
# Count, during an ordinary PGD-AT run, how often each sample's training adversarial example
# is misclassified, then keep the most stable half of every class:

# %%
from advsel.dong import StabilityTracker, stable_subset

indices = torch.arange(len(train_y))
tracker = StabilityTracker(indices)
for x, y, i in torch.utils.data.DataLoader(torch.utils.data.TensorDataset(train_x, train_y, indices), batch_size=b):
    x, y = x.to(dev), y.to(dev)
    x_adv = pgd(model, x, y, eps=eps, alpha=alpha, steps=steps)
    model.train()
    logits_adv = model(x_adv)
    loss = F.cross_entropy(logits_adv, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    # in the PGD-AT loop, with i the data-set indices of the batch:
    tracker.update(i, logits_adv.detach(), y)
# after the run:
subset = stable_subset(indices, train_y[indices], tracker.count_wrong, keep=0.5, seed=0)
print(f"kept {len(subset)} of {len(indices)} samples; per class {torch.bincount(train_y[subset]).tolist()}")

# %% [markdown]
# ## Evaluation
#
# All three run in eval mode on inputs in $[0, 1]$. PGD with restarts keeps, per sample, a
# restart that fools the model, so more restarts never report a higher robust accuracy.
# AutoAttack (torchattacks' `AutoAttack`, version `standard`) is the accepted strong
# evaluation and much slower than PGD; use a test subset on a CPU (here a handful of
# samples). The model above has seen a few adversarial epochs of a small slice of MNIST, so
# its accuracies say nothing about the methods: the numbers only show the calls at work.

# %%
from advsel.attacks import autoattack_accuracy, clean_accuracy, robust_accuracy

clean = clean_accuracy(model, x_test, y_test)
pgd20 = robust_accuracy(model, x_test, y_test, eps=eps, alpha=alpha / 4, steps=20, restarts=2)
n_aa = 8
aa = autoattack_accuracy(model, x_test[:n_aa], y_test[:n_aa], eps=eps, num_classes=10, version="standard")
print(f"clean {clean:.3f}, PGD-20 x 2 restarts {pgd20:.3f}, AutoAttack ({n_aa} samples) {aa:.3f}")

# %% [markdown]
# ## Whole runs: configuration, cache and trainer
#
# A configured run trains one of the book's methods (`python -m advsel methods` lists them:
# `standard`, `robust`, `ds`, `ds-adaptive`, `random`, `cat`, `cat-uniform`, `ds-cat`,
# `prescreen`, `dong`) with its model, data, attack and
# evaluation, and is cached under a key of its configuration. The config below is one of
# the book's own runs, so at the cpu profile it is read from the book's run cache (the
# repository's `results/runs/`, or `$ADVSEL_RUNS`) instead of being trained; without
# `cache_dir`, `run` uses your own run cache (`~/.cache/advsel/runs`):

# %%
from advsel.config import ConfigError, make_config
from advsel.experiments import run
from advsel.repro.scope import book_runs

# the profile's defaults for the data set, then the overrides
cfg = make_config(profile, "cifar10", method="ds-adaptive", seed=0)
result = run(cfg, progress=False, cache_dir=book_runs())  # trained now, or read from the run cache
last = result["epochs"][-1]
print(f"clean {last['clean_acc']:.3f}, robust {last['robust_acc']:.3f}, data: {result['data_source']}")

# %% [markdown]
# `make_config("paper", "cifar10", method="ds-adaptive", p_up_floor=0.1, device="cuda")` is
# DS's setting on a GPU; an unknown or out-of-range parameter raises `ConfigError` naming it:

# %%
for bad in ({"p_up": 1.5}, {"p_upp": 0.5}):
    try:
        make_config(profile, "mnist", method="ds", **bad)
    except ConfigError as e:
        print(f"ConfigError: {e}")

# %% [markdown]
# To train on tensors of your own instead of the files under `$ADVSEL_DATA`, hand
# `advsel.trainer.Trainer` a `TensorData` (images `uint8` of shape (N, C, H, W); the
# `dataset` name picks the normalisation). Here a slice of MNIST stands in for "your copy":

# %%
from advsel.data import TensorData
from advsel.trainer import Trainer

x_train_uint8, y_train = mnist.x_train[:n_train], mnist.y_train[:n_train]
x_test_uint8, y_test_own = mnist.x_test[:1000], mnist.y_test[:1000]  # the trainer evaluates on a balanced n_test
data = TensorData("mnist", x_train_uint8, y_train, x_test_uint8, y_test_own, source="my copy of MNIST")
own = Trainer(make_config(profile, "mnist", method="cat", train_size=None, test_size=n_test, epochs=1,
                          batch_size=b, device=device), data, progress=False).fit()
print(f"CAT, one epoch on {own['train_size']} samples: clean {own['epochs'][-1]['clean_acc']:.3f}, "
      f"robust {own['epochs'][-1]['robust_acc']:.3f}, data: {own['data_source']}")

# %% [markdown]
# The evaluation works on the same object. `advsel.evaluation.test_subset(data, n)` is the
# fixed, seeded, class-balanced subset of `n` test samples that every advsel evaluation uses
# (the same for every run and method), as $[0, 1]$ images and labels, and
# `advsel.evaluation.evaluate_model` runs the final evaluation on it: clean and PGD accuracy
# with restarts and, with `autoattack_n`, AutoAttack on a class-balanced part. It returns the
# record a result stores as `final_eval`. Here the model of the sections above, on "your
# copy":

# %%
from advsel.evaluation import evaluate_model, test_subset

x_sub, y_sub = test_subset(data, n_test)
print(f"test_subset: {len(y_sub)} of {len(data.y_test)} test images, per class "
      f"{torch.bincount(y_sub, minlength=10).tolist()}, values in [{x_sub.min():.0f}, {x_sub.max():.0f}]")
record = evaluate_model(model, x_sub.to(dev), y_sub.to(dev), eps=eps, alpha=alpha / 4, steps=20, restarts=2)
print({k: record[k] for k in ("n", "clean_acc", "robust_acc", "attack")})

# %% [markdown]
# `advsel.analysis.time_to_accuracy(result, [0.4, 0.5], metric="robust_acc")` then gives the
# training time and passes at which a run first reached each accuracy (CAT's Tables 1-2;
# None for a level never reached):

# %%
from advsel.analysis import time_to_accuracy

for level, hit in time_to_accuracy(result, [0.4, 0.5], metric="robust_acc").items():
    print(level, "never" if hit is None else {k: round(v, 2) for k, v in hit.items()})

# %% [markdown]
# ## Command line
#
# Every field of the configuration is a flag, and flags override the profile:
#
# ```bash
# python -m advsel train --dataset mnist --method ds --p-up 0.5 \
#     --profile cpu --seed 0 --out run.json
# python -m advsel train --dataset cifar10 --method ds-adaptive \
#     --p-up-floor 0.1 --eps 8/255 --alpha 2/255
# python -m advsel train -h   # all flags
# ```
#
# `--eps` and `--alpha` accept fractions. The result JSON (`config`, `data_source`, `epochs`,
# `evals`, pass counts and times) goes to `--out` and to the run cache. The start of
# `python -m advsel train -h` (`advsel.cli.main` is the same command line in Python):

# %%
import contextlib
import io

from advsel import cli

out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):  # -h prints the help and exits
    cli.main(["train", "-h"])
print("\n".join(out.getvalue().splitlines()[:12]), "\n...")
