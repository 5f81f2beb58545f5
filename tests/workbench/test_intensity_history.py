"""The intensity predictors' history: its figure in the training panel, the SAL gradient share and
the words for a predictor's state, checked against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from msmix.mixing.intensity_stats import predictor_state
from msmix.train.intensity_probe import probed_modalities, sal_gradient_share
from workbench import training_panel
from workbench.intensity_history import collapse_summary, draw_intensity_history, intensity_history_figure


def _history() -> pd.DataFrame:
    return pd.DataFrame({
        "epoch": [1, 2],
        "intensity_text_corr": [0.1, 0.6], "intensity_text_saturated": [0.0, 0.1],
        "intensity_text_mean": [0.2, 0.3], "intensity_text_std": [0.5, 0.9], "intensity_text_abs_corr": [0.0, 0.4],
        "intensity_vision_corr": [0.05, math.nan], "intensity_vision_saturated": [0.5, 1.0],
        "intensity_vision_mean": [2.0, 3.0], "intensity_vision_std": [0.4, 0.0], "intensity_vision_abs_corr": [0.0, math.nan],
        "grad_text_task": [1.0, 2.0], "grad_text_mixup": [1.0, 1.0], "grad_text_sal": [2.0, 0.0],
        "grad_vision_task": [0.0, 1.0], "grad_vision_mixup": [0.0, 0.0], "grad_vision_sal": [0.0, 3.0],
    })


def test_sal_share_and_modalities():
    history = _history()
    assert probed_modalities(history) == ["text", "vision"]
    np.testing.assert_allclose(sal_gradient_share(history, "text"), [2 / 4, 0 / 3])
    share = sal_gradient_share(history, "vision")
    assert math.isnan(share[0]) and share[1] == pytest.approx(0.75)


@pytest.mark.parametrize(("corr", "saturated", "std", "state"), [
    (0.6, 0.0, 1.0, "follows the labels"), (0.1, 0.0, 1.0, "barely follows the labels"),
    (0.9, 0.95, 1.0, "collapsed"), (0.9, 0.0, 0.01, "collapsed"), (math.nan, 0.0, 1.0, "collapsed"),
])
def test_predictor_state(corr, saturated, std, state):
    assert predictor_state(corr, saturated, std) == state


def test_figure_and_summary_show_the_history():
    history, figure = _history(), intensity_history_figure("toy (synthetic)")
    draw_intensity_history(figure, history)
    data = figure.figure.data
    assert len(data) == 9  # three panes x three modalities
    text_corr, audio_corr, vision_sat = data[0], data[1], data[5]
    np.testing.assert_allclose(text_corr.y, [0.1, 0.6])
    assert audio_corr.visible is False and list(audio_corr.y) == []
    np.testing.assert_allclose(vision_sat.y, [0.5, 1.0])
    np.testing.assert_allclose(data[6].y, [0.5, 0.0])  # text's SAL share
    summary = collapse_summary(history)
    assert "Epoch 2" in summary and "corr +0.60" in summary and "(follows the labels)" in summary
    assert "vision</b>: corr undefined (constant), 100% saturated" in summary and "(collapsed)" in summary
    assert collapse_summary(pd.DataFrame({"epoch": [1], "valid_loss": [1.0]})) == ""


def test_the_training_panel_shows_the_predictors_only_for_msmix(dataset):
    panel = training_panel(dataset, backbone="lmf", mixer="msmix", max_epochs=2, seed=3)
    assert panel.intensity_box.children == ()
    panel.train_now()
    assert panel.intensity_box.children == (panel.intensity_note, panel.intensity_figure)
    np.testing.assert_allclose(panel.intensity_figure.figure.data[0].y, panel.history["intensity_text_corr"])
    assert "Epoch 2" in panel.intensity_note.value
    panel.mixer_choice.value = "mixup"
    panel.train_now()
    assert panel.intensity_box.children == ()
