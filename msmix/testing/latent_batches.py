"""The latent batches the mixer contract runs on: 2-D latents, 3-D latents with masks, and both."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

LATENT_DIMS: dict[str, int] = {"text": 8, "audio": 4, "vision": 6}
LATENT_SEQ_LENS: dict[str, int] = {"text": 6, "audio": 5, "vision": 4}
LAYOUTS: tuple[str, str, str] = ("flat", "sequence", "mixed")


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


def latent_batch(b: int, layout: str = "sequence", seed: int = 0, dims: dict[str, int] | None = None) -> LatentBatch:
    """A random batch of latents of ``dims`` (default ``LATENT_DIMS``) in one of three layouts.

    Modalities are taken in the order of ``dims``; call them first, second and the rest.
    ``flat``: every modality B x d. ``sequence``: every modality B x T x d with a mask (the first
    padded on the right, the others on the left). ``mixed``: the first B x T x d with a mask, the
    second B x T x d with no mask, the rest B x d. Padded frames hold non-zero values on purpose, so
    that a check sees whether a mixer zero-weights them.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    dims = dict(LATENT_DIMS if dims is None else dims)
    g = torch.Generator().manual_seed(seed)
    latents: dict[str, Tensor] = {}
    masks: dict[str, Tensor | None] = {}
    for i, (m, d) in enumerate(dims.items()):
        t = LATENT_SEQ_LENS.get(m, 5)
        sequence = layout == "sequence" or (layout == "mixed" and i < 2)
        latents[m] = torch.randn(*((b, t, d) if sequence else (b, d)), generator=g)
        masked = sequence and not (layout == "mixed" and i == 1)
        masks[m] = random_mask(b, t, g, "right" if i == 0 else "left") if masked else None
    labels = (torch.rand(b, generator=g) * 6 - 3).clamp(-3, 3)
    return LatentBatch(latents, labels, masks)
