"""``none``: the no-augmentation baseline; it always returns k = 0 mixed samples."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from msmix.mixing.base import Latents, Masks, Mixer, MixResult, register_mixer
from msmix.mixing.pairs import batch_size
from msmix.mixing.settings import settings_from


@dataclass(frozen=True)
class NoneConfig:
    """``none`` has no settings."""


@register_mixer("none")
class NoMixing(Mixer):
    """Mixes nothing: the objective then skips its mixup term."""

    point = "latent"

    def __init__(self, dims: dict[str, int], label_range: float = 3.0, **settings) -> None:
        super().__init__()
        self.config = settings_from(NoneConfig, "none", settings)
        self.dims = dict(dims)
        self.label_range = label_range

    def forward(
        self,
        latents: Latents,
        labels: Tensor,
        generator: torch.Generator | None = None,
        masks: Masks | None = None,
    ) -> MixResult:
        batch_size(latents, labels, masks)
        return MixResult.empty(latents, labels)
