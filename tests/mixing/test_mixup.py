"""``mixup`` (arXiv 1710.09412): input point, Beta(alpha, alpha) ratios shared by modalities and label."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from msmix.data.batch import Batch
from msmix.mixing import create
from msmix.mixing.mixup import Mixup, MixupConfig


def test_mixup_mixes_inputs_and_defaults_to_the_papers_alpha(dims: dict[str, int]) -> None:
    mixer = create("mixup", dims)
    assert isinstance(mixer, Mixup) and mixer.point == "input"
    assert mixer.config == MixupConfig(alpha=1.0, n_mix=None)


@pytest.mark.parametrize("alpha", [1.0, 0.4])
def test_ratios_follow_beta_alpha_alpha(alpha: float, latent_batch: Callable, dims: dict[str, int], beta_sample: Callable) -> None:
    batch = latent_batch(4, "flat")
    res = create("mixup", dims, alpha=alpha, n_mix=20_000)(batch.latents, batch.labels, torch.Generator().manual_seed(3))
    assert res.k == 20_000
    beta_sample(res.label_ratio, alpha)


def test_one_ratio_per_pair_shared_by_modalities_and_label(latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(6, "mixed")
    res = create("mixup", dims)(batch.latents, batch.labels, torch.Generator().manual_seed(0), batch.masks)
    for m in batch.latents:
        assert torch.equal(res.ratios[m], res.label_ratio)
    assert (res.index_a != res.index_b).all()
    assert sorted(res.index_a.tolist()) == list(range(6))


def test_n_mix_sets_the_number_of_mixed_samples(latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(3, "flat")
    assert create("mixup", dims, n_mix=7)(batch.latents, batch.labels).k == 7


@pytest.mark.parametrize(("settings", "message"), [({"alpha": 0.0}, "alpha"), ({"alpha": -1}, "alpha"), ({"n_mix": 0}, "n_mix")])
def test_bad_settings_are_refused(settings: dict, message: str, dims: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=message):
        create("mixup", dims, **settings)


def test_unknown_settings_name_the_known_ones(dims: dict[str, int]) -> None:
    with pytest.raises(TypeError, match=r"unknown settings \[.*\]; known: \[.alpha., .n_mix.\]"):
        create("mixup", dims, alhpa=1.0)


def test_mixup_on_a_batchs_raw_features_keeps_the_longer_parent_valid() -> None:
    """The trainer's input path: Batch.features() and Batch.masks() straight into the mixer."""
    g = torch.Generator().manual_seed(4)
    b = 5
    lengths = {"audio": torch.tensor([6, 2, 4, 1, 3]), "vision": torch.tensor([1, 5, 5, 2, 4])}
    batch = Batch(
        text=torch.randn(b, 6, 12, generator=g),
        audio=torch.randn(b, 6, 5, generator=g),
        vision=torch.randn(b, 5, 7, generator=g),
        labels=torch.rand(b, generator=g) * 6 - 3,
        lengths=lengths,
    )
    mixer = create("mixup", {"text": 12, "audio": 5, "vision": 7})
    res = mixer(batch.features(), batch.labels, torch.Generator().manual_seed(0), batch.masks())
    assert res.masks["text"] is None
    for m, length in lengths.items():
        longer = torch.maximum(length[res.index_a], length[res.index_b])
        assert torch.equal(res.masks[m].sum(dim=1), longer), m
    mixed_batch = batch.with_features(res.mixed, res.labels)
    assert len(mixed_batch) == res.k and mixed_batch.audio.shape == (res.k, 6, 5)
