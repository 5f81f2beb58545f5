"""SASS explorer: the heat map, pair counts and conflict rates against a NumPy re-derivation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from msmix.mixing.msmix import MSMix
from workbench import encode_sample, sass_explorer
from workbench.pair_view import pair_view


def reference_similarity(panel) -> np.ndarray:
    """Float64 SASS similarity of the panel's batch: masked, flattened, unit rows, averaged, min-maxed."""
    s = panel.sample
    b = len(s)
    total = np.zeros((b, b))
    for m, z in s.latents.items():
        x = z.double().numpy()
        mask = s.masks.get(m)
        if mask is not None:
            x = x * mask.numpy()[..., None]
        x = x.reshape(b, -1)
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)
        total += x @ x.T
    total /= len(s.latents)
    off = ~np.eye(b, dtype=bool)
    low, high = total[off].min(), total[off].max()
    scaled = (total - low) / (high - low)
    scaled[~off] = 0.0
    return scaled


def passing_pairs(sim: np.ndarray, threshold: float, ordered: bool) -> set[tuple[int, int]]:
    b = sim.shape[0]
    return {(i, j) for i in range(b) for j in range(b) if (j > i or (ordered and j != i)) and sim[i, j] > threshold}


def shown_count(panel) -> int:
    return int(panel.pair_count.value.split("<b>")[1].split("</b>")[0])


def opposite(labels: np.ndarray, pairs) -> float:
    return float(np.mean([labels[i] * labels[j] < 0 for i, j in pairs]))


@pytest.fixture
def panel(backbone, dataset):
    return sass_explorer(backbone, dataset, batch_size=24, seed=3, threshold=0.5)


def test_heatmap_is_the_sass_similarity(panel) -> None:
    z = np.array(panel.heatmap.figure.data[0].z, dtype=float)
    reference = reference_similarity(panel)
    assert np.isnan(np.diag(z)).all()
    off = ~np.eye(len(reference), dtype=bool)
    np.testing.assert_allclose(z[off], reference[off], atol=1e-5)


def test_threshold_slider_changes_count_and_marked_pairs(panel) -> None:
    reference = reference_similarity(panel)
    counts = []
    for threshold in (0.5, 0.7):
        panel.threshold.value = threshold
        expected = passing_pairs(reference, threshold, ordered=False)
        assert len(expected) >= len(panel.sample), "the test needs thresholds without the fallback"
        assert shown_count(panel) == len(expected)
        marked = set(zip(panel.heatmap.figure.data[1].y, panel.heatmap.figure.data[1].x))
        assert marked == expected
        drawn = list(zip(panel.heatmap.figure.data[2].y, panel.heatmap.figure.data[2].x))
        assert len(drawn) == len(panel.sample)
        assert all((min(p), max(p)) in expected for p in drawn)
        counts.append(len(expected))
    assert counts[1] < counts[0]


def test_conflict_rates_match_the_labels(panel) -> None:
    labels = panel.sample.labels.double().numpy()
    b = len(labels)
    for threshold in (0.3, 0.8):
        panel.threshold.value = threshold
        candidates, drawn, random = panel.conflict_figure.figure.data[0].y
        assert random == pytest.approx(2 * (labels > 0).sum() * (labels < 0).sum() / (b * (b - 1)))
        expected = passing_pairs(reference_similarity(panel), threshold, ordered=False)
        assert candidates == pytest.approx(opposite(labels, expected))
        pairs = zip(panel.heatmap.figure.data[2].y, panel.heatmap.figure.data[2].x)
        assert drawn == pytest.approx(opposite(labels, pairs))


def test_code_preset_uses_ordered_pairs_above_0_4(panel) -> None:
    panel.preset.value = "code"
    assert panel.threshold.value == pytest.approx(0.4)
    assert panel.pair_mode.value == "ordered"
    assert shown_count(panel) == len(passing_pairs(reference_similarity(panel), 0.4, ordered=True))


def test_same_polarity_option_removes_conflicts(panel) -> None:
    panel.threshold.value = 0.2
    assert panel.conflict_figure.figure.data[0].y[0] > 0, "the batch needs conflicting candidates for this test"
    panel.same_polarity.value = True
    labels = panel.sample.labels.numpy()
    allowed = {(i, j) for i, j in passing_pairs(reference_similarity(panel), 0.2, False) if labels[i] * labels[j] >= 0}
    assert shown_count(panel) == len(allowed)
    assert panel.conflict_figure.figure.data[0].y[:2] == (0.0, 0.0)


def test_label_gap_option_bounds_label_distance(panel) -> None:
    panel.threshold.value = 0.1
    panel.max_label_gap.value = 1.0
    panel.limit_gap.value = True
    labels = panel.sample.labels.numpy()
    pairs = list(zip(panel.heatmap.figure.data[1].y, panel.heatmap.figure.data[1].x))
    assert pairs and all(abs(labels[i] - labels[j]) <= 1.0 + 1e-6 for i, j in pairs)


def test_pair_view_repeats_what_msmix_does(panel) -> None:
    """Same settings and seed: the display's pairs and ratios are the mixer's own."""
    s = panel.sample
    torch.manual_seed(0)
    mixer = MSMix(dims={m: z.shape[-1] for m, z in s.latents.items()}, threshold=0.3, alpha=0.7)
    mixer.eval()
    with torch.no_grad():
        mixed = mixer(s.latents, s.labels, generator=torch.Generator().manual_seed(11), masks=s.masks)
    view = pair_view(s.latents, s.masks, s.labels, mixed.intensities, mixer.config, seed=11)
    assert torch.equal(view.mix.index_a, mixed.index_a) and torch.equal(view.mix.index_b, mixed.index_b)
    for m in s.latents:
        assert torch.allclose(view.mix.ratios[m], mixed.ratios[m])
        assert torch.allclose(view.mix.mixed[m], mixed.mixed[m])
    assert torch.allclose(view.mix.labels, mixed.labels)
    assert torch.allclose(view.similarity, mixed.similarity)
    assert view.selection.n_candidates == mixed.info["n_candidates"]


def test_hover_names_both_samples_and_ratios(panel) -> None:
    s = panel.sample
    a, b = int(panel.view.mix.index_a[0]), int(panel.view.mix.index_b[0])
    text = panel.heatmap.figure.data[2].text[0]
    assert s.ids[a] in text and s.ids[b] in text and "ratios of a" in text
    cell = panel.heatmap.figure.data[0].customdata[1][2]
    assert s.ids[1] in cell and s.ids[2] in cell and f"{float(s.labels[1]):+.2f}" in cell


def test_says_synthetic_and_takes_settings(backbone, dataset) -> None:
    panel = sass_explorer(backbone, dataset, batch_size=8, preset="code")
    assert panel.threshold.value == pytest.approx(0.4) and panel.pair_mode.value == "ordered"
    assert "SYNTHETIC" in panel.children[0].value
    assert "SYNTHETIC" in panel.heatmap.figure.layout.title.text
    assert "untrained" in panel.children[1].value


def test_a_registered_backbone_on_the_demo_data() -> None:
    """By name: a fresh LMF, the demo data loaded time-averaged as LMF reads it."""
    panel = sass_explorer("lmf", "toy", batch_size=8, threshold=0.5)
    assert panel.sample.batch.audio.shape[1] == 1 and panel.sample.batch.vision.shape[1] == 1
    assert "fresh lmf (untrained" in panel.children[1].value and "SYNTHETIC" in panel.children[0].value
    assert shown_count(panel) == len(passing_pairs(reference_similarity(panel), 0.5, ordered=False))


def test_takes_latents_as_given_and_tags_widgets_for_browsers(backbone, dataset) -> None:
    sample = encode_sample(backbone, dataset, "valid", size=10, seed=1)
    panel = sass_explorer(sample, threshold=0.6)
    assert panel.sample is sample and "latents as given" in panel.children[1].value
    assert "msmix-sass" in panel._dom_classes
    assert "msmix-sass-threshold" in panel.threshold._dom_classes
    assert "msmix-sass-pair-count" in panel.pair_count._dom_classes
    assert "msmix-sass-heatmap" in panel.heatmap._dom_classes
