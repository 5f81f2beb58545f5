"""TrainConfig: validation, round trips, and the backbone's published recipe as defaults."""

from __future__ import annotations

import pytest

from msmix.mixing import ObjectiveConfig
from msmix.train import TrainConfig
from tiny_setup import TINY_RECIPE


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("max_epochs", 0, "max_epochs must be an integer >= 1"),
        ("batch_size", 2.5, "batch_size must be an integer >= 1"),
        ("patience", -1, "patience must be an integer >= 0"),
        ("lr", 0.0, "lr must be a positive number"),
        ("clip_norm", -1.0, "clip_norm must be None or a positive number"),
        ("optimizer", "sgd", "optimizer must be one of"),
        ("loss", "huber", "loss must be one of"),
        ("scheduler", "step", "scheduler must be one of"),
        ("device", "tpu", "device must be one of"),
        ("plateau_factor", 1.0, "plateau_factor must be a number in"),
        ("compile", "yes", "compile must be True or False"),
        ("compile_mode", "cudagraphs", "compile_mode must be one of"),
        ("train_fraction", 0.0, r"train_fraction must be a number in \(0, 1\]"),
        ("train_fraction", 1.25, r"train_fraction must be a number in \(0, 1\]"),
        ("train_fraction", "0.5", r"train_fraction must be a number in \(0, 1\]"),
        ("train_fraction", True, r"train_fraction must be a number in \(0, 1\]"),
    ],
)
def test_bad_settings_are_named(setting, value, expected):
    with pytest.raises(ValueError, match=expected) as error:
        TrainConfig.from_dict({setting: value})  # the objective's settings (loss) are written flat
    assert repr(value) in str(error.value)


def test_the_objective_is_nested_and_overrides_name_its_settings_flat():
    config = TrainConfig.from_dict({"loss": "mse", "mix_weight": 0.3, "lr": 0.01})
    assert config.objective == ObjectiveConfig(loss="mse", mix_weight=0.3) and config.loss == "mse"
    assert TrainConfig.from_dict(config.to_dict()) == config
    stored_flat = {**TrainConfig().to_dict(), "loss": "mse"}  # as checkpoints before the nesting stored it
    del stored_flat["objective"]
    assert TrainConfig.from_dict(stored_flat).objective.loss == "mse"
    for name in ("mix_weight", "sal_weight"):
        with pytest.raises(ValueError, match=f"{name} must be a number >= 0"):
            TrainConfig.from_dict({name: -1.0})


def test_train_fraction_defaults_to_the_whole_split_and_takes_shares_up_to_one():
    assert TrainConfig().train_fraction == 1.0
    assert TrainConfig.from_dict({"train_fraction": 0.25}).train_fraction == 0.25
    assert TrainConfig(train_fraction=1).train_fraction == 1
    assert "train_fraction" in TrainConfig.override_keys()
    stored = TrainConfig().to_dict()
    del stored["train_fraction"]  # as checkpoints written before the setting existed store it
    assert TrainConfig.from_dict(stored) == TrainConfig()


def test_round_trip_through_plain_dict():
    config = TrainConfig(lr=5e-4, scheduler="cosine", warmup_epochs=2, clip_value=0.6)
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_unknown_keys_are_refused_with_the_known_ones():
    with pytest.raises(TypeError, match="unknown settings \\['epochs'\\].*max_epochs"):
        TrainConfig.from_dict({"epochs": 3})


def test_for_backbone_starts_from_the_recipe_then_overrides():
    config = TrainConfig.for_backbone("_tiny", "mosi", lr=0.5)
    assert config.lr == 0.5
    for key, value in TINY_RECIPE.items():
        if key != "lr":
            assert getattr(config, key) == value
    assert config.objective.mix_weight == TrainConfig().objective.mix_weight
    with pytest.raises(KeyError, match="unknown backbone"):
        TrainConfig.for_backbone("no-such-model", "mosi")
