"""A run that stops on a non-finite loss names only the checkpoint files that exist."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from _synthetic import PoisonWeights

from advsel.data import TensorData
from advsel.trainer import NonFiniteLossError, Trainer


def test_a_stop_after_the_first_epoch_names_the_checkpoint_that_exists(tiny_data: TensorData, smoke_config,
                                                                       tmp_path: Path) -> None:
    ckpt = tmp_path / "run.ckpt.pt"
    trainer = Trainer(smoke_config(method="robust", epochs=3), tiny_data, checkpoint=ckpt, observers=[PoisonWeights(2)],
                      progress=False)
    with pytest.raises(NonFiniteLossError) as e:
        trainer.fit()
    assert str(e.value).endswith(f"at epoch 2, step 2; the checkpoint after epoch 1 is kept at {ckpt}")
    assert ckpt.is_file() and len(torch.load(ckpt, weights_only=True)["epochs"]) == 1


@pytest.mark.parametrize(("checkpoint", "text"), [(True, "no checkpoint was written (the run stopped in its first "
                                                         "epoch)"),
                                                  (False, "this run writes no checkpoint")])
def test_a_stop_in_the_first_epoch_names_no_file(checkpoint: bool, text: str, tiny_data: TensorData, smoke_config,
                                                 tmp_path: Path) -> None:
    ckpt = tmp_path / "run.ckpt.pt" if checkpoint else None
    trainer = Trainer(smoke_config(method="robust"), tiny_data, checkpoint=ckpt, observers=[PoisonWeights(1)],
                      progress=False)
    with pytest.raises(NonFiniteLossError, match=r"at epoch 1, step 2; ") as e:
        trainer.fit()
    assert str(e.value).endswith(text) and not list(tmp_path.iterdir())
