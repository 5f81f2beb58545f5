"""``powmix``: PowMix (Georgiou, Avrithis, Potamianos, "PowMix: A Versatile Regularizer for
Multimodal Sentiment Analysis", arXiv 2312.12334).

An embedding-space regulariser placed before fusion that mixes each modality only with the same
modality (text with text, ...), built from five components, each realised here as follows:

1. Varying number of mixed examples: k is a setting (``n_mix``, default B), not tied to pairs.
2. Dynamic mixing: each mixed sample combines a random subset of the batch. Its size is drawn
   uniformly among the integers ceil(low B) ... ceil(high B) of ``subset`` (at least 2), its
   members uniformly; the same subset serves every modality, so a mixed sample has one set of
   parents. Weights outside the subset are exactly zero.
3. Anisotropic mixing: each modality draws its own Dirichlet weights over the subset (concentration
   per sample uniform in ``alpha``, drawn once per call); ``anisotropic=False`` shares one draw.
   A Dirichlet over B samples restricted to a subset and renormalised is the Dirichlet of the
   subset, so one draw over the batch serves any subset.
4. Mixing factor reweighting (``reweight="activation"``): modality m's factor for sample i is
   multiplied by that modality's share of the sample's activation, mean|z_i^m| / sum over
   modalities, then each row is renormalised; a sample weighs more in the modalities where it is
   strong. This is our reading of the paper's description; ``reweight="none"`` turns it off.
   The factors carry no gradient (they are sampled, like every mixup ratio).
5. Cross-modal label mixing: the label weights combine the per-modality weights,
   Λ_label = sum_m c_m Λ^m with c the mean (default) or ``label_weights`` normalised to sum 1,
   so y~ = Λ_label y.

Padded frames are zero-weighted and a mixed frame is valid where any parent with non-zero weight
is valid (``msmix.mixing.pairs``). Defaults without a published value (concentration range,
subset range) are ours and are settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from msmix.mixing import sampling
from msmix.mixing.base import Latents, Masks, Mixer, MixResult, register_mixer
from msmix.mixing.multimix import draw_concentrations
from msmix.mixing.pairs import dense_result, draw_device, weight_dtype
from msmix.mixing.settings import check_fraction_range, check_n_mix, check_positive_range

REWEIGHTS = ("activation", "none")


@dataclass(frozen=True)
class PowMixConfig:
    """Settings of ``powmix``.

    Attributes:
        n_mix: mixed samples per batch (None: k = B).
        alpha: Dirichlet concentration per sample: a number, or a (low, high) range.
        subset: (low, high) share of the batch each mixed sample draws its parents from.
        anisotropic: independent Dirichlet weights per modality (False: one draw for all).
        reweight: ``"activation"`` (per-modality activation shares) or ``"none"``.
        label_weights: coefficient of each modality's weights in the label weights
            (None: the mean over modalities).
    """

    n_mix: int | None = None
    alpha: float | tuple[float, float] = (0.5, 1.5)
    subset: tuple[float, float] = (0.5, 1.0)
    anisotropic: bool = True
    reweight: str = "activation"
    label_weights: dict[str, float] | None = None

    def __post_init__(self) -> None:
        check_n_mix(self.n_mix)
        check_positive_range("alpha", self.alpha)
        check_fraction_range("subset", self.subset)
        if self.reweight not in REWEIGHTS:
            raise ValueError(f"reweight must be one of {REWEIGHTS}, got {self.reweight!r}")
        if self.label_weights is not None:
            values = list(self.label_weights.values())
            if any(v < 0 for v in values) or not sum(values) > 0:
                raise ValueError(f"label_weights must be >= 0 with a positive sum, got {self.label_weights}")


def subset_members(
    k: int, batch_size: int, share: tuple[float, float], generator: torch.Generator | None = None
) -> Tensor:
    """(k, B) boolean: row r marks the random subset mixed sample r draws its parents from."""
    at = draw_device(generator)
    low = min(batch_size, max(2, math.ceil(share[0] * batch_size)))
    high = min(batch_size, max(low, math.ceil(share[1] * batch_size)))
    sizes = torch.randint(low, high + 1, (k, 1), generator=generator, device=at)
    order = torch.rand(k, batch_size, generator=generator, device=at).argsort(dim=1)
    ranks = torch.empty_like(order).scatter_(1, order, torch.arange(batch_size, device=at).expand(k, -1))
    return ranks < sizes


def activation_level(z: Tensor, mask: Tensor | None = None) -> Tensor:
    """(B,) mean absolute activation of each sample over its valid frames and features."""
    flat = z.detach().abs().reshape(z.shape[0], -1, z.shape[-1]).mean(dim=-1)
    if mask is None:
        return flat.mean(dim=1)
    valid = mask.to(flat.dtype)
    return (flat * valid).sum(dim=1) / valid.sum(dim=1).clamp(min=1)


def modality_shares(levels: dict[str, Tensor], eps: float = 1e-6) -> dict[str, Tensor]:
    """Each modality's share of every sample's activation (shares of a sample sum to 1)."""
    padded = {m: level + eps for m, level in levels.items()}
    total = sum(padded.values())
    return {m: level / total for m, level in padded.items()}


def reweighted(draws: Tensor, members: Tensor, share: Tensor | None = None) -> Tensor:
    """(k, B) weights: Dirichlet ``draws`` kept on ``members``, times ``share``, rows summed to 1."""
    weights = draws * members.to(draws.dtype)
    if share is not None:
        weights = weights * share.to(draws.dtype).unsqueeze(0)
    return weights / weights.sum(dim=1, keepdim=True)


def label_mixture(weights: dict[str, Tensor], coefficients: dict[str, float] | None = None) -> Tensor:
    """Cross-modal label weights: sum_m c_m weights[m], c normalised (None: the mean)."""
    if coefficients is None:
        coefficients = {m: 1.0 for m in weights}
    unknown = sorted(set(coefficients) - set(weights))
    if unknown:
        raise ValueError(f"label_weights name modalities {unknown} absent from the latents {sorted(weights)}")
    total = sum(coefficients.get(m, 0.0) for m in weights)
    if not total > 0:
        raise ValueError(f"label_weights {coefficients} give no weight to the latents {sorted(weights)}")
    return sum(weights[m] * (coefficients.get(m, 0.0) / total) for m in weights)


@register_mixer("powmix")
class PowMix(Mixer):
    """Intra-modal, anisotropic Dirichlet mixing within random subsets, with cross-modal labels."""

    point = "latent"

    config_class = PowMixConfig

    def __init__(self, dims: dict[str, int], label_range: float = 3.0, **settings) -> None:
        super().__init__(dims, label_range, **settings)
        unknown = sorted(set(self.config.label_weights or {}) - set(self.dims))
        if unknown:
            raise ValueError(f"label_weights name modalities {unknown} absent from dims {sorted(self.dims)}")

    def mix(
        self, latents: Latents, labels: Tensor, masks: Masks, generator: torch.Generator | None
    ) -> MixResult:
        b = labels.shape[0]
        cfg = self.config
        k = cfg.n_mix or b
        dtype, device = weight_dtype(labels), labels.device
        concentration = draw_concentrations(cfg.alpha, b, generator)
        members = subset_members(k, b, cfg.subset, generator).to(device)
        shared = None if cfg.anisotropic else sampling.dirichlet(concentration, k, generator=generator, dtype=dtype)
        draws = {
            m: shared if shared is not None else sampling.dirichlet(concentration, k, generator=generator, dtype=dtype)
            for m in latents
        }
        shares: dict[str, Tensor | None] = {m: None for m in latents}
        if cfg.reweight == "activation":
            shares = modality_shares({m: activation_level(z, masks.get(m)) for m, z in latents.items()})
        weights = {m: reweighted(draws[m].to(device), members, shares[m]) for m in latents}
        weights["label"] = label_mixture(weights, cfg.label_weights)
        return dense_result(latents, labels, weights, masks)
