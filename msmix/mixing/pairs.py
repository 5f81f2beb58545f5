"""Turning a mixing plan into mixed samples: pairs or dense k x B weight matrices, with masks.

Every mixer decides *what* to mix (pairs with ratios, or a k x B weight matrix); the helpers here
do the rest the same way for all of them, so that the general form of ``MixResult`` holds:
``mixed[m][r] = sum_i weights[m][r, i] * z_i`` and ``labels[r] = sum_i weights["label"][r, i] * y_i``.

Padded frames (``mask`` False) are **zero-weighted**: a parent's padded frame contributes nothing
to the mixed frame, i.e. the mixed sequence is ``einsum(weights, z * mask)``. This keeps the mixing
linear in the weight matrix (what the objective and the displays rely on) whatever the encoder left
in padded positions. The mixed mask is valid at a frame where any parent with a non-zero weight is
valid there (for a pair with a ratio strictly inside (0, 1): where either parent is).
"""

from __future__ import annotations

import torch
from torch import Tensor

from msmix.mixing.base import Latents, Masks, MixResult


def weight_dtype(labels: Tensor) -> torch.dtype:
    """The dtype of mixing weights: the labels' floating dtype, else float32."""
    return labels.dtype if labels.is_floating_point() else torch.float32


def draw_device(generator: torch.Generator | None) -> torch.device:
    """Where index draws must happen so that ``generator`` can drive them."""
    return generator.device if generator is not None else torch.device("cpu")


def random_pairs(
    batch_size: int, k: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
) -> tuple[Tensor, Tensor]:
    """k ordered pairs (a, b) of distinct samples of a batch (B >= 2).

    ``index_a`` walks through random permutations of the batch (so with k = B every sample is a
    first parent exactly once, as in Mixup's shuffled-copy pairing), and ``index_b`` is uniform
    over the other B - 1 samples, so no sample is ever "mixed" with itself.
    """
    if batch_size < 2:
        raise ValueError(f"random_pairs needs at least 2 samples, got a batch of {batch_size}")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    at = draw_device(generator)
    rounds = -(-k // batch_size)
    perms = [torch.randperm(batch_size, generator=generator, device=at) for _ in range(rounds)]
    index_a = torch.cat(perms)[:k] if perms else torch.zeros(0, dtype=torch.long, device=at)
    offset = torch.randint(1, batch_size, (k,), generator=generator, device=at)
    index_b = (index_a + offset) % batch_size
    return index_a.to(device), index_b.to(device)


def pair_weights(index_a: Tensor, index_b: Tensor, ratio: Tensor, batch_size: int) -> Tensor:
    """The (k, B) weight matrix of pairs: ``ratio`` at column a, ``1 - ratio`` at column b.

    Differentiable in ``ratio`` (MS-Mix's ratios carry gradients to its intensity predictors).
    """
    k = index_a.shape[0]
    weights = ratio.new_zeros((k, batch_size))
    weights = weights.scatter_add(1, index_a.view(k, 1), ratio.view(k, 1))
    return weights.scatter_add(1, index_b.view(k, 1), (1 - ratio).view(k, 1))


def zero_padded(z: Tensor, mask: Tensor | None) -> Tensor:
    """``z`` with its padded frames set to zero (unchanged when there is no mask)."""
    if mask is None:
        return z
    return z * mask.unsqueeze(-1).to(z.dtype)


def mix_pairs(z: Tensor, index_a: Tensor, index_b: Tensor, ratio: Tensor, mask: Tensor | None = None) -> Tensor:
    """``ratio * z[a] + (1 - ratio) * z[b]`` per pair, padded frames zero-weighted."""
    z = zero_padded(z, mask)
    r = ratio.to(z.dtype).view(-1, *([1] * (z.dim() - 1)))
    return r * z[index_a] + (1 - r) * z[index_b]


def mix_dense(weights: Tensor, z: Tensor, mask: Tensor | None = None) -> Tensor:
    """``weights @ z`` over the batch axis ((k, B) x (B, ...) -> (k, ...)), padded frames zero-weighted."""
    return torch.einsum("kb,b...->k...", weights.to(z.dtype), zero_padded(z, mask))


def mixed_mask(weights: Tensor, mask: Tensor | None) -> Tensor | None:
    """(k, T) mask of mixed sequences: valid where a parent with a non-zero weight is valid."""
    if mask is None:
        return None
    used = (weights != 0).to(torch.float32)
    return (used @ mask.to(torch.float32)) > 0


def pair_result(
    latents: Latents,
    labels: Tensor,
    index_a: Tensor,
    index_b: Tensor,
    ratios: dict[str, Tensor],
    label_ratio: Tensor,
    masks: Masks | None = None,
    **extra,
) -> MixResult:
    """The MixResult of pairwise mixing, with both the weight matrices and the pair view.

    Args:
        latents: per modality, B x d or B x T x d.
        labels: (B,) labels.
        index_a, index_b: (k,) parents of each mixed sample.
        ratios: per modality, (k,) weight of parent a.
        label_ratio: (k,) weight of parent a's label.
        masks: per modality, (B, T) validity masks or None.
        **extra: further MixResult fields (``aux_loss``, ``similarity``, ``intensities``, ``info``).
    """
    masks = masks or {}
    b = labels.shape[0]
    weights = {m: pair_weights(index_a, index_b, ratios[m], b) for m in latents}
    weights["label"] = pair_weights(index_a, index_b, label_ratio, b)
    mixed = {m: mix_pairs(z, index_a, index_b, ratios[m], masks.get(m)) for m, z in latents.items()}
    lam = label_ratio.to(labels.dtype)
    extra.setdefault("aux_loss", labels.new_zeros(()))
    return MixResult(
        weights=weights,
        mixed=mixed,
        labels=lam * labels[index_a] + (1 - lam) * labels[index_b],
        masks={m: mixed_mask(weights[m], masks.get(m)) for m in latents},
        index_a=index_a,
        index_b=index_b,
        ratios=ratios,
        label_ratio=label_ratio,
        **extra,
    )


def dense_result(
    latents: Latents, labels: Tensor, weights: dict[str, Tensor], masks: Masks | None = None, **extra
) -> MixResult:
    """The MixResult of dense mixing: ``weights`` holds a (k, B) matrix per modality and ``"label"``."""
    masks = masks or {}
    extra.setdefault("aux_loss", labels.new_zeros(()))
    return MixResult(
        weights=weights,
        mixed={m: mix_dense(weights[m], z, masks.get(m)) for m, z in latents.items()},
        labels=weights["label"].to(labels.dtype) @ labels,
        masks={m: mixed_mask(weights[m], masks.get(m)) for m in latents},
        **extra,
    )
