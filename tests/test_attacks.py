"""Attacks: PGD against torchattacks, the eps-ball, restarts, FGSM, argument checks, accuracy helpers."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchattacks
from _synthetic import own_labels

from advsel.attacks import autoattack_accuracy, clean_accuracy, eval_mode, fgsm, pgd, predict, robust_accuracy


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.rand(48, 1, 8, 8, generator=g), torch.randint(0, 10, (48,), generator=g)


def bn_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "num_batches" in k}


@pytest.mark.parametrize(("eps", "alpha", "steps"), [(0.1, 0.03, 5), (0.3, 0.1, 7), (8 / 255, 2 / 255, 10)])
def test_pgd_without_random_start_equals_torchattacks(bn_model: nn.Module, batch, eps, alpha, steps) -> None:
    x, y = batch
    assert bn_model.training
    bn0 = bn_state(bn_model)
    ours = pgd(bn_model, x, y, eps=eps, alpha=alpha, steps=steps, random_start=False)
    assert bn_model.training, "train mode is restored"
    assert all(p.grad is None for p in bn_model.parameters()), "parameter gradients are not touched"
    assert all(torch.equal(v, bn_state(bn_model)[k]) for k, v in bn0.items()), "BatchNorm statistics unchanged"
    theirs = torchattacks.PGD(bn_model, eps=eps, alpha=alpha, steps=steps, random_start=False)(x, y)
    assert not torch.equal(ours, x), "the attack moved the images"
    assert torch.equal(ours, theirs)


def test_pgd_restores_eval_mode(bn_model: nn.Module, batch) -> None:
    x, y = batch
    bn_model.eval()
    pgd(bn_model, x, y, eps=0.1, alpha=0.05, steps=2)
    assert not bn_model.training
    assert all(not m.training for m in bn_model.modules())


def test_pgd_restores_the_mode_when_the_model_fails(bn_model: nn.Module) -> None:
    with pytest.raises(RuntimeError):
        pgd(bn_model, torch.rand(2, 3, 8, 8), torch.zeros(2, dtype=torch.long), eps=0.1, alpha=0.1, steps=1)
    assert bn_model.training


@pytest.mark.parametrize("random_start", [False, True])
def test_pgd_stays_in_the_eps_ball_and_the_image_range(bn_model: nn.Module, batch, random_start: bool) -> None:
    x, y = batch
    eps = 0.05
    torch.manual_seed(0)
    adv = pgd(bn_model, x, y, eps=eps, alpha=0.04, steps=4, random_start=random_start, restarts=2)
    assert adv.shape == x.shape and not adv.requires_grad
    assert (adv - x).abs().max() <= eps + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1
    # the attack uses its budget: most pixels end on the boundary of the ball or of [0, 1]
    on_edge = ((adv - x).abs() >= eps - 1e-6) | (adv == 0) | (adv == 1)
    assert on_edge.float().mean() > 0.5


def test_pgd_raises_the_loss(bn_model: nn.Module, batch) -> None:
    x, y = batch
    bn_model.eval()
    adv = pgd(bn_model, x, y, eps=0.1, alpha=0.025, steps=5, random_start=False)
    with torch.no_grad():
        assert F.cross_entropy(bn_model(adv), y) > F.cross_entropy(bn_model(x), y)


def test_zero_steps_or_zero_eps_leaves_the_images(bn_model: nn.Module, batch) -> None:
    x, y = batch
    assert torch.equal(pgd(bn_model, x, y, eps=0.1, alpha=0.1, steps=0, random_start=False), x)
    assert torch.equal(pgd(bn_model, x, y, eps=0.0, alpha=0.1, steps=3), x)


def test_pgd_random_start_follows_the_global_seed(bn_model: nn.Module, batch) -> None:
    x, y = batch
    runs = []
    for seed in (5, 5, 6):
        torch.manual_seed(seed)
        runs.append(pgd(bn_model, x, y, eps=0.1, alpha=0.02, steps=2))
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


def test_more_restarts_never_help_the_model(bn_model: nn.Module) -> None:
    x = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    y = own_labels(bn_model, x)
    kw = dict(eps=0.02, alpha=0.005, steps=3)
    accs = []
    for restarts in (1, 2, 5):
        torch.manual_seed(0)
        accs.append(robust_accuracy(bn_model, x, y, restarts=restarts, batch_size=20, **kw))
    assert 0 < accs[0] < 1, "the setting must leave room for restarts to matter"
    assert accs[2] <= accs[1] <= accs[0]
    # per sample: what one restart breaks stays broken, and a sample never ends with a lower loss
    torch.manual_seed(0)
    one = pgd(bn_model, x, y, restarts=1, **kw)
    torch.manual_seed(0)
    five = pgd(bn_model, x, y, restarts=5, **kw)
    with torch.no_grad(), eval_mode(bn_model):
        l1, l5 = (F.cross_entropy(bn_model(a), y, reduction="none") for a in (one, five))
        wrong1, wrong5 = bn_model(one).argmax(1) != y, bn_model(five).argmax(1) != y
    assert bool((wrong5 | ~wrong1).all())
    assert bool((l5[~wrong5] >= l1[~wrong5]).all())
    assert (five - x).abs().max() <= kw["eps"] + 1e-6


@pytest.mark.parametrize("eps", [0.02, 0.05])
def test_restarts_keep_per_sample_the_strongest_single_restart(bn_model: nn.Module, eps: float) -> None:
    """Each sample keeps a misclassifying restart when there is one, else the highest-loss one."""
    x = torch.rand(128, 1, 8, 8, generator=torch.Generator().manual_seed(4))
    y = own_labels(bn_model, x)
    kw = dict(eps=eps, alpha=eps / 4, steps=3)
    restarts = 4
    torch.manual_seed(0)
    combined = pgd(bn_model, x, y, restarts=restarts, **kw)
    torch.manual_seed(0)  # the same random starts, one restart at a time
    singles = torch.stack([pgd(bn_model, x, y, restarts=1, **kw) for _ in range(restarts)])  # (R, B, ...)
    with torch.no_grad(), eval_mode(bn_model):
        logits = torch.stack([bn_model(s) for s in singles])
    wrong = logits.argmax(-1) != y
    loss = F.cross_entropy(logits.flatten(0, 1), y.repeat(restarts), reduction="none").view(restarts, -1)
    assert wrong.any(0).any() and (~wrong.any(0)).any(), "some samples are broken by no restart, some by one"
    best_wrong = torch.where(wrong, loss, -torch.inf).argmax(0)  # the highest-loss misclassifying restart
    best = torch.where(wrong.any(0), best_wrong, loss.argmax(0))
    expected = singles[best, torch.arange(len(x))]
    assert torch.equal(combined, expected)


def test_fgsm_is_one_signed_gradient_step(bn_model: nn.Module, batch) -> None:
    x, y = batch
    eps = 0.1
    adv = fgsm(bn_model, x, y, eps=eps)
    assert bn_model.training and all(p.grad is None for p in bn_model.parameters())
    with eval_mode(bn_model):
        xr = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(F.cross_entropy(bn_model(xr), y), xr)
    expected = (x + eps * grad.sign()).clamp(0, 1)
    assert torch.allclose(adv, expected, atol=1e-6)
    assert torch.allclose(adv, torchattacks.FGSM(bn_model, eps=eps)(x, y), atol=1e-6)
    assert torch.equal(fgsm(bn_model, x, y, eps=0.0), x)


@pytest.mark.parametrize(("kwargs", "name"), [
    (dict(eps=-0.1, alpha=0.1, steps=1), "eps"),
    (dict(eps=float("nan"), alpha=0.1, steps=1), "eps"),
    (dict(eps=0.1, alpha=0.0, steps=1), "alpha"),
    (dict(eps=0.1, alpha=-1.0, steps=1), "alpha"),
    (dict(eps=0.1, alpha=0.1, steps=-1), "steps"),
    (dict(eps=0.1, alpha=0.1, steps=1.5), "steps"),
    (dict(eps=0.1, alpha=0.1, steps=1, restarts=0), "restarts"),
])
def test_bad_attack_arguments_name_the_parameter(bn_model: nn.Module, batch, kwargs, name: str) -> None:
    x, y = batch
    with pytest.raises(ValueError, match=rf"^{name}=.* is not allowed; {name} must be"):
        pgd(bn_model, x, y, **kwargs)
    if name == "eps":
        with pytest.raises(ValueError, match=r"^eps="):
            fgsm(bn_model, x, y, eps=kwargs["eps"])


def test_accuracy_helpers(bn_model: nn.Module, batch) -> None:
    x, y = batch
    labels = own_labels(bn_model, x)
    assert torch.equal(predict(bn_model, x, batch_size=7), labels)
    assert bn_model.training
    assert clean_accuracy(bn_model, x, labels, batch_size=10) == 1.0
    flipped = (labels + 1) % 10
    assert clean_accuracy(bn_model, x, flipped) == 0.0
    half = torch.where(torch.arange(len(x)) % 2 == 0, labels, flipped)
    assert clean_accuracy(bn_model, x, half) == 0.5
    torch.manual_seed(0)
    assert robust_accuracy(bn_model, x, labels, eps=0.0, alpha=0.1, steps=2) == 1.0
    torch.manual_seed(0)
    assert robust_accuracy(bn_model, x, labels, eps=0.5, alpha=0.2, steps=5) < 0.2


# ------------------------------------------------------------------ inputs checked at the edge


def _pgd(model, x, y):
    return pgd(model, x, y, eps=0.1, alpha=0.05, steps=1)


def _fgsm(model, x, y):
    return fgsm(model, x, y, eps=0.1)


def _robust(model, x, y):
    return robust_accuracy(model, x, y, eps=0.1, alpha=0.05, steps=1)


def _aa(model, x, y):
    return autoattack_accuracy(model, x, y, eps=0.1)


ENTRY_POINTS = {"pgd": _pgd, "fgsm": _fgsm, "robust_accuracy": _robust, "clean_accuracy": clean_accuracy,
                "autoattack_accuracy": _aa}
NAME = {"fgsm": "pgd"}  # fgsm is one step of pgd and reports under its name


@pytest.mark.parametrize("fn", ENTRY_POINTS)
@pytest.mark.parametrize(("kind", "shown"), [("0-255", r"\[0\.\d+, 25\d\.\d+\]"),
                                             ("normalised", r"\[-0\.99\d+, 0\.99\d+\]")])
def test_images_outside_0_1_are_rejected_not_clamped(bn_model: nn.Module, batch, fn: str, kind: str,
                                                     shown: str) -> None:
    x, y = batch
    x = x * 255 if kind == "0-255" else (x - 0.5) / 0.5
    with pytest.raises(ValueError, match=rf"^{NAME.get(fn, fn)}: x ranges over {shown}; the attacks take images "
                                         r"in \[0, 1\] \(0-255 pixels: divide by 255; normalisation belongs "
                                         r"inside the model"):
        ENTRY_POINTS[fn](bn_model, x, y)


@pytest.mark.parametrize("fn", ENTRY_POINTS)
def test_integer_images_are_a_type_error(bn_model: nn.Module, batch, fn: str) -> None:
    x, y = batch
    with pytest.raises(TypeError, match=rf"^{NAME.get(fn, fn)}: x has dtype torch.uint8; the attacks take "
                                        r"floating-point images in \[0, 1\] \(for 0-255 pixels: x.float\(\) / 255\)"):
        ENTRY_POINTS[fn](bn_model, (x * 255).to(torch.uint8), y)


@pytest.mark.parametrize("fn", ENTRY_POINTS)
def test_labels_outside_the_models_classes_are_rejected(bn_model: nn.Module, batch, fn: str) -> None:
    x, y = batch
    y = y.clone()
    y[3] = 10
    expected = (r"y holds labels up to 10 but num_classes=10; labels must be in \[0, 9\]" if fn == "autoattack_accuracy"
                else r"y holds labels up to 10 but the model returns 10 logits; labels must be class indices in "
                     r"\[0, 9\]")
    with pytest.raises(ValueError, match=rf"^{NAME.get(fn, fn)}: {expected}"):
        ENTRY_POINTS[fn](bn_model, x, y)
    y[3] = -1
    with pytest.raises(ValueError, match=r"y holds labels from -1; labels must be class indices >= 0"):
        ENTRY_POINTS[fn](bn_model, x, y)


@pytest.mark.parametrize("fn", ENTRY_POINTS)
def test_labels_of_the_wrong_length_or_dtype_are_rejected(bn_model: nn.Module, batch, fn: str) -> None:
    x, y = batch
    name = NAME.get(fn, fn)
    with pytest.raises(ValueError, match=rf"^{name}: y has shape \(47,\) for 48 images; expected one label per "
                                         r"image, shape \(48,\)"):
        ENTRY_POINTS[fn](bn_model, x, y[:-1])
    with pytest.raises(ValueError, match=r"y has shape \(48, 1\)"):
        ENTRY_POINTS[fn](bn_model, x, y[:, None])
    with pytest.raises(TypeError, match=rf"^{name}: y has dtype torch.float32; labels must be integer class "
                                        r"indices \(torch.long\)"):
        ENTRY_POINTS[fn](bn_model, x, y.float())
    with pytest.raises(TypeError, match=r"y must be a torch.Tensor of integer class labels, not list"):
        ENTRY_POINTS[fn](bn_model, x, y.tolist())


def test_integer_labels_of_any_width_are_accepted(bn_model: nn.Module, batch) -> None:
    x, y = batch
    labels = own_labels(bn_model, x)
    for dtype in (torch.uint8, torch.int32, torch.int64):
        assert clean_accuracy(bn_model, x, labels.to(dtype)) == 1.0
        torch.manual_seed(0)
        a = pgd(bn_model, x, y.to(dtype), eps=0.1, alpha=0.05, steps=2)
        torch.manual_seed(0)
        assert torch.equal(a, pgd(bn_model, x, y, eps=0.1, alpha=0.05, steps=2))


def test_the_label_check_uses_the_models_width(batch) -> None:
    x, y = batch
    torch.manual_seed(0)
    five = nn.Sequential(nn.Flatten(), nn.Linear(64, 5))
    ok = y % 5
    pgd(five, x, ok, eps=0.1, alpha=0.05, steps=1)
    with pytest.raises(ValueError, match=r"^pgd: y holds labels up to 9 but the model returns 5 logits"):
        pgd(five, x, y, eps=0.1, alpha=0.05, steps=1)
    with pytest.raises(ValueError, match=r"^robust_accuracy: y holds labels up to 9 but the model returns 5 logits"):
        robust_accuracy(five, x, y, eps=0.1, alpha=0.05, steps=0, batch_size=7)
    with pytest.raises(ValueError, match=r"^autoattack_accuracy: num_classes=10 but the model returns 5 logits; "
                                         r"pass num_classes=5"):
        autoattack_accuracy(five, x, ok, eps=0.1)


def test_other_bad_inputs_name_the_argument(bn_model: nn.Module, batch) -> None:
    x, y = batch
    with pytest.raises(TypeError, match=r"^pgd: x must be a torch.Tensor of images in \[0, 1\], not ndarray"):
        pgd(bn_model, x.numpy(), y, eps=0.1, alpha=0.05, steps=1)
    with pytest.raises(ValueError, match=r"^clean_accuracy: x has shape \(64,\); expected a batch of images"):
        clean_accuracy(bn_model, x[0].flatten(), y[:1])
    with pytest.raises(ValueError, match=r"^robust_accuracy: x is empty"):
        robust_accuracy(bn_model, x[:0], y[:0], eps=0.1, alpha=0.05, steps=1)
    with pytest.raises(ValueError, match=r"x ranges over \[nan, nan\]"):
        pgd(bn_model, torch.full_like(x, float("nan")), y, eps=0.1, alpha=0.05, steps=1)
    with pytest.raises(ValueError, match=r"^batch_size=0 is not allowed; batch_size must be an integer >= 1"):
        clean_accuracy(bn_model, x, y, batch_size=0)
    with pytest.raises(ValueError, match=r"^predict: x ranges over"):
        predict(bn_model, x * 255)
    assert pgd(bn_model, x[:0], y[:0], eps=0.1, alpha=0.05, steps=1).shape == (0, 1, 8, 8)
    assert predict(bn_model, x[:0]).shape == (0,), "an empty shard predicts nothing"


def test_one_check_per_call_not_per_step(bn_model: nn.Module, batch, monkeypatch: pytest.MonkeyPatch) -> None:
    """The value check reads back once per call whatever the steps and restarts."""
    from advsel import attacks

    x, y = batch
    calls = []
    real = attacks._check_inputs
    monkeypatch.setattr(attacks, "_check_inputs", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    pgd(bn_model, x, y, eps=0.1, alpha=0.05, steps=5, restarts=3)
    robust_accuracy(bn_model, x, y, eps=0.1, alpha=0.05, steps=3, restarts=2, batch_size=10)
    assert calls == ["pgd", "robust_accuracy"]


def test_a_given_start_is_the_random_start_it_replaces(bn_model: nn.Module, batch) -> None:
    """``start=``: the same examples as the uniform random start when given the same noise."""
    x, y = batch
    kw = dict(eps=0.2, alpha=0.05, steps=3)
    drawn = pgd(bn_model, x, y, generator=torch.Generator().manual_seed(7), **kw)
    noise = torch.empty_like(x).uniform_(-0.2, 0.2, generator=torch.Generator().manual_seed(7))
    assert torch.equal(pgd(bn_model, x, y, start=noise, **kw), drawn)
    # a function of x: called once per restart, each restart its own start
    g = torch.Generator().manual_seed(3)
    calls = []

    def start(xs: torch.Tensor) -> torch.Tensor:
        calls.append(len(xs))
        return torch.empty_like(xs).uniform_(-0.2, 0.2, generator=g)

    got = pgd(bn_model, x, y, restarts=3, start=start, **kw)
    assert calls == [48, 48, 48]
    assert torch.equal(got, pgd(bn_model, x, y, restarts=3, generator=torch.Generator().manual_seed(3), **kw))
    zero = pgd(bn_model, x, y, start=torch.zeros_like(x), **kw)
    assert torch.equal(zero, pgd(bn_model, x, y, random_start=False, **kw)), "a zero start is no start"


def test_bad_starts_are_rejected_naming_start(bn_model: nn.Module, batch) -> None:
    x, y = batch
    kw = dict(eps=0.2, alpha=0.05, steps=1)
    with pytest.raises(ValueError, match="start gave \\(48, 1, 8\\); .* shape \\(48, 1, 8, 8\\)"):
        pgd(bn_model, x, y, start=torch.zeros(48, 1, 8), **kw)
    with pytest.raises(ValueError, match="a start tensor serves one restart, restarts=2"):
        pgd(bn_model, x, y, start=torch.zeros_like(x), restarts=2, **kw)
    with pytest.raises(ValueError, match="start= is a given start; it contradicts random_start=False"):
        pgd(bn_model, x, y, start=torch.zeros_like(x), random_start=False, **kw)
