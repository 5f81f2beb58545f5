"""``manifold`` (arXiv 1806.05236): latent point, Beta(2, 2) ratios by default, one per pair."""

from __future__ import annotations

from collections.abc import Callable

import torch

from msmix.mixing import create
from msmix.mixing.manifold import ManifoldConfig, ManifoldMixup


def test_manifold_mixes_latents_with_the_papers_alpha(dims: dict[str, int]) -> None:
    mixer = create("manifold", dims)
    assert isinstance(mixer, ManifoldMixup) and mixer.point == "latent"
    assert mixer.config == ManifoldConfig(alpha=2.0, n_mix=None)
    assert create("manifold", dims, alpha=0.5).config.alpha == 0.5


def test_ratios_follow_beta_2_2_and_are_shared(latent_batch: Callable, dims: dict[str, int], beta_sample: Callable) -> None:
    batch = latent_batch(5, "sequence")
    res = create("manifold", dims, n_mix=20_000)(batch.latents, batch.labels, torch.Generator().manual_seed(5), batch.masks)
    beta_sample(res.label_ratio, 2.0)
    for m in batch.latents:
        assert torch.equal(res.ratios[m], res.label_ratio)
