"""``compile=True`` on a CPU: the compiled step trains as the plain step does within float tolerance
(fused kernels round differently, and Adam amplifies that over the steps, so not bit for bit).
Dropout is off: compiled code draws its masks from its own generator, not the eager one."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from msmix.data.cache import load_data
from msmix.models import backbone_class
from msmix.train import RunSpec
from msmix.train.assemble import assemble
from msmix.train.resolve import resolve


@pytest.mark.slow
def test_a_compiled_run_trains_as_the_plain_run_does() -> None:
    data = load_data("toy")
    settings = {"max_epochs": 2, "train_fraction": 0.3, "device": "cpu"}
    fields = dataclasses.fields(backbone_class("lmf").config_class)
    no_dropout = {f.name: 0.0 for f in fields if "drop" in f.name and "float" in str(f.type)}
    histories = []
    for extra in ({}, {"compile": True, "compile_mode": "reduce-overhead"}):
        spec = RunSpec(data="toy", backbone="lmf", mixer="msmix", seed=1, model_config=no_dropout, train={**settings, **extra})
        histories.append(assemble(resolve(spec, data.spec), data, progress=False).fit().history)
    plain, compiled = histories
    assert compiled["train_loss"].iloc[0] == pytest.approx(plain["train_loss"].iloc[0], rel=1e-4)
    np.testing.assert_allclose(compiled["valid_loss"], plain["valid_loss"], rtol=1e-2)
