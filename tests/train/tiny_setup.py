"""Trainer builders on ``msmix.testing``'s tiny backbone and data, so trainer tests take milliseconds
per epoch.

``TinyBackbone`` is registered as ``_tiny`` only while these tests run (see conftest.py). Its audio
latent is a masked sequence (B x T x d), the others are vectors, so mixers meet both forms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor

import msmix.mixing
from msmix.data import Dataset
from msmix.testing import TINY_RECIPE, TinyBackbone
from msmix.train import TrainConfig, Trainer
from msmix.train.history import TIMING_COLUMNS

__all__ = ["TINY_RECIPE", "make_trainer", "weights_of", "without_timing"]


def make_trainer(
    data: Dataset,
    mixer: str = "msmix",
    run_dir: str | Path | None = None,
    dropout: float = 0.1,
    mixer_config: dict[str, Any] | None = None,
    trainer_class: type[Trainer] = Trainer,
    **settings: Any,
) -> Trainer:
    """A Trainer of a freshly initialised ``_tiny`` model (the same weights on every call)."""
    torch.manual_seed(0)
    model = TinyBackbone(data.spec, dropout=dropout)
    mix = msmix.mixing.create(mixer, dims=model.latent_dims, label_range=data.spec.label_range, **(mixer_config or {}))
    config = TrainConfig.from_dict({**TINY_RECIPE, "device": "cpu", **settings})
    meta = {"backbone": "_tiny", "model_config": {"hidden": 8, "dropout": dropout}}
    return trainer_class(model, mix, data, config, run_dir=run_dir, progress=False, meta=meta)


def without_timing(history: pd.DataFrame) -> pd.DataFrame:
    """The history without wall-clock columns (they differ between identical runs)."""
    return history.drop(columns=list(TIMING_COLUMNS))


def weights_of(module: torch.nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}
