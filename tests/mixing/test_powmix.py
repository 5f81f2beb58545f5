"""``powmix`` (arXiv 2312.12334): subsets, anisotropic Dirichlet weights, reweighting, cross-modal labels."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch

from msmix.mixing import create
from msmix.mixing.powmix import (
    PowMix,
    PowMixConfig,
    activation_level,
    label_mixture,
    modality_shares,
    reweighted,
    subset_members,
)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_defaults(dims: dict[str, int]) -> None:
    mixer = create("powmix", dims)
    assert isinstance(mixer, PowMix) and mixer.point == "latent"
    assert mixer.config == PowMixConfig()
    assert mixer.config.anisotropic and mixer.config.reweight == "activation" and mixer.config.label_weights is None


@pytest.mark.parametrize(("b", "share"), [(8, (0.5, 1.0)), (10, (0.25, 0.5)), (3, (0.1, 0.2)), (2, (0.5, 1.0))])
def test_subset_sizes_cover_the_range_and_members_are_uniform(b: int, share: tuple[float, float]) -> None:
    members = subset_members(6_000, b, share, seeded())
    sizes = members.sum(dim=1)
    low = min(b, max(2, math.ceil(share[0] * b)))
    high = min(b, max(low, math.ceil(share[1] * b)))
    assert set(sizes.tolist()) == set(range(low, high + 1))
    inclusion = members.double().mean(dim=0)
    expected = sizes.double().mean() / b
    assert (abs(inclusion - expected) < 0.03).all()


def test_weights_vanish_outside_one_subset_shared_by_all_modalities(latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(8, "mixed")
    res = create("powmix", dims, subset=(0.5, 0.5))(batch.latents, batch.labels, seeded(1), batch.masks)
    support = res.weights["label"] != 0
    assert (support.sum(dim=1) == 4).all()
    for key, w in res.weights.items():
        assert torch.equal(w != 0, support), key


def test_anisotropic_weights_differ_per_modality(latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(6, "flat")

    def weights(anisotropic: bool) -> dict[str, torch.Tensor]:
        mixer = create("powmix", dims, anisotropic=anisotropic, reweight="none")
        return mixer(batch.latents, batch.labels, seeded(2)).weights

    aniso, iso = weights(True), weights(False)
    assert not torch.allclose(aniso["text"], aniso["audio"]) and not torch.allclose(aniso["audio"], aniso["vision"])
    assert torch.equal(iso["text"], iso["audio"]) and torch.equal(iso["audio"], iso["vision"])


def test_label_weights_are_the_mean_of_the_modality_weights(latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(5, "sequence")
    res = create("powmix", dims)(batch.latents, batch.labels, seeded(3), batch.masks)
    mean = sum(res.weights[m].double() for m in dims) / 3
    torch.testing.assert_close(res.weights["label"].double(), mean)


def test_label_weights_can_favour_a_modality(latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(5, "flat")
    res = create("powmix", dims, label_weights={"text": 2.0, "audio": 1.0})(batch.latents, batch.labels, seeded(4))
    expected = (2 * res.weights["text"].double() + res.weights["audio"].double()) / 3
    torch.testing.assert_close(res.weights["label"].double(), expected)


def test_reweighted_matches_a_loop() -> None:
    g = seeded(5)
    draws = torch.rand(4, 5, generator=g, dtype=torch.float64) + 0.01
    members = torch.rand(4, 5, generator=g) > 0.4
    members[:, :2] = True
    share = torch.rand(5, generator=g, dtype=torch.float64) + 0.1
    expected = torch.zeros(4, 5, dtype=torch.float64)
    for r in range(4):
        row = [draws[r, i] * share[i] if members[r, i] else 0.0 for i in range(5)]
        total = sum(row)
        for i in range(5):
            expected[r, i] = row[i] / total
    torch.testing.assert_close(reweighted(draws, members, share), expected)
    plain = reweighted(draws, members)
    torch.testing.assert_close(plain.sum(dim=1), torch.ones(4, dtype=torch.float64))
    assert torch.equal(plain != 0, members)


def test_activation_level_averages_valid_frames_only() -> None:
    g = seeded(6)
    z = torch.randn(3, 4, 2, generator=g)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 1]], dtype=torch.bool)
    expected = torch.tensor([
        sum(abs(float(z[i, t, f])) for t in range(4) for f in range(2) if mask[i, t]) / (2 * int(mask[i].sum()))
        for i in range(3)
    ])
    torch.testing.assert_close(activation_level(z, mask), expected)
    torch.testing.assert_close(activation_level(z[:, 0]), z[:, 0].abs().mean(dim=1))


def test_modality_shares_sum_to_one_per_sample() -> None:
    levels = {"text": torch.tensor([1.0, 0.0, 2.0]), "audio": torch.tensor([3.0, 0.0, 2.0])}
    shares = modality_shares(levels)
    torch.testing.assert_close(shares["text"] + shares["audio"], torch.ones(3))
    torch.testing.assert_close(shares["text"], torch.tensor([0.25, 0.5, 0.5]), atol=1e-5, rtol=0)


def test_reweighting_silences_a_sample_where_its_modality_is_empty(latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(5, "flat")
    batch.latents["audio"][2] = 0
    on = create("powmix", dims, subset=(1.0, 1.0))(batch.latents, batch.labels, seeded(7)).weights
    off = create("powmix", dims, subset=(1.0, 1.0), reweight="none")(batch.latents, batch.labels, seeded(7)).weights
    assert (on["audio"][:, 2] < 1e-4).all() and (on["text"][:, 2] > 1e-4).any()
    assert (off["audio"][:, 2] > 1e-4).any()


def test_label_mixture_refuses_foreign_modalities() -> None:
    weights = {"text": torch.eye(2), "audio": torch.eye(2)}
    with pytest.raises(ValueError, match="absent from the latents"):
        label_mixture(weights, {"vision": 1.0})
    with pytest.raises(ValueError, match="no weight"):
        label_mixture(weights, {"text": 0.0})


def test_n_mix_sets_the_number_of_mixed_samples(latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(4, "flat")
    assert create("powmix", dims, n_mix=11)(batch.latents, batch.labels).k == 11


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"reweight": "attention"}, "reweight"),
        ({"subset": (0.6, 0.4)}, "subset"),
        ({"subset": (0.0, 1.0)}, "subset"),
        ({"subset": (0.5, 1.5)}, "subset"),
        ({"alpha": 0.0}, "alpha"),
        ({"label_weights": {"text": -1.0}}, "label_weights"),
        ({"label_weights": {"smell": 1.0}}, "absent from dims"),
    ],
)
def test_bad_settings_are_refused(settings: dict, message: str, dims: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=message):
        create("powmix", dims, **settings)
