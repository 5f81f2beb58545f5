"""Random latents for tests of ``fuse`` (specs and input batches come from ``msmix.testing``)."""

from __future__ import annotations

import torch
from torch import Tensor


def random_latents(b: int, dims: dict[str, int], seed: int = 0, scale: float = 1.0) -> dict[str, Tensor]:
    """(b, d) latents per modality, non-negative like the ReLU outputs they stand for."""
    g = torch.Generator().manual_seed(seed)
    return {m: torch.rand(b, d, generator=g) * scale for m, d in dims.items()}
