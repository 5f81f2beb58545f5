"""Helpers of the stacked-seeds tests: runs without dropout, and the comparison
of stacked members with their separate runs (``test_stacked.py``, ``test_stacked_resume.py``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from msmix.models import backbone_class
from msmix.train import RunSpec
from msmix.train.assemble import assemble
from msmix.train.resolve import resolve


def no_dropout(backbone: str) -> dict[str, float]:
    """Every dropout setting of the backbone at 0."""
    fields = dataclasses.fields(backbone_class(backbone).config_class)
    return {f.name: 0.0 for f in fields if "drop" in f.name and "float" in str(f.type)}


def specs(backbone: str, mixer: str, seeds=(1, 2, 3), **train: Any) -> list[RunSpec]:
    settings = {"max_epochs": 3, "batch_size": 64, **train}
    return [RunSpec(data="toy", backbone=backbone, mixer=mixer, seed=s, model_config=no_dropout(backbone), train=settings)
            for s in seeds]


def trainers(runs: list[RunSpec], data) -> list:
    return [assemble(resolve(spec, data.spec), data, progress=False) for spec in runs]


def assert_same_runs(separate, stacked, rtol: float = 1e-7) -> None:
    for one, many in zip(separate, stacked):
        columns = ["train_loss", "train_task", "train_mixup", "valid_loss", "lr", "best"]
        assert one.history["epoch"].tolist() == many.history["epoch"].tolist()
        np.testing.assert_allclose(one.history[columns].to_numpy(float), many.history[columns].to_numpy(float),
                                   rtol=rtol, atol=1e-6)
        assert one.best_epoch == many.best_epoch and one.stopped_early == many.stopped_early
        for key, value in one.test_metrics.items():
            assert many.test_metrics[key] == pytest.approx(value, rel=rtol, abs=1e-5), key
