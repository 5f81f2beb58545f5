"""Beta and Dirichlet draws for the mixers, driven by a ``torch.Generator``, with no host sync.

``torch.distributions`` samples Gamma variates through a kernel that takes no generator, so a
seeded run could not be repeated. The draws here come from ``msmix.mixing.device_random`` on the
generator's device (the Trainer keeps its mixing generator on the training device), so a training
step never waits for the device. Without a generator, a fresh one on the CPU is seeded from
torch's global generator (which advances it), as outside training.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from msmix.mixing import device_random


def generator_or_fresh(generator: torch.Generator | None) -> torch.Generator:
    """``generator``, or a CPU generator seeded from torch's global one (not for training steps)."""
    if generator is not None:
        return generator
    seed = int(torch.randint(0, 2**62, (1,)).item())
    return torch.Generator().manual_seed(seed)


def beta(
    alpha: float,
    size: int,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """``size`` draws from Beta(alpha, alpha), drawn on the generator's device, returned on ``device``."""
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    draws = device_random.beta(float(alpha), size, generator_or_fresh(generator), dtype=dtype)
    return draws if device is None else draws.to(device)


def dirichlet(
    concentration: float | Sequence[float] | Tensor,
    size: int,
    n: int | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """(size, n) draws from a Dirichlet; a scalar concentration needs ``n``."""
    draws = device_random.dirichlet(concentration, size, n, generator=generator_or_fresh(generator), dtype=dtype)
    return draws if device is None else draws.to(device)
