"""Shared fixtures for mixer tests: small random latent batches (2-D, 3-D with masks, both)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from scipy import stats
from torch import Tensor

DIMS = {"text": 8, "audio": 4, "vision": 6}
SEQ_LENS = {"text": 6, "audio": 5, "vision": 4}
LAYOUTS = ("flat", "sequence", "mixed")


@dataclass
class LatentBatch:
    """Latents per modality, (B,) labels in [-3, 3], and (B, T) masks (None where unmasked)."""

    latents: dict[str, Tensor]
    labels: Tensor
    masks: dict[str, Tensor | None]

    @property
    def size(self) -> int:
        return int(self.labels.shape[0])


def random_mask(b: int, t: int, generator: torch.Generator, padding: str) -> Tensor:
    """(b, t) mask from random lengths in 1..t; sample 0 is full, the last has a single frame."""
    lengths = torch.randint(1, t + 1, (b,), generator=generator)
    lengths[0], lengths[-1] = t, 1
    steps = torch.arange(t).unsqueeze(0)
    if padding == "right":
        return steps < lengths.unsqueeze(1)
    return steps >= (t - lengths).unsqueeze(1)


def make_latent_batch(b: int, layout: str = "sequence", seed: int = 0) -> LatentBatch:
    """A random batch in one of three layouts.

    ``flat``: every modality B x d. ``sequence``: every modality B x T x d with masks (text padded
    on the right, audio and vision on the left). ``mixed``: text B x T x d with a mask, audio
    B x T x d with no mask, vision B x d. Padded frames hold non-zero values on purpose, so that
    tests see whether a mixer zero-weights them.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    g = torch.Generator().manual_seed(seed)
    latents: dict[str, Tensor] = {}
    masks: dict[str, Tensor | None] = {}
    for m, d in DIMS.items():
        sequence = layout == "sequence" or (layout == "mixed" and m != "vision")
        shape = (b, SEQ_LENS[m], d) if sequence else (b, d)
        latents[m] = torch.randn(*shape, generator=g)
        masked = sequence and not (layout == "mixed" and m == "audio")
        masks[m] = random_mask(b, SEQ_LENS[m], g, "right" if m == "text" else "left") if masked else None
    labels = (torch.rand(b, generator=g) * 6 - 3).clamp(-3, 3)
    return LatentBatch(latents, labels, masks)


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
