"""Latent panel: the t-SNE points are sklearn's embedding of the batch and its mixed samples."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.manifold import TSNE

from msmix.mixing.msmix import MSMix
from workbench import latent_panel


def reference_features(panel, modalities) -> np.ndarray:
    """Flattened latents, padded frames zeroed, unit rows per modality, concatenated (float64 here)."""
    blocks = []
    for m in modalities:
        rows = []
        for z, mask in ((panel.sample.latents[m], panel.sample.masks.get(m)), (panel.mix.mixed[m], panel.mix.masks.get(m))):
            x = z.double().numpy()
            if mask is not None:
                x = x * mask.numpy()[..., None]
            x = x.reshape(len(x), -1)
            rows.append(x / np.linalg.norm(x, axis=1, keepdims=True))
        blocks.append(np.concatenate(rows))
    return np.concatenate(blocks, axis=1)


def shown_points(panel) -> np.ndarray:
    """Points in embedding order, read back from the traces' customdata."""
    b = len(panel.sample)
    points = np.full((b + panel.mix.k, 2), np.nan)
    for trace in panel.scatter.figure.data[:3]:
        points[np.asarray(trace.customdata, dtype=int)] = np.column_stack([trace.x, trace.y])
    mixed = panel.scatter.figure.data[3]
    points[b + np.asarray(mixed.customdata, dtype=int)] = np.column_stack([mixed.x, mixed.y])
    return points


@pytest.fixture
def panel(backbone, dataset):
    torch.manual_seed(1)
    mixer = MSMix(dims=dict(backbone.latent_dims), threshold=0.3)
    return latent_panel(backbone, dataset, mixer=mixer, size=16, seed=4, perplexity=8)


def test_points_are_the_tsne_of_originals_and_mixed_coloured_by_sign(panel) -> None:
    assert panel.mix.k == len(panel.sample) == 16
    features = reference_features(panel, ["text", "audio", "vision"])
    np.testing.assert_allclose(panel.features(), features, atol=1e-5)
    expected = TSNE(n_components=2, perplexity=8, init="pca", random_state=0, method="exact").fit_transform(panel.features())
    np.testing.assert_allclose(shown_points(panel), expected, atol=1e-6)
    labels = panel.sample.labels.numpy()
    negative, neutral, positive, mixed = panel.scatter.figure.data
    assert (labels[np.asarray(negative.customdata, dtype=int)] < 0).all()
    assert (labels[np.asarray(neutral.customdata, dtype=int)] == 0).all()
    assert (labels[np.asarray(positive.customdata, dtype=int)] > 0).all()
    assert len(negative.x) + len(neutral.x) + len(positive.x) == len(labels)
    assert len(mixed.x) == panel.mix.k and mixed.marker.symbol == "diamond"


def test_one_modality_perplexity_and_hiding_mixed(panel) -> None:
    before = shown_points(panel)
    panel.modality.value = "audio"
    np.testing.assert_allclose(panel.features(), reference_features(panel, ["audio"]), atol=1e-5)
    panel.perplexity.value = 5
    panel.wait()  # the new t-SNE is computed in the background
    expected = TSNE(n_components=2, perplexity=5, init="pca", random_state=0, method="exact").fit_transform(panel.features())
    np.testing.assert_allclose(shown_points(panel), expected, atol=1e-6)
    assert not np.allclose(before, shown_points(panel))
    assert "audio" in panel.scatter.figure.layout.title.text and "SYNTHETIC" in panel.scatter.figure.layout.title.text
    panel.show_mixed.value = False
    assert panel.scatter.figure.data[3].visible is False
    panel.show_mixed.value = True
    assert panel.scatter.figure.data[3].visible is True


def test_mixer_by_name_and_hover(backbone, dataset) -> None:
    panel = latent_panel(backbone, dataset, mixer="manifold", size=8, seed=0)
    assert panel.mix.k == 8
    a = int(panel.mix.index_a[0])
    assert panel.sample.ids[a] in panel.scatter.figure.data[3].text[0]
    assert "manifold" in panel.children[1].value
