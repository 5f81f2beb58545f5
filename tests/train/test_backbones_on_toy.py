"""The real backbones through ``run`` on the synthetic demo data: every mixer trains with TFN and
LMF, and a trained model clearly beats predicting the training mean."""

from __future__ import annotations

import numpy as np
import pytest

import msmix.mixing
from msmix.metrics import regression_metrics
from msmix.train import RunSpec, load_data, run

# The published architectures at a fraction of their width, so one epoch takes a blink.
SMALL = {
    "tfn": {"text_hidden": 16, "audio_hidden": 4, "vision_hidden": 8, "text_out": 8, "post_fusion_dim": 8},
    "lmf": {"text_hidden": 16, "audio_hidden": 4, "vision_hidden": 8, "text_out": 8},
}


@pytest.mark.parametrize("backbone", ["tfn", "lmf"])
@pytest.mark.parametrize("mixer", msmix.mixing.available())
def test_every_mixer_trains_with_tfn_and_lmf(backbone, mixer):
    spec = RunSpec(data="toy", backbone=backbone, mixer=mixer, model_config=SMALL[backbone], train={"max_epochs": 1})
    row = run(spec, progress=False)
    assert row["epochs"] == 1 and np.isfinite(row["MAE"])


def mean_baseline(spec: RunSpec) -> dict[str, float]:
    """MMSA metrics of predicting the training labels' mean for every test sample."""
    data = load_data(spec.data, time_average=True)
    mean = float(data.train.labels.mean())
    truth = data.test.labels.numpy()
    return regression_metrics(np.full_like(truth, mean), truth, "mosi")


def assert_beats_the_mean(row: dict, baseline: dict[str, float]) -> None:
    assert row["Corr"] > 0.5  # the mean predicts a constant: its correlation is undefined
    assert row["MAE"] < 0.85 * baseline["MAE"]
    assert row["Has0_acc_2"] > baseline["Has0_acc_2"] + 0.1


@pytest.mark.slow
def test_lmf_with_msmix_beats_the_mean_on_toy_data():
    """The full published LMF recipe (up to 30 epochs, early stopping)."""
    spec = RunSpec(data="toy", backbone="lmf", mixer="msmix")
    assert_beats_the_mean(run(spec, progress=False), mean_baseline(spec))


@pytest.mark.slow
def test_tfn_with_msmix_beats_the_mean_on_toy_data():
    """Published TFN, three epochs (the full recipe takes a minute or two on a CPU)."""
    spec = RunSpec(data="toy", backbone="tfn", mixer="msmix", train={"max_epochs": 3})
    assert_beats_the_mean(run(spec, progress=False), mean_baseline(spec))
