"""``benchmarks/same_random_draws.py``: inside ``SameRandomDraws`` every random draw comes from a CPU
twin of its generator, so a CPU run and a CUDA run of one seed see the same numbers."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from same_random_draws import SameRandomDraws  # noqa: E402


def draws(generator: torch.Generator) -> list[torch.Tensor]:
    return [
        torch.rand(4, generator=generator),
        torch.randperm(6, generator=generator),
        torch.empty(3).exponential_(generator=generator),
        torch.multinomial(torch.ones(5), 3, True, generator=generator),
        torch.randint(0, 9, (4,), generator=generator),
    ]


def test_draws_follow_a_twin_seeded_like_their_generator_across_calls() -> None:
    with SameRandomDraws():
        inside = draws(torch.Generator().manual_seed(7))
    outside = draws(torch.Generator().manual_seed(7))
    assert all(torch.equal(a, b) for a, b in zip(inside, outside))


def test_generators_with_other_seeds_get_their_own_streams() -> None:
    with SameRandomDraws():
        first, second = torch.rand(3, generator=torch.Generator().manual_seed(1)), torch.rand(3, generator=torch.Generator().manual_seed(2))
    assert torch.equal(first, torch.rand(3, generator=torch.Generator().manual_seed(1)))
    assert torch.equal(second, torch.rand(3, generator=torch.Generator().manual_seed(2)))


def test_fused_dropout_draws_the_mask_the_cpu_dropout_draws() -> None:
    x = torch.randn(6, 5, requires_grad=True)
    with SameRandomDraws():
        cpu = F.dropout(x, 0.3, True)
    with SameRandomDraws():
        fused, mask = torch.ops.aten.native_dropout(x, 0.3, True)
    assert torch.equal(cpu, fused) and torch.equal(mask, cpu != 0)
    fused.sum().backward()
    assert torch.equal(x.grad, mask / 0.7)
