"""Attribution panel: bars and heat map show what msmix.attribution computes, for originals and mixes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from msmix.attribution import attribute_inputs, attribute_mixed
from msmix.mixing.msmix import MSMix
from workbench import attribution_panel


@pytest.fixture
def panel(backbone, dataset):
    torch.manual_seed(2)
    mixer = MSMix(dims=dict(backbone.latent_dims), threshold=0.3)
    return attribution_panel(backbone, dataset, mixer=mixer, size=6, seed=1, n_steps=16)


def shown_totals(panel) -> dict[str, np.ndarray]:
    return {t.name: np.asarray(t.y, dtype=float) for t in panel.bars.figure.data}


def test_original_samples_on_inputs(panel) -> None:
    expected = attribute_inputs(panel.model, panel.sample_batch.batch, method="ig", n_steps=16)
    for m, values in shown_totals(panel).items():
        np.testing.assert_allclose(values, expected.totals()[m].numpy(), atol=1e-6)
    panel.sample.value = 4
    z = np.asarray(panel.heatmap.figure.data[0].z, dtype=float)
    assert list(panel.heatmap.figure.data[0].y) == ["text", "audio", "vision"]
    np.testing.assert_allclose(z[0], expected.scores["text"][4].numpy(), atol=1e-6)  # text: 6 time steps
    np.testing.assert_allclose(z[1, 0], float(expected.scores["audio"][4, 0]), atol=1e-6)
    assert np.isnan(z[1, 1:]).all()
    assert panel.sample_batch.ids[4] in panel.caption.value


def test_method_toggle_switches_to_ablation(panel) -> None:
    before = shown_totals(panel)
    panel.method.value = "ablation"
    panel.wait()  # the new attributions are computed in the background
    expected = attribute_inputs(panel.model, panel.sample_batch.batch, method="ablation")
    shown = shown_totals(panel)
    for m in shown:
        np.testing.assert_allclose(shown[m], expected.totals()[m].numpy(), atol=1e-6)
    assert not all(np.allclose(before[m], shown[m]) for m in shown)
    assert "feature ablation" in panel.bars.figure.layout.title.text


def test_mixed_samples_on_mixed_latents(panel) -> None:
    panel.space.value = "mixed latents"
    panel.wait()  # the new attributions are computed in the background
    expected = attribute_mixed(panel.model, panel.mix, method="ig", n_steps=16)
    shown = shown_totals(panel)
    assert len(shown["text"]) == panel.mix.k == 6
    for m in shown:
        np.testing.assert_allclose(shown[m], expected.totals()[m].numpy(), atol=1e-6)
    panel.sample.value = 2
    z = np.asarray(panel.heatmap.figure.data[0].z, dtype=float)
    np.testing.assert_allclose(z[0], expected.scores["text"][2].numpy(), atol=1e-6)  # per token
    a, b = int(panel.mix.index_a[2]), int(panel.mix.index_b[2])
    assert panel.sample_batch.ids[a] in panel.caption.value and panel.sample_batch.ids[b] in panel.caption.value
    assert "token" in panel.heatmap.figure.layout.xaxis.title.text
    steps = z.shape[1]
    axis = panel.heatmap.figure.layout.xaxis
    assert axis.dtick == 1 and tuple(axis.range) == (-0.5, steps - 0.5), "whole-number ticks, one per column"


def test_one_step_modalities_are_explained_for_time_averaging_backbones(panel, monkeypatch) -> None:
    single = [m for m, scores in panel.attribution.scores.items() if scores.shape[1] == 1]
    assert single, "the fixture needs a modality with one time step"
    assert "averaged over time" not in panel.caption.value
    monkeypatch.setattr(panel.model, "needs_time_average", True, raising=False)
    panel.refresh()
    assert "averaged over time" in panel.caption.value
    assert all(m in panel.caption.value.lower() for m in single)


def test_bad_method_is_named(backbone, dataset) -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        attribution_panel(backbone, dataset, method="lime")
