"""SASS and the polarity diagnostics against float64 brute-force re-derivations."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from msmix.mixing.diagnostics import opposite_polarity, polarity_conflict_rate, random_pairing_conflict_rate
from msmix.mixing.sass import compatible_pairs, normalize_offdiagonal, select_pairs, similarity_matrix


def _latents(b: int, seed: int, seq: bool = False) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    frames = {"text": 4, "audio": 3, "vision": 2} if seq else {}
    dims = {"text": 6, "audio": 5, "vision": 7}
    shapes = {m: (b, frames[m], d) if seq else (b, d) for m, d in dims.items()}
    return {m: torch.randn(*s, generator=g) for m, s in shapes.items()}


def _reference_similarity(latents, masks=None) -> torch.Tensor:
    """Loop over pairs: mean over modalities of the cosine of the (masked, flattened) latents."""
    masks = masks or {}
    b = next(iter(latents.values())).shape[0]
    out = torch.zeros(b, b, dtype=torch.float64)
    for m, z in latents.items():
        z = z.double()
        if masks.get(m) is not None:
            z = z * masks[m].double().unsqueeze(-1)
        flat = z.reshape(b, -1)
        for i, j in itertools.product(range(b), range(b)):
            ni, nj = flat[i].norm(), flat[j].norm()
            out[i, j] += (flat[i] @ flat[j]) / (max(ni, 1e-8) * max(nj, 1e-8))
    return out / len(latents)


def _reference_minmax(s: torch.Tensor) -> torch.Tensor:
    b = s.shape[0]
    off = [s[i, j].item() for i in range(b) for j in range(b) if i != j]
    low, high = min(off), max(off)
    out = torch.zeros(b, b, dtype=torch.float64)
    for i, j in itertools.product(range(b), range(b)):
        if i != j:
            out[i, j] = 0.5 if high - low <= 1e-6 else (s[i, j].item() - low) / (high - low)
    return out


@pytest.mark.parametrize("seq", [False, True])
def test_similarity_matrix_matches_pairwise_loop(seq):
    latents = _latents(7, seed=1, seq=seq)
    masks = None
    if seq:
        g = torch.Generator().manual_seed(2)
        masks = {"text": torch.rand(7, 4, generator=g) > 0.4, "audio": None}
        masks["vision"] = torch.rand(7, 2, generator=g) > 0.3
    got = similarity_matrix(latents, masks).double()
    torch.testing.assert_close(got, _reference_similarity(latents, masks), atol=1e-5, rtol=0)


def test_padded_frames_do_not_change_similarity():
    latents = _latents(5, seed=3, seq=True)
    mask = torch.ones(5, 4, dtype=torch.bool)
    mask[:, 3] = False
    masks = {"text": mask}
    noisy = dict(latents, text=latents["text"].clone())
    noisy["text"][:, 3] = 100.0
    torch.testing.assert_close(similarity_matrix(latents, masks), similarity_matrix(noisy, masks))
    assert not torch.allclose(similarity_matrix(latents), similarity_matrix(noisy))


def test_zero_latent_gives_finite_similarity():
    latents = _latents(4, seed=4)
    latents["text"][2] = 0.0
    s = similarity_matrix(latents)
    assert torch.isfinite(s).all()
    torch.testing.assert_close(s.double(), _reference_similarity(latents), atol=1e-5, rtol=0)


def test_normalize_offdiagonal_matches_reference():
    s = _reference_similarity(_latents(6, seed=5)).float()
    got = normalize_offdiagonal(s).double()
    torch.testing.assert_close(got, _reference_minmax(s.double()), atol=1e-6, rtol=0)
    off = ~torch.eye(6, dtype=torch.bool)
    assert got[off].min() == 0 and got[off].max() == pytest.approx(1.0)


def test_equal_similarities_become_one_half():
    same = {m: torch.ones(5, 3) for m in ("text", "audio")}
    got = normalize_offdiagonal(similarity_matrix(same))
    expected = torch.full((5, 5), 0.5).fill_diagonal_(0.0)
    torch.testing.assert_close(got, expected)
    assert normalize_offdiagonal(torch.ones(1, 1)).item() == 0.0
    rounding = torch.full((4, 4), 0.75) + torch.rand(4, 4) * 2e-7  # equal up to float32 rounding
    torch.testing.assert_close(normalize_offdiagonal(rounding), torch.full((4, 4), 0.5).fill_diagonal_(0.0))


def _random_similarity(b: int, seed: int) -> torch.Tensor:
    return normalize_offdiagonal(similarity_matrix(_latents(b, seed)))


@pytest.mark.parametrize("mode", ["unique", "ordered"])
def test_every_selected_pair_passes_when_enough_do(mode):
    s = _random_similarity(10, seed=6)
    threshold = 0.3
    upper = [(i, j) for i in range(10) for j in range(10) if i < j and s[i, j] > threshold]
    every = [(i, j) for i in range(10) for j in range(10) if i != j and s[i, j] > threshold]
    n_expected = len(upper) if mode == "unique" else len(every)
    k = 8
    assert n_expected >= k
    sel = select_pairs(s, k, threshold, mode, torch.Generator().manual_seed(0))
    assert sel.n_candidates == n_expected and not sel.fallback_used and sel.k == k
    for a, b in zip(sel.index_a.tolist(), sel.index_b.tolist()):
        assert a != b and s[a, b] > threshold
    if mode == "unique":  # without replacement: each unordered pair at most once
        assert len({frozenset(p) for p in zip(sel.index_a.tolist(), sel.index_b.tolist())}) == k
    else:
        assert len(set(zip(sel.index_a.tolist(), sel.index_b.tolist()))) == k


def test_unique_mode_orients_pairs_at_random_and_ordered_mode_uses_both_triangles():
    s = torch.full((6, 6), 0.9).fill_diagonal_(0.0)
    for mode in ("unique", "ordered"):
        a_first = 0
        for seed in range(20):
            sel = select_pairs(s, 6, 0.5, mode, torch.Generator().manual_seed(seed))
            a_first += int((sel.index_a < sel.index_b).sum())
        assert 0 < a_first < 120  # both orientations occur


def test_threshold_is_strict():
    s = torch.tensor([[0.0, 0.5, 0.2], [0.5, 0.0, 0.7], [0.2, 0.7, 0.0]])
    sel = select_pairs(s, 1, 0.5, "unique", torch.Generator().manual_seed(0))
    assert sel.n_candidates == 1
    assert {sel.index_a.item(), sel.index_b.item()} == {1, 2}


def test_fallback_takes_the_2k_most_similar_unique_pairs():
    b, k = 12, 5
    s = _random_similarity(b, seed=7)
    ranked = sorted(((s[i, j].item(), i, j) for i in range(b) for j in range(i + 1, b)), reverse=True)
    top = {(i, j) for _, i, j in ranked[: 2 * k]}
    threshold = ranked[1][0]  # only the most similar pair passes: 1 unique, 2 ordered
    for mode, passing in (("unique", 1), ("ordered", 2)):
        sel = select_pairs(s, k, threshold, mode, torch.Generator().manual_seed(1))
        assert sel.fallback_used and sel.n_candidates == passing and sel.k == k
        got = set(zip(sel.candidate_mask.nonzero()[:, 0].tolist(), sel.candidate_mask.nonzero()[:, 1].tolist()))
        assert got == top
        for a, c in zip(sel.index_a.tolist(), sel.index_b.tolist()):
            assert (min(a, c), max(a, c)) in top
        if mode == "ordered":  # the code's fallback keeps the upper-triangle orientation
            assert (sel.index_a < sel.index_b).all()


def test_few_candidates_are_drawn_with_replacement_and_never_the_diagonal():
    s = _random_similarity(3, seed=8)
    sel = select_pairs(s, 10, 2.0, "unique", torch.Generator().manual_seed(2))
    assert sel.fallback_used and sel.k == 10
    assert (sel.index_a != sel.index_b).all()
    assert sel.candidate_mask.sum() == 3  # all unique pairs of 3 samples, fewer than 2k
    two = select_pairs(_random_similarity(2, seed=9), 2, 0.2, "unique", torch.Generator().manual_seed(3))
    assert two.k == 2 and set(two.index_a.tolist() + two.index_b.tolist()) == {0, 1}
    assert (two.index_a != two.index_b).all()


def test_selection_is_deterministic_under_a_generator():
    s = _random_similarity(9, seed=10)
    first = select_pairs(s, 9, 0.2, "unique", torch.Generator().manual_seed(42))
    again = select_pairs(s, 9, 0.2, "unique", torch.Generator().manual_seed(42))
    assert torch.equal(first.index_a, again.index_a) and torch.equal(first.index_b, again.index_b)
    draws = [select_pairs(s, 9, 0.2, "unique", torch.Generator().manual_seed(i)) for i in range(5)]
    others = {tuple(d.index_a.tolist()) for d in draws}
    assert len(others) > 1


def test_compatible_pairs_matches_loop():
    y = torch.tensor([-2.0, -0.4, 0.0, 0.6, 2.6, 0.0, -3.0])
    got = compatible_pairs(y, 7, same_polarity=True, max_label_gap=1.0)
    for i, j in itertools.product(range(7), range(7)):
        opposite = (y[i] > 0 and y[j] < 0) or (y[i] < 0 and y[j] > 0)
        expected = i != j and not opposite and abs(y[i] - y[j]) <= 1.0
        assert bool(got[i, j]) == expected, (i, j)


@pytest.mark.parametrize("mode", ["unique", "ordered"])
def test_label_rules_hold_for_every_selected_pair(mode):
    b = 16
    s = _random_similarity(b, seed=11)
    y = torch.randn(b, generator=torch.Generator().manual_seed(12)) * 2
    sel = select_pairs(s, b, 0.2, mode, torch.Generator().manual_seed(0), labels=y, same_polarity=True)
    assert sel.k == b
    assert polarity_conflict_rate(y, sel.index_a, sel.index_b) == 0.0
    gap = select_pairs(s, b, 0.0, mode, torch.Generator().manual_seed(0), labels=y, max_label_gap=0.5)
    assert ((y[gap.index_a] - y[gap.index_b]).abs() <= 0.5).all()
    # the fallback also honours the rule
    strict = select_pairs(s, b, 2.0, mode, torch.Generator().manual_seed(0), labels=y, same_polarity=True)
    assert strict.fallback_used and polarity_conflict_rate(y, strict.index_a, strict.index_b) == 0.0


def test_no_compatible_pair_means_each_sample_is_paired_with_itself():
    """The label rule is never broken, and k stays k (no count is read on the host to shrink it)."""
    s = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    sel = select_pairs(s, 3, 0.2, "unique", torch.Generator().manual_seed(0), labels=torch.tensor([1.0, -1.0]),
                       same_polarity=True)
    assert sel.k == 3 and sel.fallback_used and int(sel.n_candidates) == 0
    assert torch.equal(sel.index_a, sel.index_b), "an unmixed copy: a sample with itself"
    with pytest.raises(ValueError, match="labels"):
        select_pairs(s, 2, 0.2, same_polarity=True)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="square"):
        select_pairs(torch.zeros(2, 3), 1, 0.2)
    with pytest.raises(ValueError, match="mode"):
        select_pairs(torch.zeros(2, 2), 1, 0.2, mode="both")
    with pytest.raises(ValueError, match="same number of samples"):
        similarity_matrix({"text": torch.zeros(2, 3), "audio": torch.zeros(3, 3)})


def test_polarity_conflict_rate_matches_loop():
    g = torch.Generator().manual_seed(13)
    y = torch.randint(-3, 4, (20,), generator=g).float()  # includes exact zeros
    a = torch.randint(0, 20, (30,), generator=g)
    b = torch.randint(0, 20, (30,), generator=g)
    expected = sum((y[i] * y[j] < 0).item() for i, j in zip(a, b)) / 30
    assert polarity_conflict_rate(y, a, b) == pytest.approx(expected)
    assert bool(opposite_polarity(torch.tensor(0.0), torch.tensor(-1.0))) is False
    assert math.isnan(polarity_conflict_rate(y, a[:0], b[:0]))


def test_random_pairing_conflict_rate_is_the_exact_expectation():
    y = torch.tensor([-1.5, 0.0, 2.0, 0.3, -0.2, 0.0, 1.1])
    pairs = [(i, j) for i in range(7) for j in range(7) if i != j]
    expected = sum((y[i] * y[j] < 0).item() for i, j in pairs) / len(pairs)
    assert random_pairing_conflict_rate(y) == pytest.approx(expected)
    assert math.isnan(random_pairing_conflict_rate(y[:1]))
