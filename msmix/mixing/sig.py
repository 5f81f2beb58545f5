"""SIG, sentiment-intensity-guided mixing ratios.

``IntensityPredictor`` reads one modality's latent and predicts a signed sentiment intensity in
[-label_range, label_range]. ``mixing_ratios`` turns the intensities of two parents into each
modality's mixing ratio, as the authors' code does on B x d latents; ``label_ratio`` combines those
into the ratio of the mixed label.

Unlike the authors' sequence path, the predictor here is batch-independent (their residual
broadcast over the batch made one sample's intensity depend on the others), and the ratios come
from normalised |intensity| on every input shape, so they stay in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LABEL_RATIO_MODES = ("mean", "intensity_weighted")


class IntensityPredictor(nn.Module):
    """One modality's intensity: self-attention over tokens, residual + LayerNorm, mean, linear, tanh.

    As in the authors' code: a Linear(d, ``reduced_dim``) first when d > ``reduce_above``; the
    feature size zero-padded to a multiple of ``heads``; one Linear for q, k and v; no output
    projection after attention. (The code's dropout is defined but never applied, so there is none.)
    A B x d latent is one token per sample; a B x T x d latent attends over its valid frames only
    and is averaged over them (a sample without any valid frame uses all of its frames).

    Args:
        dim: feature size d of the latent.
        heads: attention heads.
        label_range: intensities lie in [-label_range, label_range] (3 for MOSI/MOSEI, 1 for SIMS).
    """

    def __init__(
        self,
        dim: int,
        heads: int = 4,
        label_range: float = 3.0,
        reduce_above: int = 2000,
        reduced_dim: int = 1024,
    ) -> None:
        super().__init__()
        if dim < 1 or heads < 1:
            raise ValueError(f"dim and heads must be >= 1, got dim={dim}, heads={heads}")
        if label_range <= 0:
            raise ValueError(f"label_range must be positive, got {label_range}")
        self.dim = dim
        self.heads = heads
        self.label_range = float(label_range)
        self.reduce = nn.Linear(dim, reduced_dim) if dim > reduce_above else None
        width = reduced_dim if self.reduce is not None else dim
        self.pad = (-width) % heads
        self.width = width + self.pad
        self.qkv = nn.Linear(self.width, 3 * self.width)
        self.norm = nn.LayerNorm(self.width)
        self.head = nn.Linear(self.width, 1)

    def forward(self, latent: Tensor, mask: Tensor | None = None) -> Tensor:
        """(B,) intensities of a B x d or B x T x d latent; ``mask`` is (B, T), True where valid."""
        x = self._tokens(latent, mask)
        b, t, _ = x.shape
        valid = _valid_frames(mask, b, t, x.device)
        q, k, v = (
            part.reshape(b, t, self.heads, -1).transpose(1, 2) for part in self.qkv(x).chunk(3, dim=-1)
        )
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=valid[:, None, None, :])
        attended = attended.transpose(1, 2).reshape(b, t, self.width)
        tokens = self.norm(attended + x)
        weights = valid.to(tokens.dtype).unsqueeze(-1)
        pooled = (tokens * weights).sum(dim=1) / weights.sum(dim=1)
        return torch.tanh(self.head(pooled).squeeze(-1)) * self.label_range

    def _tokens(self, latent: Tensor, mask: Tensor | None) -> Tensor:
        if latent.dim() == 2:
            latent = latent.unsqueeze(1)
        if latent.dim() != 3 or latent.shape[-1] != self.dim:
            raise ValueError(f"expected a B x {self.dim} or B x T x {self.dim} latent, got shape {tuple(latent.shape)}")
        if mask is not None and mask.shape != latent.shape[:2]:
            raise ValueError(f"mask must be (B, T) = {tuple(latent.shape[:2])}, got {tuple(mask.shape)}")
        x = self.reduce(latent) if self.reduce is not None else latent
        return F.pad(x, (0, self.pad)) if self.pad else x

    def extra_repr(self) -> str:
        return f"dim={self.dim}, heads={self.heads}, width={self.width}, label_range={self.label_range}"


def _valid_frames(mask: Tensor | None, b: int, t: int, device: torch.device) -> Tensor:
    """(B, T) boolean of the frames to attend to and average; an all-padding row counts as all valid."""
    if mask is None:
        return torch.ones(b, t, dtype=torch.bool, device=device)
    mask = mask.to(device=device, dtype=torch.bool)
    return mask | ~mask.any(dim=1, keepdim=True)


def normalized_intensity(intensity: Tensor, rtol: float = 1e-6) -> Tensor:
    """|intensity| min-max normalised over the batch to [0, 1]; all 0.5 when the range is nil.

    "Nil" means at most ``rtol * max(1, max |I|)``: equal intensities computed in float32 can
    differ by a rounding unit (~1e-7), and the code's bare 1e-8 guard would stretch that noise to
    the whole [0, 1]. Over a truly zero range both rules give the code's adaptive ratio of 1/2.
    """
    magnitude = intensity.abs()
    low, high = magnitude.min(), magnitude.max()
    spread = high - low
    wide = spread > rtol * torch.clamp(high.detach(), min=1.0)
    scaled = (magnitude - low) / torch.where(wide, spread, torch.ones_like(spread))
    return torch.where(wide, scaled, torch.full_like(magnitude, 0.5))


def adaptive_ratio(weights: Tensor, index_a: Tensor, index_b: Tensor, eps: float = 1e-8) -> Tensor:
    """(w_a + eps) / (w_a + w_b + 2 eps): the share of parent a by normalised intensity."""
    w_a, w_b = weights[index_a], weights[index_b]
    return (w_a + eps) / (w_a + w_b + 2 * eps)


def mixing_ratios(
    intensities: Mapping[str, Tensor],
    index_a: Tensor,
    index_b: Tensor,
    base: Tensor,
    eps: float = 1e-8,
) -> dict[str, Tensor]:
    """Per modality, the (k,) weight of parent a: lam^m = (base + adaptive^m) / 2.

    ``base`` holds one Beta(alpha, alpha) draw per pair, shared by the modalities; ``adaptive^m``
    is ``adaptive_ratio`` of the modality's ``normalized_intensity``. Both lie in [0, 1], so lam
    does too. Gradients flow to the intensities (the authors do not detach them).
    """
    if base.shape != index_a.shape:
        raise ValueError(f"base must hold one draw per pair, shape {tuple(index_a.shape)}, got {tuple(base.shape)}")
    return {
        name: (base.to(i.dtype) + adaptive_ratio(normalized_intensity(i), index_a, index_b, eps)) / 2
        for name, i in intensities.items()
    }


def label_ratio(
    ratios: Mapping[str, Tensor],
    mode: str = "mean",
    intensities: Mapping[str, Tensor] | None = None,
    index_a: Tensor | None = None,
    index_b: Tensor | None = None,
    eps: float = 1e-8,
) -> Tensor:
    """(k,) weight of parent a's label.

    ``"mean"`` (the authors' code): the mean of the modalities' ratios.
    ``"intensity_weighted"``: sum_m c^m lam^m / sum_m c^m with c^m = (w^m_a + w^m_b) / 2, the mean
    normalised intensity of the two parents in modality m, so the modalities that carry more
    sentiment for this pair decide more of the label. Where sum_m c^m <= eps (both parents neutral
    everywhere) it falls back to the mean. Either way a convex combination, so it stays in [0, 1].
    """
    if mode not in LABEL_RATIO_MODES:
        raise ValueError(f"label ratio mode must be one of {LABEL_RATIO_MODES}, got {mode!r}")
    stacked = torch.stack(list(ratios.values()))
    mean = stacked.mean(dim=0)
    if mode == "mean":
        return mean
    if intensities is None or index_a is None or index_b is None:
        raise ValueError("intensity_weighted label ratio needs intensities, index_a and index_b")
    if set(intensities) != set(ratios):
        raise ValueError(
            f"intensities and ratios must share modalities, got {sorted(intensities)} and {sorted(ratios)}"
        )
    weights = torch.stack([_pair_mean(normalized_intensity(intensities[m]), index_a, index_b) for m in ratios])
    total = weights.sum(dim=0)
    usable = total > eps
    weighted = (weights * stacked).sum(dim=0) / torch.where(usable, total, torch.ones_like(total))
    return torch.where(usable, weighted, mean)


def _pair_mean(weights: Tensor, index_a: Tensor, index_b: Tensor) -> Tensor:
    return (weights[index_a] + weights[index_b]) / 2
