"""Helpers of the mixer checks: calling a mixer on a latent batch, and float64 re-derivations of what
it should return (mixed[m][r] = sum_i weights[m][r, i] * z_i, padded frames counted as zero)."""

from __future__ import annotations

import torch
from torch import Tensor

from msmix.mixing import Mixer, MixResult
from msmix.testing.assertions import require_close
from msmix.testing.latent_batches import LatentBatch
from msmix.testing.mixer_subject import MixerSubject

CLOSE = {"rtol": 1e-5, "atol": 1e-5}
"""Tolerances between a mixer's float32 results and their float64 re-derivations."""


def run(s: MixerSubject, batch: LatentBatch, seed: int = 0) -> MixResult:
    """A fresh mixer's result on ``batch`` under a generator seeded with ``seed``."""
    return call(s.build(), batch, seed)


def call(mixer: Mixer, batch: LatentBatch, seed: int, labels: Tensor | None = None) -> MixResult:
    """``mixer`` on ``batch`` (or on other ``labels``) under a generator seeded with ``seed``."""
    labels = batch.labels if labels is None else labels
    return mixer(batch.latents, labels, generator=torch.Generator().manual_seed(seed), masks=batch.masks)


def zero_padded64(z: Tensor, mask: Tensor | None) -> Tensor:
    """``z`` in float64 with padded frames set to zero."""
    z = z.detach().double()
    return z if mask is None else z * mask.double().unsqueeze(-1)


def weighted_sum64(weights: Tensor, z: Tensor, mask: Tensor | None) -> Tensor:
    """Loop over mixed samples and parents: sum_i w[r, i] * z_i (padded frames zero)."""
    w, zz = weights.detach().double(), zero_padded64(z, mask)
    out = torch.zeros((w.shape[0], *zz.shape[1:]), dtype=torch.float64)
    for r in range(w.shape[0]):
        for i in range(w.shape[1]):
            out[r] += w[r, i] * zz[i]
    return out


def close(actual: Tensor, expected: Tensor, reason: str) -> None:
    """``actual`` (any float dtype) matches a float64 re-derivation within ``CLOSE``."""
    require_close(actual.detach().double(), expected, reason, **CLOSE)
