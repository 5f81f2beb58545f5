"""Dropout keep masks, drawn cheaply: one Bernoulli(1 - p) value per element.

TFN drops values of its 140,481-wide fused tensor, so the mask is the largest random draw of a
step. ``F.dropout`` draws one float per element; at p = 0.5 (TFN's published MOSI value) a fair
coin needs one bit, so the mask is unpacked from random bytes: eight elements per byte, about a
third of the time of a float draw on a CPU. Both paths give independent Bernoulli(1 - p) values;
only the random numbers behind them differ.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

def random_bits(shape: torch.Size | tuple[int, ...], device: torch.device | str = "cpu") -> Tensor:
    """Independent fair coin flips (0 or 1, uint8) of ``shape``, eight from each random byte."""
    device = torch.device(device)
    n = math.prod(shape)
    nbytes = -(-n // 8)
    flips = torch.randint(0, 256, (nbytes,), dtype=torch.uint8, device=device)
    bits = (flips.unsqueeze(1) >> torch.arange(8, dtype=torch.uint8, device=device)).bitwise_and_(1)
    return bits.view(-1)[:n].view(shape)


def keep_mask(shape: torch.Size | tuple[int, ...], p: float, device: torch.device | str = "cpu") -> Tensor:
    """A mask of ``shape`` whose elements are 1 with probability ``1 - p`` and 0 otherwise.

    uint8 at p = 0.5 (random bits), float32 otherwise (one uniform draw per element, as
    ``nn.Dropout``); either multiplies a float tensor in place. Uses the default generator, so
    ``torch.manual_seed`` makes it repeatable.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability must be in [0, 1), got {p!r}")
    if p == 0.5:
        return random_bits(shape, device)
    return torch.rand(shape, device=device, dtype=torch.float32).ge_(p)
