"""Device-side Gamma, Beta and Dirichlet draws: law (scipy.stats), repeatability, no host sync."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from torch import Tensor

from msmix.mixing import device_random as dr

N = 20_000
P_MIN = 1e-3
SYNC_OPS = ("item", "__int__", "__float__", "__bool__", "__index__", "tolist", "numpy", "nonzero")


def gen(seed: int = 0, device: str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def check_moments(sample: Tensor, dist: stats.rv_continuous) -> None:
    """Sample mean and variance within 5 standard errors of the exact moments of ``dist``."""
    x = sample.detach().double().cpu()
    mean, var, kurt = (float(m) for m in dist.stats(moments="mvk"))
    n = x.numel()
    assert abs(x.mean().item() - mean) < 5 * math.sqrt(var / n)
    assert abs(x.var().item() - var) < 5 * var * math.sqrt((kurt + 2) / n)


def ks_pvalue(sample: Tensor, cdf: Callable) -> float:
    return stats.kstest(sample.detach().double().cpu().numpy(), cdf).pvalue


def acceptance(a: float) -> float:
    """Exact chance that one Marsaglia-Tsang proposal is accepted for shape ``a`` >= 1 (quadrature)."""
    d = a - 1 / 3
    c = 1 / math.sqrt(9 * d)

    def density(x: float) -> float:
        v = (1 + c * x) ** 3
        return 0.0 if v <= 0 else stats.norm.pdf(x) * min(1.0, math.exp(0.5 * x * x + d - d * v + d * math.log(v)))

    return integrate.quad(density, max(-1 / c, -12.0), 12.0, limit=200)[0]


@contextmanager
def no_host_sync(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Within the block, every tensor-to-host conversion raises."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("host synchronisation")

    with monkeypatch.context() as m:
        for op in SYNC_OPS:
            m.setattr(torch.Tensor, op, refuse)
        m.setattr(torch, "nonzero", refuse)
        yield


# --- law -------------------------------------------------------------------------------------


@pytest.mark.parametrize("a", [0.01, 0.1, 0.5, 1.0, 2.5, 8.0, 100.0])
def test_gamma_and_its_log_follow_scipy(a: float) -> None:
    conc = torch.full((N,), a, dtype=torch.float64)
    x = dr.gamma(conc, gen(1))
    assert ks_pvalue(x, stats.gamma(a).cdf) > P_MIN
    check_moments(x, stats.gamma(a))
    assert ks_pvalue(dr.log_gamma(conc, gen(2)), stats.loggamma(a).cdf) > P_MIN


def test_gamma_mixed_shapes_in_one_tensor() -> None:
    shapes = torch.tensor([0.3, 1.0, 4.0], dtype=torch.float32).repeat(N, 1)
    x = dr.gamma(shapes, gen(3))
    for j, a in enumerate([0.3, 1.0, 4.0]):
        assert ks_pvalue(x[:, j], stats.gamma(a).cdf) > P_MIN


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0, 8.0, 100.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_beta_follows_scipy(alpha: float, dtype: torch.dtype) -> None:
    lam = dr.beta(alpha, N, gen(4), dtype=dtype)
    assert ks_pvalue(lam, stats.beta(alpha, alpha).cdf) > P_MIN
    check_moments(lam, stats.beta(alpha, alpha))


@pytest.mark.parametrize("alpha", [0.01, 0.1])
def test_beta_small_alpha_lower_half_follows_scipy(alpha: float) -> None:
    """Half the mass of Beta(0.01, 0.01) lies within 1e-16 of 1 and rounds to 1.0, which no
    sampler can avoid, so the KS test looks at the lower half, conditioned: cdf 2 F(x)."""
    lam = dr.beta(alpha, N, gen(5), dtype=torch.float64)
    lower = lam[lam < 0.5]
    assert abs(lower.numel() / N - 0.5) < 5 * math.sqrt(0.25 / N)
    assert ks_pvalue(lower, lambda x: 2 * stats.beta(alpha, alpha).cdf(x)) > P_MIN


@pytest.mark.parametrize("alpha", [0.01, 0.1, 0.5, 1.0, 2.0, 8.0, 100.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_beta_is_finite_in_unit_interval_with_exact_moments(alpha: float, dtype: torch.dtype) -> None:
    lam = dr.beta(alpha, N, gen(6), dtype=dtype)
    assert lam.dtype == dtype and torch.isfinite(lam).all()
    assert lam.min() >= 0 and lam.max() <= 1
    check_moments(lam, stats.beta(alpha, alpha))


@pytest.mark.parametrize(("a", "b"), [(0.5, 3.0), (2.0, 0.2), (5.0, 1.0)])
def test_asymmetric_beta_follows_scipy(a: float, b: float) -> None:
    lam = dr.beta2(a, b, N, gen(7), dtype=torch.float64)
    assert ks_pvalue(lam, stats.beta(a, b).cdf) > P_MIN
    check_moments(lam, stats.beta(a, b))


@pytest.mark.parametrize(("conc", "n"), [([0.3, 1.0, 2.5], None), (0.5, 4), (torch.tensor([2.0, 0.7]), None)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dirichlet_marginals_are_beta_and_rows_sum_to_one(conc: object, n: int | None, dtype: torch.dtype) -> None:
    w = dr.dirichlet(conc, N, n, generator=gen(8), dtype=dtype)
    a = np.broadcast_to(np.asarray(conc, dtype=float), (n or len(conc),))
    assert w.shape == (N, a.size) and w.dtype == dtype
    assert (w.double().sum(1) - 1).abs().max() < 1e-6
    for i, a_i in enumerate(a):
        marginal = stats.beta(a_i, a.sum() - a_i)
        assert ks_pvalue(w[:, i], marginal.cdf) > P_MIN
        check_moments(w[:, i], marginal)


# --- all proposals rejected --------------------------------------------------------------------


@pytest.mark.parametrize("a", [1.0, 1.5, 2.0, 5.0, 100.0, 1e4])
def test_one_proposal_is_accepted_with_probability_above_095(a: float) -> None:
    assert 0.95 < acceptance(a) <= 1


@pytest.mark.parametrize("a", [0.4, 1.0, 3.0])
def test_rejected_elements_get_the_mean_at_the_exact_rate(a: float) -> None:
    """With one proposal, the share of elements given log(a) is the exact rejection rate."""
    conc = torch.full((N,), a, dtype=torch.float64)
    fell_back = (dr.log_gamma(conc, gen(9), proposals=1) == conc.log()).double().mean().item()
    reject = 1 - acceptance(a + 1 if a < 1 else a)
    assert abs(fell_back - reject) < 5 * math.sqrt(reject * (1 - reject) / N)


def test_marsaglia_tsang_keeps_the_first_accepted_proposal_and_falls_back_to_the_mean() -> None:
    a = torch.tensor([3.0, 0.5, 2.0, 0.2], dtype=torch.float64)
    d = torch.where(a < 1, a + 1, a) - 1 / 3
    # rows 0-1: reject (x = 0 with U = 1 fails the strict test; x = -1e3 makes v < 0), then accept
    # x = 0.5 and x = 0; rows 2-3: every proposal rejected. Last column: the boost's U = 1/4.
    normals = torch.tensor([[0.0, -1e3, 0.5, 0.0]] * 2 + [[0.0, -1e3, 0.0, -1e3]] * 2, dtype=torch.float64)
    uniforms = torch.tensor([[1.0, 0.5, 1e-9, 1e-9, 0.25]] * 2 + [[1.0, 1e-9, 1.0, 1e-9, 0.25]] * 2, dtype=torch.float64)
    out = dr.marsaglia_tsang(a, normals, -uniforms.log())
    kept = torch.log(d[:2]) + 3 * torch.log1p(0.5 / torch.sqrt(9 * d[:2]))
    assert torch.allclose(out[:2], kept + torch.tensor([0.0, math.log(0.25) / 0.5], dtype=torch.float64))
    assert torch.equal(out[2:], a[2:].log())


def test_negative_shapes_give_nan_and_zero_ones_give_zero() -> None:
    out = dr.gamma(torch.tensor([-1.0, 0.0, 2.0]), gen())
    assert torch.isnan(out[0]) and out[1] == 0 and out[2] > 0
    assert torch.isnan(dr.beta(torch.tensor(-1.0), 3, gen())).all()
    w = dr.dirichlet(torch.tensor([0.0, 1.0, 2.0]), 100, generator=gen())
    assert (w[:, 0] == 0).all() and (w[:, 1:] > 0).all() and torch.allclose(w.sum(1), torch.ones(100))


# --- repeatability, device, dtype, shapes --------------------------------------------------------

DRAWS: dict[str, Callable[[torch.Generator], Tensor]] = {
    "gamma": lambda g: dr.gamma(torch.full((64,), 0.7, device=g.device), g),
    "log_gamma": lambda g: dr.log_gamma(torch.full((64,), 3.0, device=g.device), g),
    "beta": lambda g: dr.beta(0.4, 64, g),
    "beta2": lambda g: dr.beta2(0.4, torch.full((), 2.0, device=g.device), 64, g),
    "dirichlet": lambda g: dr.dirichlet([0.5, 1.0, 2.0], 64, generator=g),
    "dirichlet_scalar": lambda g: dr.dirichlet(0.8, 64, 5, generator=g),
}


@pytest.mark.parametrize("name", DRAWS)
def test_seeded_draws_repeat_differ_across_seeds_and_advance(name: str) -> None:
    draw = DRAWS[name]
    assert torch.equal(draw(gen(11)), draw(gen(11)))
    assert not torch.equal(draw(gen(11)), draw(gen(12)))
    g = gen(11)
    assert not torch.equal(draw(g), draw(g))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("size", [0, 1])
def test_shapes_dtypes_and_device(size: int, dtype: torch.dtype) -> None:
    g = gen()
    for out, shape in [
        (dr.gamma(torch.ones(size, 2, dtype=dtype), g), (size, 2)),
        (dr.beta(2.0, size, g, dtype=dtype), (size,)),
        (dr.beta2(0.5, 3.0, size, g, dtype=dtype), (size,)),
        (dr.dirichlet(1.0, size, 3, generator=g, dtype=dtype), (size, 3)),
    ]:
        assert out.shape == shape and out.dtype == dtype and out.device == g.device
    assert dr.gamma(torch.tensor(2.0, dtype=dtype), g).shape == ()


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda g: dr.beta(0.0, 3, g), ValueError, "alpha must be a positive"),
        (lambda g: dr.beta(-1, 3, g), ValueError, "alpha must be a positive"),
        (lambda g: dr.beta(math.nan, 3, g), ValueError, "alpha must be a positive"),
        (lambda g: dr.beta(1.0, -1, g), ValueError, "size must be a non-negative"),
        (lambda g: dr.beta(1.0, 2.5, g), ValueError, "size must be a non-negative"),
        (lambda g: dr.beta(1.0, 3, None), TypeError, "generator must be a torch.Generator"),
        (lambda g: dr.beta(1.0, 3, g, dtype=torch.int64), TypeError, "floating-point"),
        (lambda g: dr.beta2(1.0, 0.0, 3, g), ValueError, "b must be a positive"),
        (lambda g: dr.dirichlet(1.0, 3, generator=g), ValueError, "scalar concentration needs n"),
        (lambda g: dr.dirichlet(1.0, 3, 0, generator=g), ValueError, "n must be a positive"),
        (lambda g: dr.dirichlet([1.0, 0.0], 3, generator=g), ValueError, "concentration must be a positive"),
        (lambda g: dr.dirichlet([], 3, generator=g), ValueError, "at least one component"),
        (lambda g: dr.dirichlet([1.0, 2.0], 3, 3, generator=g), ValueError, "does not match"),
        (lambda g: dr.dirichlet(-2.0, 3, 2, generator=g), ValueError, "concentration must be a positive"),
        (lambda g: dr.dirichlet(torch.ones(2, 2), 3, generator=g), ValueError, "scalar or 1-d"),
        (lambda g: dr.gamma(torch.ones(3, dtype=torch.int64), g), TypeError, "floating point"),
        (lambda g: dr.gamma(torch.ones(3), g, proposals=0), ValueError, "proposals must be"),
    ],
)
def test_bad_arguments_are_refused(call: Callable, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call(gen())


# --- no host synchronisation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "sync",
    [
        lambda t: t.item(),
        lambda t: int(t),
        lambda t: float(t),
        lambda t: bool(t),
        lambda t: [0, 1][t],
        lambda t: t.tolist(),
        lambda t: t.numpy(),
        lambda t: t.nonzero(),
        lambda t: torch.nonzero(t),
        lambda t: 1 if t > 0 else 0,
    ],
)
def test_the_no_sync_harness_catches_each_conversion(sync: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    t = torch.tensor(1)
    sync(t)  # fine outside the harness
    with no_host_sync(monkeypatch), pytest.raises(AssertionError, match="host synchronisation"):
        sync(t)


@pytest.mark.parametrize("name", DRAWS)
def test_draws_need_no_host_sync(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with no_host_sync(monkeypatch):
        out = DRAWS[name](gen(13))
    assert torch.equal(out, DRAWS[name](gen(13)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_draws_stay_on_device_without_syncs(monkeypatch: pytest.MonkeyPatch) -> None:
    """On CUDA torch itself reports syncs: under set_sync_debug_mode("error") any raises."""
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        with pytest.raises(RuntimeError, match="synchroniz"):
            torch.ones(2, device="cuda").nonzero()  # the mode does catch a sync
        with no_host_sync(monkeypatch):
            outs = {name: draw(gen(14, "cuda")) for name, draw in DRAWS.items()}
            big = dr.beta(0.5, N, gen(15, "cuda"), dtype=torch.float64)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    for name, out in outs.items():
        assert out.device.type == "cuda" and torch.isfinite(out).all(), name
        assert torch.equal(out, DRAWS[name](gen(14, "cuda"))), name
        assert not torch.equal(out, DRAWS[name](gen(16, "cuda"))), name
    assert big.device.type == "cuda" and big.dtype == torch.float64
    assert ks_pvalue(big, stats.beta(0.5, 0.5).cdf) > P_MIN
    check_moments(big, stats.beta(0.5, 0.5))
