"""Models: the registry, output shapes, width, the Normalize layer inside."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from advsel.data import MEAN_STD
from advsel.models import REGISTRY, Normalize, build_model

SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("dataset", SHAPES)
@pytest.mark.parametrize("name", REGISTRY)
def test_every_model_gives_logits_for_every_dataset(name: str, dataset: str) -> None:
    torch.manual_seed(0)
    shape = SHAPES[dataset]
    model = build_model(name, shape, 10, *MEAN_STD[dataset]).eval()
    x = torch.rand(3, *shape)
    with torch.no_grad():
        out = model(x)
    assert out.shape == (3, 10)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    assert not torch.allclose(out[0], out[1]), "different inputs give different logits"


@pytest.mark.parametrize("name", REGISTRY)
def test_train_mode_backward_reaches_every_parameter(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, (3, 32, 32), 10, *MEAN_STD["cifar10"], width=0.25).train()
    loss = nn.functional.cross_entropy(model(torch.rand(4, 3, 32, 32)), torch.arange(4))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("name", REGISTRY)
def test_width_multiplier_scales_the_parameter_count(name: str) -> None:
    counts = [n_params(build_model(name, (3, 32, 32), 10, *MEAN_STD["cifar10"], width=w)) for w in (0.25, 0.5, 1.0)]
    assert counts[0] < counts[1] < counts[2]


def test_num_classes_sets_the_output_size() -> None:
    model = build_model("small-cnn", (1, 28, 28), 7, *MEAN_STD["mnist"]).eval()
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 7)


@pytest.mark.parametrize("dataset", SHAPES)
def test_normalize_is_the_first_layer(dataset: str) -> None:
    mean, std = MEAN_STD[dataset]
    model = build_model("small-cnn", SHAPES[dataset], 10, mean, std).eval()
    norm, body = model[0], model[1]
    assert isinstance(norm, Normalize)
    assert norm.mean.flatten().tolist() == pytest.approx(list(mean))
    assert norm.std.flatten().tolist() == pytest.approx(list(std))
    assert {"0.mean", "0.std"} <= set(model.state_dict()), "constants travel with the model (buffers)"
    x = torch.rand(2, *SHAPES[dataset])
    by_hand = (x - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
    with torch.no_grad():
        assert torch.allclose(norm(x), by_hand)
        assert torch.allclose(model(x), body(by_hand), atol=1e-5)
    assert not any(p is norm.mean or p is norm.std for p in model.parameters()), "not trained"


def test_unknown_model_lists_the_registry() -> None:
    with pytest.raises(ValueError, match=r"model='vgg' is not allowed; choose one of: small-cnn, madry-cnn"):
        build_model("vgg", (1, 28, 28), 10, *MEAN_STD["mnist"])
