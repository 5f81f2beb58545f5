"""SAL, the sentiment alignment loss: it teaches each modality's intensity predictor the labels.

Two forms:

- ``sal_batch_kl`` (the authors' code, the default): over the batch, the distribution of
  |label| / range against the distribution of |intensity| / range, compared by KL divergence per
  modality. It only sees how intensity is spread across the batch, not its sign or scale.
- ``sal_per_sample``: each modality's intensity regressed on the (signed) label, both divided by
  the range: a direct target for every sample.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor


def sal_batch_kl(
    intensities: Mapping[str, Tensor],
    labels: Tensor,
    label_range: float = 3.0,
    scale: float = 1000.0,
    eps: float = 1e-8,
) -> Tensor:
    """scale * sum_m KL(p_Y || p_I^m), the authors' alignment loss.

    p_Y = softmax over the batch of |y| / range, p_I^m likewise of |I^m| / range, each plus ``eps``
    (as the code does). The KL is torch's ``kl_div(log p_I, p_Y, reduction="batchmean")``, i.e.
    sum_i p_Y,i (log p_Y,i - log p_I,i) / B, reproducing the code's value exactly.
    """
    y = _labels(labels, intensities)
    p_y = torch.softmax(y.abs() / label_range, dim=0) + eps
    total = y.new_zeros(())
    for i in intensities.values():
        p_i = torch.softmax(i.abs() / label_range, dim=0) + eps
        total = total + F.kl_div(torch.log(p_i), p_y, reduction="batchmean")
    return total * scale


def sal_per_sample(
    intensities: Mapping[str, Tensor],
    labels: Tensor,
    label_range: float = 3.0,
    scale: float = 1.0,
) -> Tensor:
    """scale * sum_m mean_i (I^m_i / range - y_i / range)^2: each intensity regressed on its label."""
    y = _labels(labels, intensities) / label_range
    total = y.new_zeros(())
    for i in intensities.values():
        total = total + F.mse_loss(i / label_range, y)
    return total * scale


def _labels(labels: Tensor, intensities: Mapping[str, Tensor]) -> Tensor:
    """Labels as (B,), checked against every modality's (B,) intensities."""
    y = labels.reshape(-1)
    for name, i in intensities.items():
        if i.shape != y.shape:
            raise ValueError(
                f"intensities of {name!r} must be one per label, shape {tuple(y.shape)}, got {tuple(i.shape)}"
            )
    return y.to(next(iter(intensities.values())).dtype) if intensities else y
