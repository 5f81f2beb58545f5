"""Sinusoidal position embeddings of the sequence backbones (MulT, GLoMo), as fairseq defines them.

Both references take the transformer encoder of the original MulT code, whose embedding numbers a
frame ``t + 1`` unless its first feature is exactly 0 (the padding index, which embeds to zero).
With padding masks, frames are numbered from their masks instead.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def sinusoid(positions: Tensor, d: int) -> Tensor:
    """fairseq's sinusoidal embedding (float32, as MMSA computes its table) of integer ``positions``;
    position 0 is the padding index and embeds to zero."""
    half = d // 2
    steps = torch.arange(half, dtype=torch.float32, device=positions.device)
    rates = torch.exp(steps * -(math.log(10000) / (half - 1)))
    angles = positions.to(torch.float32).unsqueeze(-1) * rates
    table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
    if d % 2:
        table = F.pad(table, (0, 1))
    return table * (positions > 0).unsqueeze(-1).to(table.dtype)


def step_positions(x: Tensor, valid: Tensor | None, from_mask: bool) -> Tensor:
    """Position indices (B, T) of a sequence for the position embedding: valid frames numbered from 1
    (``from_mask``), or the references' rule: ``t + 1`` where the first feature is non-zero, else 0."""
    steps = torch.arange(1, x.shape[1] + 1, device=x.device)
    if from_mask:
        return steps.expand(x.shape[0], -1) if valid is None else valid.cumsum(1) * valid
    return torch.where(x[..., 0] != 0, steps, torch.zeros_like(steps))

