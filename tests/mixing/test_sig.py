"""SIG: the intensity predictor and the mixing ratios against float64 re-derivations."""

from __future__ import annotations

import math

import pytest
import torch

from msmix.mixing.sig import IntensityPredictor, label_ratio, mixing_ratios, normalized_intensity


def _predictor(dim: int, heads: int = 4, label_range: float = 3.0, seed: int = 0) -> IntensityPredictor:
    torch.manual_seed(seed)
    p = IntensityPredictor(dim, heads=heads, label_range=label_range)
    with torch.no_grad():  # non-trivial LayerNorm parameters, so the reference must use them
        p.norm.weight.normal_(1.0, 0.3)
        p.norm.bias.normal_(0.0, 0.3)
    return p


def _reference_intensity(p: IntensityPredictor, latent: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Sample by sample, head by head, in float64, from the module's parameters."""
    par = {name: t.detach().double() for name, t in p.named_parameters()}
    out = []
    for n in range(latent.shape[0]):
        x = latent[n].double()
        x = x.unsqueeze(0) if x.dim() == 1 else x
        if p.reduce is not None:
            x = x @ par["reduce.weight"].T + par["reduce.bias"]
        x = torch.cat([x, torch.zeros(x.shape[0], p.width - x.shape[1], dtype=torch.float64)], dim=1)
        valid = torch.ones(x.shape[0], dtype=torch.bool) if mask is None else mask[n].clone()
        if not valid.any():
            valid[:] = True
        qkv = x @ par["qkv.weight"].T + par["qkv.bias"]
        q, k, v = qkv[:, : p.width], qkv[:, p.width : 2 * p.width], qkv[:, 2 * p.width :]
        hd = p.width // p.heads
        heads = []
        for h in range(p.heads):
            cols = slice(h * hd, (h + 1) * hd)
            scores = q[:, cols] @ k[:, cols].T / math.sqrt(hd)
            scores[:, ~valid] = -math.inf
            heads.append(torch.softmax(scores, dim=1) @ v[:, cols])
        y = torch.cat(heads, dim=1) + x
        y = (y - y.mean(1, keepdim=True)) / torch.sqrt(y.var(1, unbiased=False, keepdim=True) + 1e-5)
        y = y * par["norm.weight"] + par["norm.bias"]
        pooled = y[valid].mean(0)
        out.append(torch.tanh(pooled @ par["head.weight"][0] + par["head.bias"][0]) * p.label_range)
    return torch.stack(out)


@pytest.mark.parametrize(
    ("dim", "heads", "shape", "masked"),
    [
        (8, 4, (5, 8), False),
        (5, 4, (4, 5), False),
        (6, 4, (5, 7, 6), True),
        (7, 3, (3, 4, 7), False),
        (2001, 4, (2, 2001), False),
    ],
)
def test_intensity_matches_reference(dim, heads, shape, masked):
    p = _predictor(dim, heads)
    g = torch.Generator().manual_seed(1)
    latent = torch.randn(*shape, generator=g)
    mask = None
    if masked:
        mask = torch.rand(shape[:2], generator=g) > 0.4
        mask[0] = False  # a sample without any valid frame
    got = p(latent, mask)
    assert got.shape == (shape[0],)
    assert (got.abs() <= 3.0).all()
    torch.testing.assert_close(got.double(), _reference_intensity(p, latent, mask), atol=1e-5, rtol=0)


def test_width_is_padded_to_a_multiple_of_heads_and_reduced_when_large():
    assert _predictor(5).width == 8
    assert _predictor(2001).width == 1024 and _predictor(2000).reduce is None


def test_label_range_scales_the_output():
    latent = torch.randn(6, 10) * 50
    for r in (1.0, 3.0):
        got = _predictor(10, label_range=r)(latent)
        assert (got.abs() <= r).all() and got.abs().max() > 0.5 * r


@pytest.mark.parametrize("shape", [(6, 12), (6, 5, 12)])
def test_intensity_is_batch_independent(shape):
    p = _predictor(12)
    g = torch.Generator().manual_seed(2)
    latent = torch.randn(*shape, generator=g)
    mask = (torch.rand(shape[:2], generator=g) > 0.3) if len(shape) == 3 else None
    before = p(latent, mask)
    changed = latent.clone()
    changed[3] = torch.randn(shape[1:], generator=g) * 10
    if mask is not None:
        mask = mask.clone()
        mask[3] = ~mask[3]
    after = p(changed, mask)
    keep = torch.arange(6) != 3
    torch.testing.assert_close(after[keep], before[keep], atol=1e-6, rtol=0)
    assert after[3] != before[3]
    alone = torch.stack([p(latent[i : i + 1], None if mask is None else mask[i : i + 1])[0] for i in range(6)])
    torch.testing.assert_close(alone[keep], before[keep], atol=1e-6, rtol=0)


def test_padded_frames_do_not_change_intensity():
    p = _predictor(6)
    latent = torch.randn(3, 4, 6)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 0], [1, 0, 0, 0]], dtype=torch.bool)
    noisy = latent.masked_fill(~mask.unsqueeze(-1), 7.0)
    torch.testing.assert_close(p(latent, mask), p(noisy, mask))


def _reference_normalized(i: torch.Tensor) -> torch.Tensor:
    w = [abs(v) for v in i.double().tolist()]
    low, high = min(w), max(w)
    nil = high - low <= 1e-6 * max(1.0, high)
    return torch.tensor([0.5 if nil else (v - low) / (high - low) for v in w], dtype=torch.float64)


def test_normalized_intensity_matches_reference_and_handles_equal_values():
    i = torch.randn(9) * 2
    torch.testing.assert_close(normalized_intensity(i).double(), _reference_normalized(i), atol=1e-6, rtol=0)
    torch.testing.assert_close(normalized_intensity(torch.full((4,), -1.3)), torch.full((4,), 0.5))
    rounding = torch.tensor([1.4498522, 1.4498521, -1.4498522])  # equal magnitudes up to one float32 unit
    torch.testing.assert_close(normalized_intensity(rounding), torch.full((3,), 0.5))


def _pairs_and_intensities(b: int, k: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    intensities = {m: (torch.rand(b, generator=g) * 6 - 3) for m in ("text", "audio", "vision")}
    a = torch.randint(0, b, (k,), generator=g)
    c = (a + torch.randint(1, b, (k,), generator=g)) % b
    base = torch.rand(k, generator=g)
    return intensities, a, c, base


def test_mixing_ratios_match_loop():
    intensities, a, b, base = _pairs_and_intensities(8, 12, seed=3)
    got = mixing_ratios(intensities, a, b, base)
    eps = 1e-8
    for m, i in intensities.items():
        w = _reference_normalized(i)
        expected = [
            (base[r].item() + (w[a[r]] + eps) / (w[a[r]] + w[b[r]] + 2 * eps)) / 2 for r in range(12)
        ]
        torch.testing.assert_close(got[m].double(), torch.tensor(expected, dtype=torch.float64), atol=1e-6, rtol=0)
        assert ((got[m] >= 0) & (got[m] <= 1)).all()


def test_equal_intensities_give_an_even_adaptive_ratio():
    _, a, b, base = _pairs_and_intensities(5, 5, seed=4)
    got = mixing_ratios({"text": torch.full((5,), 2.0)}, a, b, base)["text"]
    torch.testing.assert_close(got, (base + 0.5) / 2)


def test_label_ratio_mean_and_intensity_weighted_match_loop():
    intensities, a, b, base = _pairs_and_intensities(7, 10, seed=5)
    ratios = mixing_ratios(intensities, a, b, base)
    mean = label_ratio(ratios)
    torch.testing.assert_close(mean, sum(ratios.values()) / 3)
    weighted = label_ratio(ratios, "intensity_weighted", intensities, a, b)
    w = {m: _reference_normalized(i) for m, i in intensities.items()}
    for r in range(10):
        c = {m: (w[m][a[r]] + w[m][b[r]]).item() / 2 for m in w}
        expected = sum(c[m] * ratios[m][r].item() for m in w) / sum(c.values())
        assert weighted[r].item() == pytest.approx(expected, abs=1e-6)
    assert ((weighted >= 0) & (weighted <= 1)).all()


def test_intensity_weighted_falls_back_to_the_mean_for_neutral_parents():
    intensities = {m: torch.tensor([0.0, 0.0, 2.0]) for m in ("text", "audio")}
    a, b = torch.tensor([0, 2]), torch.tensor([1, 0])
    ratios = {"text": torch.tensor([0.2, 0.6]), "audio": torch.tensor([0.4, 0.9])}
    got = label_ratio(ratios, "intensity_weighted", intensities, a, b)
    torch.testing.assert_close(got, torch.tensor([0.3, 0.75]))


def test_ratios_carry_gradients_to_the_intensities():
    intensities, a, b, base = _pairs_and_intensities(6, 6, seed=6)
    leaves = {m: i.clone().requires_grad_() for m, i in intensities.items()}
    ratios = mixing_ratios(leaves, a, b, base)
    label_ratio(ratios, "intensity_weighted", leaves, a, b).sum().backward()
    for leaf in leaves.values():
        assert torch.isfinite(leaf.grad).all() and leaf.grad.abs().sum() > 0


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="B x 4"):
        _predictor(4)(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="mask"):
        _predictor(4)(torch.zeros(2, 3, 4), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="one draw per pair"):
        mixing_ratios({"text": torch.zeros(3)}, torch.tensor([0]), torch.tensor([1]), torch.zeros(2))
    with pytest.raises(ValueError, match="label ratio mode"):
        label_ratio({"text": torch.zeros(1)}, "max")
