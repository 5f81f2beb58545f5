"""Polarity diagnostics: how often a pairing mixes a positive sample with a negative one.

The paper says SASS keeps samples of contradictory sentiment apart, but its rule looks only at
feature similarity. These numbers let a display compare what SASS selected with what a random
pairing of the same batch would give.

A pair *conflicts* when its labels have strictly opposite signs (one > 0, the other < 0); a zero
(neutral) label conflicts with nothing. The same definition drives SASS's ``same_polarity`` option.
"""

from __future__ import annotations

import torch
from torch import Tensor


def opposite_polarity(labels_a: Tensor, labels_b: Tensor) -> Tensor:
    """Elementwise: True where one label is > 0 and the other < 0 (broadcasts like ``*``)."""
    return torch.sign(labels_a) * torch.sign(labels_b) < 0


def conflict_share(labels: Tensor, index_a: Tensor, index_b: Tensor) -> Tensor:
    """0-dim tensor: the share of the pairs ``(index_a[r], index_b[r])`` whose labels have opposite
    signs; NaN when there are no pairs (a share of nothing is undefined). Never read on the host."""
    labels = labels.reshape(-1)
    if index_a.shape != index_b.shape or index_a.dim() != 1:
        raise ValueError(
            f"index_a and index_b must be 1-D of equal length, got {tuple(index_a.shape)} and {tuple(index_b.shape)}"
        )
    return opposite_polarity(labels[index_a], labels[index_b]).float().mean()


def random_conflict_share(labels: Tensor) -> Tensor:
    """0-dim tensor: the expected conflict rate of a pair of distinct samples drawn uniformly.

    Exact: of the B(B-1) ordered pairs of distinct samples, 2 * n_pos * n_neg conflict (the same
    share holds for unordered pairs). NaN when B < 2.
    """
    labels = labels.reshape(-1)
    b = labels.numel()
    n_pos, n_neg = (labels > 0).sum(), (labels < 0).sum()
    return (2.0 * n_pos * n_neg).double() / (b * (b - 1))  # 0 / 0 = NaN when B < 2


def polarity_conflict_rate(labels: Tensor, index_a: Tensor, index_b: Tensor) -> float:
    """``conflict_share`` as a float (for displays; NaN when there are no pairs)."""
    return float(conflict_share(labels, index_a, index_b))


def random_pairing_conflict_rate(labels: Tensor) -> float:
    """``random_conflict_share`` as a float (for displays; NaN when B < 2)."""
    return float(random_conflict_share(labels))
