"""Errors panel: the listed samples are the largest absolute errors, explained by msmix.attribution."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from msmix.attribution import attribute_inputs
from workbench import errors_panel


def brute_force_errors(model, split) -> np.ndarray:
    model.eval()
    errors = []
    with torch.no_grad():
        for i in range(len(split)):
            pred = model(split.batch(torch.tensor([i]))).pred.item()
            errors.append(abs(pred - split.labels[i].item()))
    return np.array(errors)


@pytest.fixture
def panel(backbone, dataset):
    return errors_panel(backbone, dataset, count=5, n_steps=16)


def test_lists_the_worst_predictions(panel, backbone, dataset) -> None:
    for split in ("test", "valid"):
        panel.split.value = split
        panel.wait()  # the new attributions are computed in the background
        part = dataset[split]
        errors = brute_force_errors(backbone, part)
        worst = panel.worst
        assert len(worst) == 5
        np.testing.assert_allclose(worst["error"], np.sort(errors)[::-1][:5], atol=1e-5)
        np.testing.assert_allclose(errors[worst.index], worst["error"], atol=1e-5)
        assert list(worst["id"]) == [part.ids[i] for i in worst.index]
        assert list(worst["text"]) == [part.raw_text[i] for i in worst.index]
        for i in worst.index[:2]:
            assert part.ids[i] in panel.table.value
    assert "SYNTHETIC" in panel.bars.figure.layout.title.text


def test_bars_are_the_attributions_of_the_worst(panel, backbone, dataset) -> None:
    panel.count.value = 3
    panel.method.value = "ablation"
    panel.wait()  # the new attributions are computed in the background
    part = dataset.test
    expected = attribute_inputs(backbone, part.batch(torch.tensor(panel.worst.index.tolist())), method="ablation")
    bars = {t.name: np.asarray(t.y, dtype=float) for t in panel.bars.figure.data}
    assert all(len(v) == 3 for v in bars.values())
    for m, values in bars.items():
        np.testing.assert_allclose(values, expected.totals()[m].numpy(), atol=1e-6)
    shares = panel.worst[["text share", "audio share", "vision share"]].to_numpy()
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    magnitude = np.abs(np.column_stack([bars[m] for m in ("text", "audio", "vision")]))
    np.testing.assert_allclose(shares, magnitude / magnitude.sum(axis=1, keepdims=True), atol=1e-6)


def test_bad_method_is_named(backbone, dataset) -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        errors_panel(backbone, dataset, method="shap")
