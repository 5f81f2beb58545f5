"""Data panel: what it says about the data set and the label histogram per split."""

from __future__ import annotations

import numpy as np
import pytest

from workbench import data_panel


def shown_labels(panel) -> np.ndarray:
    return np.sort(np.concatenate([np.asarray(t.x, dtype=float) for t in panel.histogram.figure.data]))


def test_split_toggle_redraws_the_labels(dataset) -> None:
    panel = data_panel(dataset)
    for split in ("train", "test", "valid"):
        panel.split.value = split
        labels = dataset[split].labels.double().numpy()
        np.testing.assert_allclose(shown_labels(panel), np.sort(labels))
        negative, neutral, positive = (np.asarray(t.x, dtype=float) for t in panel.histogram.figure.data)
        assert (negative < 0).all() and (neutral == 0).all() and (positive > 0).all()
        assert len(neutral) == int((labels == 0).sum()) > 0
        assert f"n = {len(labels)}" in panel.histogram.figure.layout.title.text


def test_bins_are_centred_on_the_range_ends_and_zero(dataset) -> None:
    panel = data_panel(dataset)
    panel.bins.value = 13
    bins = panel.histogram.figure.data[0].xbins
    assert bins.size == pytest.approx(0.5)
    centres = bins.start + bins.size / 2 + bins.size * np.arange(13)
    np.testing.assert_allclose(centres[[0, 6, 12]], [-3.0, 0.0, 3.0], atol=1e-9)


def test_says_synthetic_and_sizes(dataset) -> None:
    panel = data_panel(dataset)
    assert "SYNTHETIC" in panel.children[0].value
    assert "SYNTHETIC" in panel.summary.value and "SYNTHETIC" in panel.histogram.figure.layout.title.text
    for split in ("train", "valid", "test"):
        assert "<td" in panel.table.value and str(len(dataset[split])) in panel.table.value
    assert panel.label.disabled  # no per-modality labels in this data set


def test_loads_the_demo_data_by_name() -> None:
    panel = data_panel("toy")
    assert panel.dataset.spec.synthetic and "SYNTHETIC" in panel.children[0].value
    assert len(shown_labels(panel)) == len(panel.dataset.train)


def test_the_table_does_not_repeat_the_data_name_on_every_row(dataset) -> None:
    """A long file name (``custom (my_features.pkl)``) would widen the table past the notebook."""
    from workbench.data_panel import DataPanel

    panel = DataPanel(dataset)
    assert dataset.spec.name not in panel.table.value
    assert dataset.spec.name in panel.children[0].value  # the banner names it once
