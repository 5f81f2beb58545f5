"""``multimix`` (arXiv 2206.14868): one dense Dirichlet weight matrix for every modality and the labels."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from scipy import stats

from msmix.mixing import create
from msmix.mixing.multimix import MultiMix, MultiMixConfig, draw_concentrations


def test_defaults_follow_the_paper(dims: dict[str, int]) -> None:
    mixer = create("multimix", dims)
    assert isinstance(mixer, MultiMix) and mixer.point == "latent"
    assert mixer.config == MultiMixConfig(alpha=(0.5, 2.0), n_mix=None)


def test_one_dense_matrix_for_modalities_and_labels(latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(6, "mixed")
    res = create("multimix", dims)(batch.latents, batch.labels, torch.Generator().manual_seed(0), batch.masks)
    assert res.k == 6
    for key in res.weights:
        assert torch.equal(res.weights[key], res.weights["label"]), key
    assert (res.weights["label"] > 0).all()
    assert res.index_a is None and res.ratios is None and res.label_ratio is None


def test_symmetric_dirichlet_marginals(latent_batch: Callable, dims: dict[str, int]) -> None:
    """Dirichlet(1, ..., 1) over B samples: each weight is Beta(1, B - 1), mean 1/B."""
    b = 5
    batch = latent_batch(b, "flat")
    res = create("multimix", dims, alpha=1.0, n_mix=20_000)(batch.latents, batch.labels, torch.Generator().manual_seed(1))
    w = res.weights["label"].double()
    torch.testing.assert_close(w.mean(dim=0), torch.full((b,), 1 / b, dtype=torch.float64), atol=0.005, rtol=0)
    variance = (b - 1) / (b**2 * (b + 1))
    assert (abs(w.var(dim=0) - variance) < 0.05 * variance).all()
    for i in range(b):
        assert stats.kstest(w[:, i].numpy(), stats.beta(1, b - 1).cdf).pvalue > 1e-3


def test_mixed_labels_are_convex_combinations_of_the_batch(latent_batch: Callable, dims: dict[str, int]) -> None:
    b = 6
    batch = latent_batch(b, "flat", seed=2)
    res = create("multimix", dims, n_mix=500)(batch.latents, batch.labels, torch.Generator().manual_seed(2))
    w, y = res.weights["label"].double(), batch.labels.double()
    expected = torch.stack([sum(w[r, i] * y[i] for i in range(b)) for r in range(res.k)])
    torch.testing.assert_close(res.labels.double(), expected, rtol=1e-5, atol=1e-5)
    assert (res.labels >= batch.labels.min() - 1e-6).all() and (res.labels <= batch.labels.max() + 1e-6).all()


def test_concentrations_are_drawn_per_sample_within_the_range() -> None:
    draws = draw_concentrations((0.5, 2.0), 500, torch.Generator().manual_seed(0))
    assert draws.shape == (500,) and draws.min() >= 0.5 and draws.max() <= 2.0
    assert draws.max() - draws.min() > 1.4
    assert draw_concentrations(0.7, 4).tolist() == [0.7] * 4


@pytest.mark.parametrize(("settings", "message"), [({"alpha": 0}, "alpha"), ({"alpha": (2.0, 1.0)}, "alpha"), ({"n_mix": -3}, "n_mix")])
def test_bad_settings_are_refused(settings: dict, message: str, dims: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=message):
        create("multimix", dims, **settings)
