"""Gamma, Beta and Dirichlet draws made on a ``torch.Generator``'s device without host syncs.

``sampling`` moves a seed to the host with ``.item()`` and samples in NumPy, which stalls a GPU
pipeline, and ``torch.distributions`` cannot be seeded by a generator. Here Marsaglia and
Tsang's Gamma sampler (2000) runs as plain tensor ops with a fixed number of proposals per
element, so shapes never depend on values and a seeded run repeats exactly.

Work is done in float64 and in log space: Beta and Dirichlet draws are normalised with a
sigmoid / softmax of log-Gammas, so tiny shapes, whose Gammas underflow even in float64, still
give finite draws in [0, 1]. Python numbers are validated; tensors are not (reading them would
sync): a negative entry gives NaN and a zero one a Gamma of 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

WORK = torch.float64  # internal precision; MPS, which lacks float64, is not supported
PROPOSALS = 16


def marsaglia_tsang(concentration: Tensor, normals: Tensor, exponentials: Tensor) -> Tensor:
    """Log Gamma(concentration, 1) variates from given draws (arguments so tests can force rejection).

    ``normals`` is (*S, P): P proposals per element of the (*S,) ``concentration``;
    ``exponentials`` is (*S, P + 1) Exp(1) draws, i.e. -log U: the first P decide acceptance and
    the last serves shapes a < 1 via Gamma(a) = Gamma(a + 1) * U^(1/a). The first accepted
    proposal is kept. Each proposal is accepted with probability above 0.95 when the (shifted)
    shape is >= 1, so all P are rejected with probability below 0.05^P (< 1e-20 for P = 16);
    such an element gets log(a), the log of the mean. Negative shapes give NaN, zero gives -inf.
    """
    a, p = concentration, normals.shape[-1]
    small = a < 1
    d = torch.where(small, a + 2 / 3, a - 1 / 3)
    v = (1 + torch.rsqrt(9 * d).unsqueeze(-1) * normals) ** 3
    log_v = torch.log(v.clamp_min(torch.finfo(v.dtype).tiny))
    bound = torch.addcmul(d.unsqueeze(-1) * (log_v - v + 1), normals, normals, value=0.5)
    accept = (v > 0) & (bound + exponentials[..., :p] > 0)  # log U < bound
    first = accept.to(a.dtype).argmax(-1, keepdim=True)  # first maximum: the first accepted proposal
    log_value = torch.log(d) + log_v.gather(-1, first).squeeze(-1)
    log_value = log_value - torch.where(small, exponentials[..., p] / a, 0.0)
    return torch.where(accept.any(-1) & (a > 0), log_value, torch.log(a))


def _log_gamma_work(a: Tensor, generator: torch.Generator, proposals: int) -> Tensor:
    """Float64 log-Gammas for a float64 ``a`` already on the generator's device."""
    if isinstance(proposals, bool) or not isinstance(proposals, int) or proposals < 1:
        raise ValueError(f"proposals must be a positive integer, got {proposals!r}")
    device = generator.device
    normals = torch.randn((*a.shape, proposals), generator=generator, device=device, dtype=WORK)
    exponentials = torch.empty((*a.shape, proposals + 1), device=device, dtype=WORK)
    return marsaglia_tsang(a, normals, exponentials.exponential_(generator=generator))


def _check_generator(generator: object) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    return generator


def _check_float(dtype: torch.dtype) -> None:
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point dtype, got {dtype}")


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValueError(f"size must be a non-negative integer, got {size!r}")


def _check_positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value < math.inf):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def _shape_tensor(value: Tensor, device: torch.device) -> Tensor:
    """A caller's shape tensor as float64 on ``device`` (pass it there already to avoid a copy)."""
    if not value.dtype.is_floating_point:
        raise TypeError(f"shape tensors must be floating point, got {value.dtype}")
    return value.to(device=device, dtype=WORK)


def _column(value: float | Tensor, name: str, size: int, device: torch.device) -> Tensor:
    """(size,) float64 shape parameter; a number becomes a fill kernel, not a host-to-device copy."""
    if isinstance(value, Tensor):
        return torch.broadcast_to(_shape_tensor(value, device), (size,))
    return torch.full((size,), _check_positive(value, name), dtype=WORK, device=device)


def _vector(values: Sequence[float], device: torch.device) -> Tensor:
    """(n,) float64 tensor of Python numbers; copied from pinned memory so the copy does not sync."""
    host = torch.tensor(values, dtype=WORK)
    if device.type == "cpu":
        return host
    return host.pin_memory().to(device, non_blocking=True)


def log_gamma(concentration: Tensor, generator: torch.Generator, proposals: int = PROPOSALS) -> Tensor:
    """log of Gamma(concentration, 1) variates, one per element, in ``concentration``'s dtype.

    Exact in log space even where the Gamma itself underflows (shapes near 0).
    """
    g = _check_generator(generator)
    a = _shape_tensor(concentration, g.device)
    return _log_gamma_work(a, g, proposals).to(concentration.dtype)


def gamma(concentration: Tensor, generator: torch.Generator, proposals: int = PROPOSALS) -> Tensor:
    """Gamma(concentration, 1) variates, one per element, on the generator's device.

    ``concentration`` has any shape and a floating dtype, which the output keeps.
    """
    g = _check_generator(generator)
    a = _shape_tensor(concentration, g.device)
    return _log_gamma_work(a, g, proposals).exp().to(concentration.dtype)


def beta2(
    a: float | Tensor,
    b: float | Tensor,
    size: int,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
    proposals: int = PROPOSALS,
) -> Tensor:
    """``size`` draws from Beta(a, b) as G_a / (G_a + G_b), computed as sigmoid(log G_a - log G_b)."""
    g = _check_generator(generator)
    _check_size(size)
    _check_float(dtype)
    shapes = torch.stack([_column(a, "a", size, g.device), _column(b, "b", size, g.device)], -1)
    logs = _log_gamma_work(shapes, g, proposals)
    return torch.sigmoid(logs[:, 0] - logs[:, 1]).to(dtype)


def beta(
    alpha: float | Tensor,
    size: int,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
    proposals: int = PROPOSALS,
) -> Tensor:
    """``size`` draws from the symmetric Beta(alpha, alpha) that mixup uses."""
    if not isinstance(alpha, Tensor):
        _check_positive(alpha, "alpha")
    return beta2(alpha, alpha, size, generator, dtype, proposals)


def dirichlet(
    concentration: float | Sequence[float] | Tensor,
    size: int,
    n: int | None = None,
    *,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
    proposals: int = PROPOSALS,
) -> Tensor:
    """(size, n) Dirichlet draws as normalised Gammas (a softmax of log-Gammas).

    A scalar concentration (number or 0-d tensor) needs ``n`` components; a sequence or 1-d
    tensor gives them, and ``n``, if given, must match.
    """
    g = _check_generator(generator)
    _check_size(size)
    _check_float(dtype)
    if isinstance(concentration, Tensor):
        conc = _shape_tensor(concentration, g.device)
        if conc.dim() > 1:
            raise ValueError(f"concentration must be a scalar or 1-d, got shape {tuple(conc.shape)}")
    elif isinstance(concentration, (int, float)):
        conc = torch.full((), _check_positive(concentration, "concentration"), dtype=WORK, device=g.device)
    else:
        values = [_check_positive(c, "concentration") for c in concentration]
        if not values:
            raise ValueError("concentration must have at least one component")
        conc = _vector(values, g.device)
    if conc.dim() == 0:
        if n is None:
            raise ValueError("a scalar concentration needs n, the number of components")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        conc = conc.expand(n)
    elif n is not None and n != conc.shape[0]:
        raise ValueError(f"n={n} does not match the {conc.shape[0]} concentration components")
    logs = _log_gamma_work(conc.expand(size, conc.shape[0]), g, proposals)
    return torch.softmax(logs, -1).to(dtype)
