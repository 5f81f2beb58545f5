"""``TrainConfig.precision``: fp32 leaves every result as it was, bf16 autocast trains every backbone
to nearly the same numbers, and bad values or devices without bfloat16 are refused in one line."""

from __future__ import annotations

import math

import pytest
import torch

import msmix.models
from msmix.data import Dataset
from msmix.experiment.grid import expand_grid
from msmix.testing import tiny_dataset
from msmix.train import RunSpec, TrainConfig, Trainer, assemble, resolve, run
from msmix.train.errors import DeviceError
from msmix.train.precision import autocast, check_precision_supported
from tests.train.test_backbones_on_toy import SMALL
from tests.train.tiny_setup import make_trainer, weights_of, without_timing

BF16_RELATIVE_TOLERANCE = 0.05
"""How far a bf16 run's validation loss and MAE may lie from fp32's, relatively. bfloat16 keeps 8
significant bits (each product rounded by up to 0.4 %); over the few steps of one tiny epoch the
runs measured here differ by at most 0.7 %, so 5 % leaves room for other CPUs' kernels while a
cast that broke training (a loss stuck or off by orders of magnitude) still fails."""


def test_precision_defaults_to_fp32_and_other_values_are_refused_in_one_line() -> None:
    assert TrainConfig().precision == "fp32"
    assert TrainConfig(precision="bf16").precision == "bf16"
    for bad in ("fp16", "BF16", None, 16):
        with pytest.raises(ValueError) as err:
            TrainConfig(precision=bad)
        assert str(err.value) == f"TrainConfig.precision must be one of ('fp32', 'bf16'), got {bad!r}"


def test_autocast_computes_products_in_bf16_only_when_asked() -> None:
    layer = torch.nn.Linear(4, 3)
    x = torch.randn(2, 4)
    with autocast("bf16", torch.device("cpu")):
        assert layer(x).dtype == torch.bfloat16
    with autocast("fp32", torch.device("cpu")):
        assert layer(x).dtype == torch.float32
    assert layer.weight.dtype == torch.float32


def test_bf16_is_refused_on_a_cuda_device_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a, **k: "Tesla V100")
    with pytest.raises(DeviceError) as err:
        check_precision_supported("bf16", torch.device("cuda"))
    assert str(err.value) == ("train.precision 'bf16' was asked for, but the CUDA device Tesla V100 has no "
                              "bfloat16 support; use precision 'fp32'")
    check_precision_supported("fp32", torch.device("cuda"))
    check_precision_supported("bf16", torch.device("cpu"))


def test_fp32_given_explicitly_trains_bit_for_bit_as_the_default(tiny_data: Dataset) -> None:
    default, explicit = make_trainer(tiny_data, max_epochs=2), make_trainer(tiny_data, max_epochs=2, precision="fp32")
    default.fit()
    explicit.fit()
    assert without_timing(default.history).equals(without_timing(explicit.history))
    for name, weight in weights_of(default.model).items():
        assert torch.equal(weight, weights_of(explicit.model)[name]), name


def test_bf16_changes_the_arithmetic_and_keeps_weights_and_optimiser_in_fp32(tiny_data: Dataset) -> None:
    fp32, bf16 = make_trainer(tiny_data, max_epochs=1), make_trainer(tiny_data, max_epochs=1, precision="bf16")
    fp32.fit()
    bf16.fit()
    assert not without_timing(fp32.history).equals(without_timing(bf16.history)), "autocast was not applied"
    assert all(p.dtype == torch.float32 for p in bf16.model.parameters())
    moments = [v for state in bf16.optimizer.state.values() for v in state.values() if torch.is_tensor(v) and v.numel() > 1]
    assert moments and all(v.dtype == torch.float32 for v in moments)
    assert bf16.predict(tiny_data.test).dtype == torch.float32


def _one_epoch(backbone: str, data: Dataset, precision: str) -> Trainer:
    train = {"max_epochs": 1, "batch_size": 8, "precision": precision}
    spec = RunSpec(data="tiny", backbone=backbone, mixer="msmix", seed=3, train=train)
    trainer = assemble(resolve(spec, data.spec), data, progress=False)
    trainer.fit()
    return trainer


@pytest.mark.parametrize("backbone", msmix.models.available())
def test_a_bf16_epoch_of_every_backbone_is_finite_and_close_to_fp32(backbone: str) -> None:
    data = tiny_dataset(n=24, seed=2, sequence="vision")
    fp32, bf16 = (_one_epoch(backbone, data, p).history.iloc[-1] for p in ("fp32", "bf16"))
    assert math.isfinite(bf16["train_loss"]) and math.isfinite(bf16["valid_loss"])
    assert bf16["valid_loss"] == pytest.approx(fp32["valid_loss"], rel=BF16_RELATIVE_TOLERANCE)
    assert bf16["train_loss"] == pytest.approx(fp32["train_loss"], rel=BF16_RELATIVE_TOLERANCE)


def test_a_bf16_run_on_the_demo_data_scores_close_to_fp32() -> None:
    rows = {p: run(RunSpec(data="toy", backbone="lmf", mixer="msmix", model_config=SMALL["lmf"],
                           train={"max_epochs": 1, "precision": p}), progress=False) for p in ("fp32", "bf16")}
    assert math.isfinite(rows["bf16"]["MAE"])
    assert rows["bf16"]["MAE"] == pytest.approx(rows["fp32"]["MAE"], rel=BF16_RELATIVE_TOLERANCE)


def test_fp32_runs_keep_their_config_hash() -> None:
    assert RunSpec(train={"precision": "bf16"}).config_hash() != RunSpec().config_hash()
    grid = {"data": "toy", "backbones": ["lmf"], "mixers": ["none"], "train": {"precision": ["fp32", "bf16"]}}
    plain = expand_grid({"data": "toy", "backbones": ["lmf"], "mixers": ["none"]})
    swept = expand_grid(grid)
    assert [s.config_hash() for s in swept] == [plain[0].config_hash(), RunSpec(
        data="toy", backbone="lmf", mixer="none", train={"precision": "bf16"}).config_hash()]


def test_a_bf16_training_epoch_reads_no_tensor_on_the_host(tiny_data: Dataset) -> None:
    from tests.train.test_no_host_sync import no_host_sync

    trainer = make_trainer(tiny_data, max_epochs=1, precision="bf16")
    with no_host_sync():
        sums = trainer._train_epoch(1)
    assert sums is not None and torch.isfinite(sums).all()
