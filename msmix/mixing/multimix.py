"""``multimix``: MultiMix (Venkataramanan, Kijak, Amsaleg, Avrithis, "Embedding Space Interpolation
Beyond Mini-Batch, Beyond Pairs and Beyond Examples", arXiv 2206.14868).

Each mixed sample is a convex combination of the *whole* batch: one row of a k x B matrix Λ drawn
from a Dirichlet over the B samples, so Z~ = Λ Z per modality and y~ = Λ y, with the same Λ for
every modality and the labels. Choices:

- The concentration of each sample is drawn uniformly in ``alpha`` (default [0.5, 2], the
  paper's range) once per call; a single number gives a fixed symmetric Dirichlet.
- k = B by default. The paper draws n = 1000 interpolations because it mixes right before a linear
  classifier; here the k mixed samples go through the backbone's whole fusion network, so k is a
  setting (``n_mix``) that costs a forward pass per sample.
- Padded frames are zero-weighted; since every Dirichlet weight is positive, a mixed frame is valid
  where any sample of the batch is (``msmix.mixing.pairs``). Dense MultiMix's attention-weighted
  per-position interpolation is not used: latents here have no shared spatial grid.
- No pair view (``index_a`` etc. stay None).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from msmix.mixing import sampling
from msmix.mixing.base import Latents, Masks, Mixer, MixResult, register_mixer
from msmix.mixing.pairs import dense_result, draw_device, weight_dtype
from msmix.mixing.settings import check_n_mix, check_positive_range


@dataclass(frozen=True)
class MultiMixConfig:
    """Settings of ``multimix``.

    Attributes:
        alpha: Dirichlet concentration per sample: a number, or a (low, high) range drawn from
            uniformly per sample at each call.
        n_mix: mixed samples per batch (None: k = B).
    """

    alpha: float | tuple[float, float] = (0.5, 2.0)
    n_mix: int | None = None

    def __post_init__(self) -> None:
        check_positive_range("alpha", self.alpha)
        check_n_mix(self.n_mix)


def draw_concentrations(
    bounds: float | tuple[float, float], batch_size: int, generator: torch.Generator | None = None
) -> Tensor:
    """(B,) one Dirichlet concentration per sample, uniform in ``bounds`` (a number: all equal), on
    the generator's device (no host round trip)."""
    low, high = check_positive_range("alpha", bounds)
    u = torch.rand(batch_size, generator=generator, device=draw_device(generator), dtype=torch.float64)
    return low + (high - low) * u


@register_mixer("multimix")
class MultiMix(Mixer):
    """Dense convex combinations of the whole batch, one Dirichlet row per mixed sample."""

    point = "latent"

    config_class = MultiMixConfig

    def mix(
        self, latents: Latents, labels: Tensor, masks: Masks, generator: torch.Generator | None
    ) -> MixResult:
        b = labels.shape[0]
        k = self.config.n_mix or b
        concentration = draw_concentrations(self.config.alpha, b, generator)
        weights = sampling.dirichlet(
            concentration, k, generator=generator, device=labels.device, dtype=weight_dtype(labels)
        )
        return dense_result(latents, labels, {**{m: weights for m in latents}, "label": weights}, masks)
