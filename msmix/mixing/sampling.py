"""Beta and Dirichlet draws that honour a ``torch.Generator``.

``torch.distributions`` samples Gamma variates through a kernel that takes no generator, so a
seeded run could not be repeated. Here a 64-bit seed is drawn from the caller's generator (which
advances it) and handed to NumPy's PCG64, whose Beta and Dirichlet samplers are exact.
Mixing weights need no gradient, so leaving the autograd graph costs nothing.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def numpy_rng(generator: torch.Generator | None) -> np.random.Generator:
    """A NumPy generator seeded from ``generator`` (or from torch's global RNG when None)."""
    device = generator.device if generator is not None else None
    seed = torch.randint(0, 2**62, (1,), generator=generator, device=device).item()
    return np.random.default_rng(seed)


def beta(
    alpha: float,
    size: int,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """``size`` draws from Beta(alpha, alpha)."""
    if alpha <= 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    draws = numpy_rng(generator).beta(alpha, alpha, size=size)
    return torch.as_tensor(draws, dtype=dtype, device=device)


def dirichlet(
    concentration: float | list[float],
    size: int,
    n: int | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """(size, n) draws from a Dirichlet; a scalar concentration needs ``n`` components."""
    if np.isscalar(concentration):
        if n is None:
            raise ValueError("a scalar concentration needs n, the number of components")
        conc = np.full(n, float(concentration))
    else:
        conc = np.asarray(concentration, dtype=float)
    if (conc <= 0).any():
        raise ValueError(f"concentration must be positive, got {conc}")
    draws = numpy_rng(generator).dirichlet(conc, size=size)
    return torch.as_tensor(draws, dtype=dtype, device=device)
