"""Keep masks: Bernoulli(1 - p) per element, independent, repeatable; the random-bit path at p = 0.5."""

from __future__ import annotations

import math

import pytest
import torch

from msmix.models.keep_mask import keep_mask, random_bits


def z_score(successes: float, n: int, q: float) -> float:
    """How many binomial standard deviations ``successes`` lies from its mean ``n q``."""
    return (successes - n * q) / math.sqrt(n * q * (1 - q))


@pytest.mark.parametrize("shape", [(1,), (7,), (8,), (3, 5, 11), (0, 4)])
def test_random_bits_are_zero_or_one_of_the_asked_shape(shape: tuple[int, ...]) -> None:
    bits = random_bits(shape)
    assert bits.shape == torch.Size(shape)
    assert bits.dtype == torch.uint8
    assert bool(((bits == 0) | (bits == 1)).all())


def test_every_bit_position_of_a_byte_is_a_fair_coin() -> None:
    torch.manual_seed(0)
    bits = random_bits((40_000, 8)).double()  # column k holds bit k of each byte
    for k in range(8):
        assert abs(z_score(bits[:, k].sum().item(), 40_000, 0.5)) < 5, f"bit {k} is biased"


def test_neighbouring_bits_are_independent_within_and_across_bytes() -> None:
    torch.manual_seed(1)
    bits = random_bits((320_000,)).bool()
    for lag in (1, 7, 8, 9):
        both = (bits[:-lag] & bits[lag:]).sum().item()
        assert abs(z_score(both, bits.numel() - lag, 0.25)) < 5, f"bits {lag} apart are correlated"


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.9])
def test_keep_mask_keeps_one_minus_p_of_the_elements(p: float) -> None:
    torch.manual_seed(2)
    mask = keep_mask((200, 1001), p)
    assert bool(((mask == 0) | (mask == 1)).all())
    assert abs(z_score(mask.double().sum().item(), mask.numel(), 1 - p)) < 5


def test_keep_mask_multiplies_a_float_tensor_in_place() -> None:
    x = torch.ones(4, 9)
    mask = keep_mask(x.shape, 0.5)
    x.mul_(mask)
    assert x.dtype == torch.float32
    assert torch.equal(x, mask.float())


def test_keep_mask_is_repeatable_under_a_seed_and_fresh_otherwise() -> None:
    for p in (0.5, 0.2):
        torch.manual_seed(3)
        first = keep_mask((64, 65), p)
        torch.manual_seed(3)
        assert torch.equal(keep_mask((64, 65), p), first)
        assert not torch.equal(keep_mask((64, 65), p), first)


def test_no_dropout_keeps_everything_and_bad_probabilities_fail() -> None:
    assert bool(keep_mask((5, 6), 0.0).all())
    for p in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="dropout probability must be in \\[0, 1\\)"):
            keep_mask((2,), p)
