"""The shared mixing helpers against loop re-derivations, and the input checks every mixer runs."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from msmix.mixing.base import batch_size
from msmix.mixing.pairs import (
    dense_result,
    mix_dense,
    mix_pairs,
    mixed_mask,
    pair_result,
    pair_weights,
    random_pairs,
)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_random_pairs_are_distinct_and_first_parents_walk_permutations() -> None:
    a, b = random_pairs(6, 15, seeded())
    assert a.shape == b.shape == (15,)
    assert (a != b).all()
    assert sorted(a[:6].tolist()) == list(range(6)) and sorted(a[6:12].tolist()) == list(range(6))
    assert ((0 <= b) & (b < 6)).all()


def test_random_partners_are_uniform_over_the_other_samples() -> None:
    a, b = random_pairs(4, 24_000, seeded(1))
    counts = Counter(zip(a.tolist(), b.tolist()))
    assert set(counts) == {(i, j) for i in range(4) for j in range(4) if i != j}
    expected = 24_000 / 12
    assert all(abs(c - expected) < 0.1 * expected for c in counts.values())


def test_random_pairs_need_two_samples() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        random_pairs(1, 3)


def test_pair_weights_match_a_loop_even_when_parents_coincide() -> None:
    index_a, index_b = torch.tensor([0, 2, 1, 3]), torch.tensor([1, 0, 1, 2])
    ratio = torch.tensor([0.25, 0.9, 0.4, 1.0])
    expected = torch.zeros(4, 4, dtype=torch.float64)
    for r in range(4):
        expected[r, index_a[r]] += ratio[r].double()
        expected[r, index_b[r]] += 1 - ratio[r].double()
    got = pair_weights(index_a, index_b, ratio, 4)
    torch.testing.assert_close(got.double(), expected)
    assert got[2, 1] == 1  # a == b: the sample's weight is the whole row


def test_pair_weights_carry_gradients_to_the_ratios() -> None:
    index_a, index_b = torch.tensor([0, 2]), torch.tensor([1, 0])
    ratio = torch.tensor([0.3, 0.6], requires_grad=True)
    coeff = torch.randn(2, 3, generator=seeded())
    (pair_weights(index_a, index_b, ratio, 3) * coeff).sum().backward()
    expected = torch.stack([coeff[r, index_a[r]] - coeff[r, index_b[r]] for r in range(2)])
    torch.testing.assert_close(ratio.grad, expected)


def test_mix_pairs_and_mix_dense_zero_weight_padded_frames() -> None:
    g = seeded(2)
    z = torch.randn(4, 5, 3, generator=g)
    mask = torch.rand(4, 5, generator=g) > 0.4
    index_a, index_b, ratio = torch.tensor([0, 3, 1]), torch.tensor([2, 1, 0]), torch.rand(3, generator=g)
    zz = z.double() * mask.double().unsqueeze(-1)
    expected = torch.stack([ratio[r].double() * zz[index_a[r]] + (1 - ratio[r].double()) * zz[index_b[r]] for r in range(3)])
    torch.testing.assert_close(mix_pairs(z, index_a, index_b, ratio, mask).double(), expected)
    weights = pair_weights(index_a, index_b, ratio, 4)
    torch.testing.assert_close(mix_dense(weights, z, mask).double(), expected)


def test_mixed_mask_counts_only_parents_with_weight() -> None:
    mask = torch.tensor([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 1]], dtype=torch.bool)
    weights = torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.0, 0.3, 0.7], [0.2, 0.3, 0.5]])
    expected = torch.tensor([[1, 1, 0, 0], [1, 1, 0, 0], [1, 0, 1, 1], [1, 1, 1, 1]], dtype=torch.bool)
    assert torch.equal(mixed_mask(weights, mask), expected)
    assert mixed_mask(weights, None) is None


def test_pair_result_passes_extra_fields_through() -> None:
    latents = {"text": torch.randn(3, 4)}
    labels = torch.tensor([1.0, -1.0, 0.5])
    index_a, index_b, lam = torch.tensor([0, 1]), torch.tensor([2, 0]), torch.tensor([0.25, 0.5])
    res = pair_result(latents, labels, index_a, index_b, {"text": lam}, lam, aux_loss=torch.tensor(2.0), info={"x": 1.0})
    assert res.aux_loss == 2.0 and res.info == {"x": 1.0}
    torch.testing.assert_close(res.labels, torch.tensor([0.25 * 1 + 0.75 * 0.5, 0.5 * -1 + 0.5 * 1]))
    dense = dense_result(latents, labels, res.weights)
    torch.testing.assert_close(dense.mixed["text"], res.mixed["text"])
    assert dense.index_a is None


@pytest.mark.parametrize(
    ("latents", "labels", "masks", "message"),
    [
        ({}, torch.zeros(2), None, "at least one modality"),
        ({"text": torch.zeros(2, 3)}, torch.zeros(2, 1), None, r"labels must have shape \(B,\)"),
        ({"text": torch.zeros(2, 3), "audio": torch.zeros(3, 3)}, torch.zeros(2), None, "'audio' has batch size 3"),
        ({"text": torch.zeros(2, 3, 4, 5)}, torch.zeros(2), None, "B x d or B x T x d"),
        ({"text": torch.zeros(2, 3)}, torch.zeros(2), {"text": torch.ones(2, 3, dtype=torch.bool)}, r"\(B, T\)"),
        ({"text": torch.zeros(2, 3, 4)}, torch.zeros(2), {"text": torch.ones(2, 4, dtype=torch.bool)}, r"\(B, T\) = \(2, 3\)"),
        ({"text": torch.zeros(2, 3, 4)}, torch.zeros(2), {"audio": torch.ones(2, 3, dtype=torch.bool)}, "not among the latents"),
    ],
)
def test_batch_size_names_what_is_wrong(latents: dict, labels: torch.Tensor, masks: dict | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        batch_size(latents, labels, masks)


def test_batch_size_accepts_absent_masks() -> None:
    assert batch_size({"text": torch.zeros(3, 2, 4), "audio": torch.zeros(3, 5)}, torch.zeros(3), {"text": None}) == 3
