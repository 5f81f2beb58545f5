"""``none``: the no-augmentation baseline; it always returns k = 0 mixed samples."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from msmix.mixing.base import Latents, Masks, Mixer, MixResult, register_mixer


@dataclass(frozen=True)
class NoneConfig:
    """``none`` has no settings."""


@register_mixer("none")
class NoMixing(Mixer):
    """Mixes nothing: the objective then skips its mixup term."""

    point = "latent"

    config_class = NoneConfig

    def mix(
        self, latents: Latents, labels: Tensor, masks: Masks, generator: torch.Generator | None
    ) -> MixResult:
        return MixResult.empty(latents, labels)
