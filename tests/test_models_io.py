"""Model files: a user's own network trained by the Trainer, save_model / load_model round trips, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn as nn

from advsel.attacks import clean_accuracy
from advsel.data import MEAN_STD, TensorData
from advsel.evaluation import test_subset as subset_of  # (not named test_*: pytest would collect it)
from advsel.models import MODEL_FORMAT, Normalize, load_model, save_model
from advsel.trainer import Trainer


def own_model() -> nn.Module:
    """A network of the user's own for 1x8x8 inputs in [0, 1] (normalisation inside, 10 logits)."""
    return nn.Sequential(Normalize(*MEAN_STD["mnist"]), nn.Flatten(), nn.Linear(64, 32), nn.ReLU(),
                         nn.Linear(32, 10))


def outputs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(x)


def test_a_users_own_model_trains_through_the_trainer_and_round_trips(tiny_data: TensorData, smoke_config,
                                                                      tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = own_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = Trainer(smoke_config(method="ds", epochs=2), tiny_data, model=model)
    result = trainer.fit()
    assert trainer.model is model, "the user's module itself is trained"
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert [r["epoch"] for r in result["epochs"]] == [1, 2]
    x, y = subset_of(tiny_data, 100)
    assert clean_accuracy(model, x, y) > 0.3, "it learned (chance is 0.1)"

    path = trainer.save_model(tmp_path / "own.pt")
    blob = torch.load(path, weights_only=True)
    assert blob["format"] == MODEL_FORMAT and blob["config"] is None, "no advsel config for a user's model"
    assert blob["image_shape"] == [1, 8, 8] and blob["num_classes"] == 10 and blob["epochs_trained"] == 2
    with pytest.raises(ValueError, match=r"holds a user's own model \(no advsel config\): pass model="):
        load_model(path)
    fresh = own_model()
    loaded, meta = load_model(path, model=fresh)
    assert loaded is fresh and not loaded.training and meta["num_classes"] == 10 and "state_dict" not in meta
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in loaded.state_dict().items())
    assert torch.equal(outputs(loaded, x), outputs(model, x))


def test_a_built_model_round_trips_without_being_given(tiny_data: TensorData, smoke_config, tmp_path: Path) -> None:
    config = smoke_config(method="standard", channels_last=True)
    trainer = Trainer(config, tiny_data)
    trainer.fit()
    path = trainer.save_model(tmp_path / "sub" / "m.pt")
    blob = torch.load(path, weights_only=True)
    assert all(v.is_contiguous() and v.device.type == "cpu" for v in blob["state_dict"].values()), \
        "stored contiguous on the CPU whatever the memory format"
    model, meta = load_model(path)
    assert meta["config"] == config.to_dict() and meta["key"] == config.key()
    x, _ = subset_of(tiny_data, 20)
    assert torch.allclose(outputs(model, x), outputs(trainer.model, x), atol=1e-6)


def test_save_model_writes_a_plain_file_for_any_module(tmp_path: Path) -> None:
    model = own_model()
    save_model(model, tmp_path / "m.pt", config=None, image_shape=(1, 8, 8), num_classes=10, extra={"note": "hi"})
    loaded, meta = load_model(tmp_path / "m.pt", model=own_model())
    assert meta["note"] == "hi"
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in loaded.state_dict().items())


def test_bad_model_files_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="model file .*missing.pt does not exist"):
        load_model(tmp_path / "missing.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(ValueError, match=r"text.pt is not an advsel model file \(torch.load\(\.\.\., "
                                         r"weights_only=True\) cannot read it"):
        load_model(tmp_path / "text.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match=r"other.pt is not an advsel model file \(expected format 'advsel-model/1'\)"):
        load_model(tmp_path / "other.pt")

    # an arbitrary pickled object: weights_only refuses to rebuild it (no code runs from the file)
    torch.save({"format": MODEL_FORMAT, "obj": Path("x")}, tmp_path / "code.pt")
    with pytest.raises(ValueError, match="code.pt is not an advsel model file"):
        load_model(tmp_path / "code.pt")
    save_model(own_model(), tmp_path / "own.pt", config=None, image_shape=(1, 8, 8), num_classes=10)
    with pytest.raises(ValueError, match=r"the weights in .*own.pt do not fit the given model \(Sequential\)"):
        load_model(tmp_path / "own.pt", model=nn.Sequential(nn.Flatten(), nn.Linear(64, 10)))


def test_the_trainer_rejects_a_model_that_is_not_a_module(tiny_data: TensorData, smoke_config) -> None:
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        Trainer(smoke_config(), tiny_data, model=lambda x: x)
