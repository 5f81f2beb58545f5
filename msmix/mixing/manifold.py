"""``manifold``: Manifold Mixup (Verma, Lamb, Beckham, Najafi, Mitliagkas, Lopez-Paz, Bengio,
"Manifold Mixup: Better Representations by Interpolating Hidden States", arXiv 1806.05236).

The mixup rule on hidden states instead of inputs: z~ = lam z_a + (1 - lam) z_b and
y~ = lam y_a + (1 - lam) y_b, lam ~ Beta(alpha, alpha). Choices:

- The hidden states are the per-modality latents between ``encode`` and ``fuse``
  (``point = "latent"``); the paper draws the layer at random among eligible ones, here the layer
  is the one every mixer shares.
- One lam per pair, shared by all modalities and the label; pairs as in ``mixup`` (k = B, each
  sample a first parent once, partner uniform over the other samples; ``n_mix`` for another k).
- alpha = 2, the paper's setting for Manifold Mixup on CIFAR.
"""

from __future__ import annotations

from dataclasses import dataclass

from msmix.mixing.base import register_mixer
from msmix.mixing.mixup import Mixup, MixupConfig


@dataclass(frozen=True)
class ManifoldConfig(MixupConfig):
    """Settings of ``manifold``: as ``mixup``'s, with the paper's alpha = 2."""

    alpha: float = 2.0


@register_mixer("manifold")
class ManifoldMixup(Mixup):
    """Mixup on the latents: one Beta(alpha, alpha) ratio per pair, shared by all modalities."""

    point = "latent"
    config_class = ManifoldConfig
