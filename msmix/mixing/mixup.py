"""``mixup``: input mixup (Zhang, Cisse, Dauphin, Lopez-Paz, "mixup: Beyond Empirical Risk
Minimization", arXiv 1710.09412).

x~ = lam x_a + (1 - lam) x_b and y~ = lam y_a + (1 - lam) y_b with lam ~ Beta(alpha, alpha),
applied to the raw input features, before the backbone's ``encode`` (``point = "input"``): the
trainer calls it on the batch's text / audio / vision tensors and their masks. Choices:

- One lam per pair, shared by the three modalities and the label (the paper mixes whole
  examples).
- Pairs: k = B by default, every sample the first parent of one mixed sample (the paper's mixing
  of a batch with a shuffled copy of itself); the partner is uniform over the *other* samples, so
  no mixed sample is a mere copy (a shuffled copy pairs about one sample per batch with itself).
  ``n_mix`` asks for another k (first parents then cycle through fresh permutations).
- alpha = 1 (uniform lam), the paper's CIFAR setting; it used 0.1-0.4 on ImageNet.
- Padded frames are zero-weighted and a mixed frame is valid where a parent is
  (``msmix.mixing.pairs``). Only feature tensors can be mixed, not token ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from msmix.mixing import sampling
from msmix.mixing.base import Latents, Masks, Mixer, MixResult, register_mixer
from msmix.mixing.pairs import pair_result, random_pairs, weight_dtype
from msmix.mixing.settings import check_n_mix


@dataclass(frozen=True)
class MixupConfig:
    """Settings of ``mixup``.

    Attributes:
        alpha: lam ~ Beta(alpha, alpha).
        n_mix: mixed samples per batch (None: one per sample, k = B).
    """

    alpha: float = 1.0
    n_mix: int | None = None

    def __post_init__(self) -> None:
        if not self.alpha > 0:
            raise ValueError(f"alpha must be positive, got {self.alpha!r}")
        check_n_mix(self.n_mix)


@register_mixer("mixup")
class Mixup(Mixer):
    """Pairwise mixing with one Beta(alpha, alpha) ratio per pair, shared by all modalities."""

    point = "input"
    config_class = MixupConfig

    def mix(
        self, latents: Latents, labels: Tensor, masks: Masks, generator: torch.Generator | None
    ) -> MixResult:
        b = labels.shape[0]
        k = self.config.n_mix or b
        index_a, index_b = random_pairs(b, k, generator, device=labels.device)
        lam = sampling.beta(self.config.alpha, k, generator, device=labels.device, dtype=weight_dtype(labels))
        return pair_result(latents, labels, index_a, index_b, {m: lam for m in latents}, lam, masks)
