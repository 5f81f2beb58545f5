"""Shared fixtures for mixer tests: small random latent batches (2-D, 3-D with masks, both)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from scipy import stats
from torch import Tensor

from msmix.testing.latent_batches import LATENT_DIMS, LAYOUTS, LatentBatch
from msmix.testing.latent_batches import latent_batch as make_latent_batch  # shared with the mixer contract

DIMS = dict(LATENT_DIMS)


@pytest.fixture
def dims() -> dict[str, int]:
    """Latent feature size per modality of the batches below."""
    return dict(DIMS)


@pytest.fixture(params=LAYOUTS)
def layout(request: pytest.FixtureRequest) -> str:
    """Each latent layout in turn: ``flat``, ``sequence``, ``mixed``."""
    return request.param


@pytest.fixture
def latent_batch() -> Callable[..., LatentBatch]:
    """Factory: ``latent_batch(b, layout="sequence", seed=0)``."""
    return make_latent_batch


def check_beta_sample(lam: Tensor, alpha: float) -> None:
    """Generous checks that ``lam`` is a sample of Beta(alpha, alpha): mean 1/2, variance
    1 / (4 (2 alpha + 1)) within 5%, and a Kolmogorov-Smirnov p-value above 1e-3."""
    lam = lam.detach().double()
    assert abs(lam.mean().item() - 0.5) < 0.01
    variance = 1 / (4 * (2 * alpha + 1))
    assert abs(lam.var().item() - variance) < 0.05 * variance
    assert stats.kstest(lam.numpy(), stats.beta(alpha, alpha).cdf).pvalue > 1e-3


@pytest.fixture
def beta_sample() -> Callable[[Tensor, float], None]:
    """``beta_sample(lam, alpha)`` asserts that ``lam`` looks like a Beta(alpha, alpha) sample."""
    return check_beta_sample
