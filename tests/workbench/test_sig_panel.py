"""SIG explorer: ratios, pair view and intensities are what the MS-Mix mixer itself produces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from msmix.mixing.msmix import MSMix
from msmix.mixing.sig import normalized_intensity
from workbench import sig_explorer


@pytest.fixture
def panel(backbone, dataset):
    torch.manual_seed(5)
    mixer = MSMix(dims=dict(backbone.latent_dims))
    return sig_explorer(backbone, dataset, mixer=mixer, batch_size=20, seed=2, threshold=0.3)


def mixer_output(panel, **settings):
    """What the panel's mixer returns for the panel's batch with the given settings and seed."""
    s = panel.sample
    torch.manual_seed(5)
    mixer = MSMix(dims={m: z.shape[-1] for m, z in s.latents.items()}, threshold=0.3, **settings)
    mixer.eval()
    with torch.no_grad():
        return mixer(s.latents, s.labels, generator=torch.Generator().manual_seed(int(panel.seed.value)), masks=s.masks)


def shown_ratios(panel) -> dict[str, np.ndarray]:
    return {t.name: np.asarray(t.x, dtype=float) for t in panel.ratio_figure.figure.data}


def test_alpha_slider_redraws_the_ratios_the_mixer_would_use(panel) -> None:
    before = shown_ratios(panel)
    for alpha in (0.2, 8.0):
        panel.alpha.value = alpha
        expected = mixer_output(panel, alpha=panel.alpha.value)
        shown = shown_ratios(panel)
        for m in ("text", "audio", "vision"):
            np.testing.assert_allclose(shown[m], expected.ratios[m].numpy(), atol=1e-6)
        np.testing.assert_allclose(shown["label"], expected.label_ratio.numpy(), atol=1e-6)
        assert all(((v >= 0) & (v <= 1)).all() for v in shown.values())
    assert not np.allclose(before["text"], shown["text"])


def test_ratio_halves_follow_alpha(panel) -> None:
    """lam = (beta + share) / 2: Beta(20, 20) draws sit near 1/2, Beta(0.1, 0.1) draws near 0 or 1."""
    share = normalized_intensity(panel.intensities["text"])

    def beta_draws() -> torch.Tensor:
        a, b = panel.view.mix.index_a, panel.view.mix.index_b
        adaptive = (share[a] + 1e-8) / (share[a] + share[b] + 2e-8)
        return 2 * panel.view.mix.ratios["text"] - adaptive

    panel.alpha.value = 20.0
    assert panel.settings().alpha == pytest.approx(20.0, rel=0.05)
    assert (beta_draws() - 0.5).abs().max() < 0.35
    panel.alpha.value = 0.1
    assert (beta_draws() - 0.5).abs().median() > 0.35


def test_label_ratio_mode(panel) -> None:
    panel.label_ratio.value = "intensity_weighted"
    expected = mixer_output(panel, alpha=panel.alpha.value, label_ratio="intensity_weighted")
    np.testing.assert_allclose(shown_ratios(panel)["label"], expected.label_ratio.numpy(), atol=1e-6)


def test_pair_view_shows_the_chosen_pair(panel) -> None:
    panel.pair.value = 3
    mix, s = panel.view.mix, panel.sample
    a, b = int(mix.index_a[3]), int(mix.index_b[3])
    bars = panel.pair_figure.figure.data
    assert list(bars[2].x) == ["text", "audio", "vision", "label"]
    np.testing.assert_allclose(bars[2].y, [float(mix.ratios[m][3]) for m in ("text", "audio", "vision")]
                               + [float(mix.label_ratio[3])], atol=1e-6)
    np.testing.assert_allclose(bars[0].y, [float(normalized_intensity(panel.intensities[m])[a]) for m in bars[0].x])
    np.testing.assert_allclose(bars[1].y, [float(normalized_intensity(panel.intensities[m])[b]) for m in bars[1].x])
    assert s.ids[a] in panel.pair_text.value and s.ids[b] in panel.pair_text.value
    assert f"{float(mix.labels[3]):+.2f}" in panel.pair_text.value
    assert panel.pair.max == panel.view.k - 1


def test_intensities_against_labels(panel) -> None:
    expected = mixer_output(panel).intensities
    for trace in panel.intensity_figure.figure.data[:3]:
        np.testing.assert_allclose(trace.x, panel.sample.labels.numpy())
        np.testing.assert_allclose(trace.y, expected[trace.name].numpy(), atol=1e-6)
    assert "SYNTHETIC" in panel.intensity_figure.figure.layout.title.text
    assert "given MS-Mix" in panel.children[1].value


def test_data_without_audio_and_vision_show_text_alone(backbone, dataset) -> None:
    """With audio and vision missing from the data, the panel shows what MS-Mix does: text decides."""
    from dataclasses import replace

    from workbench import sass_explorer

    spec = replace(dataset.spec, missing=("audio", "vision"))
    text_only = replace(dataset, spec=spec)
    torch.manual_seed(5)
    mixer = MSMix(dims=dict(backbone.latent_dims), absent=spec.missing, threshold=0.3)
    panel = sig_explorer(backbone, text_only, mixer=mixer, batch_size=20, seed=2)
    assert set(panel.intensities) == {"text"}
    assert [t.name for t in panel.ratio_figure.figure.data] == ["text", "label"]
    s = panel.sample
    mixer.eval()
    with torch.no_grad():
        expected = mixer(s.latents, s.labels, generator=torch.Generator().manual_seed(0), masks=s.masks)
    np.testing.assert_allclose(shown_ratios(panel)["text"], expected.ratios["text"].numpy(), atol=1e-6)
    np.testing.assert_allclose(shown_ratios(panel)["label"], expected.label_ratio.numpy(), atol=1e-6)
    assert list(panel.pair_figure.figure.data[2].x) == ["text", "label"]
    assert "audio and vision missing" in panel.children[0].value
    pairs = sass_explorer(backbone, text_only, mixer=mixer, batch_size=20, seed=2)
    np.testing.assert_allclose(pairs.view.similarity.numpy(), expected.similarity.numpy(), atol=1e-6)


def test_the_state_line_reports_each_modality_of_the_shown_batch(panel) -> None:
    from msmix.mixing.intensity_stats import intensity_stats

    stats = intensity_stats(panel.intensities, panel.sample.labels, panel.sample.spec.label_range)
    for m in panel.intensities:
        assert f"<b>{m}</b>: corr {stats[f'{m}_corr']:+.2f}" in panel.intensity_state.value
    assert panel.history_figure is None  # a bare backbone comes without a run history


def test_a_trained_run_brings_its_predictors_history(dataset) -> None:
    from workbench import training_panel

    trained = training_panel(dataset, backbone="lmf", mixer="msmix", max_epochs=2, seed=3)
    trained.train_now()
    panel = sig_explorer(trained, dataset, batch_size=20, seed=2)
    assert panel.history_figure is not None
    np.testing.assert_allclose(panel.history_figure.figure.data[0].y, trained.history["intensity_text_corr"])
    assert any("During training. Epoch 2" in str(getattr(w, "value", "")) for w in _all_children(panel))


def _all_children(widget):
    for child in getattr(widget, "children", ()):
        yield child
        yield from _all_children(child)
