"""``none``: the no-augmentation baseline; it always returns k = 0 mixed samples."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from msmix.mixing.base import Latents, Masks, Mixer, MixResult, register_mixer
from msmix.mixing.pairs import batch_size


@dataclass(frozen=True)
class NoneConfig:
    """``none`` has no settings."""


@register_mixer("none")
class NoMixing(Mixer):
    """Mixes nothing: the objective then skips its mixup term."""

    point = "latent"

    config_class = NoneConfig

    def forward(
        self,
        latents: Latents,
        labels: Tensor,
        generator: torch.Generator | None = None,
        masks: Masks | None = None,
    ) -> MixResult:
        batch_size(latents, labels, masks)
        return MixResult.empty(latents, labels)
