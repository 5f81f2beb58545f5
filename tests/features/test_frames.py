"""Ragged frames to padded arrays: thinning, padding and splitting, checked against brute-force loops."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from msmix.features.frames import fit_frames, pad_frames, split_ragged


def _indexed_clip(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    """(n, dim) float64 frames whose column 0 is the frame's index, so a kept frame tells where it came from."""
    clip = rng.normal(size=(n, dim))
    clip[:, 0] = np.arange(n)
    return clip


def _check_thinned_indices(indices: list[int], n: int, max_frames: int) -> None:
    """The spec of thinning, from exact arithmetic: ``max_frames`` strictly increasing frame indices, each
    within half a frame of its ideal even position i * (n - 1) / (max_frames - 1), so the first frame
    and the last one are kept."""
    assert len(indices) == max_frames
    assert all(b > a for a, b in zip(indices, indices[1:])), indices
    for i, index in enumerate(indices):
        ideal = Fraction(i * (n - 1), max_frames - 1)
        assert abs(index - ideal) <= Fraction(1, 2), (n, max_frames, i, index, ideal)
    assert indices[0] == 0 and indices[-1] == n - 1


def _kept_indices(clip: np.ndarray, kept: np.ndarray) -> list[int]:
    """Which frames of ``clip`` the rows of ``kept`` are, asserting each row is that whole frame."""
    indices = [int(row[0]) for row in kept]
    for row, index in zip(kept, indices):
        assert row[0] == index
        np.testing.assert_array_equal(row, clip[index])
    return indices


def _reference_pad(clips: list[np.ndarray], dim: int, max_frames: int) -> tuple[np.ndarray, np.ndarray, int]:
    """pad_frames by plain loops, given thinning already checked: the expected array, lengths and thinned count."""
    kept = [clip if len(clip) <= max_frames else fit_frames(clip, max_frames) for clip in clips]
    lengths = [len(k) for k in kept]
    t = 1
    for n in lengths:
        t = max(t, n)
    out = np.zeros((len(clips), t, dim), dtype=np.float32)
    for i, k in enumerate(kept):
        for f in range(len(k)):
            for d in range(dim):
                out[i, f, d] = np.float32(k[f][d])
    thinned = 0
    for clip in clips:
        if len(clip) > max_frames:
            thinned += 1
    return out, np.array(lengths, dtype=np.int64), thinned


# -- fit_frames ------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 4, 7])
def test_fit_frames_leaves_a_short_or_exact_clip_unchanged(n: int) -> None:
    clip = _indexed_clip(np.random.default_rng(n), n, 3)
    got = fit_frames(clip, 7)
    assert got.shape == (n, 3)
    np.testing.assert_array_equal(got, clip)


def test_fit_frames_every_small_length_against_exact_even_spacing() -> None:
    """Every clip length up to 40 against every smaller limit of at least 2."""
    rng = np.random.default_rng(0)
    for n in range(3, 41):
        clip = _indexed_clip(rng, n, 2)
        for max_frames in range(2, n):
            got = fit_frames(clip, max_frames)
            assert got.shape == (max_frames, 2)
            _check_thinned_indices(_kept_indices(clip, got), n, max_frames)


@pytest.mark.parametrize(("n", "max_frames"), [(1000, 7), (1001, 500), (375, 374), (5000, 2), (999, 998)])
def test_fit_frames_long_clips_keep_first_last_and_even_spacing(n: int, max_frames: int) -> None:
    clip = _indexed_clip(np.random.default_rng(n), n, 4)
    got = fit_frames(clip, max_frames)
    indices = _kept_indices(clip, got)
    _check_thinned_indices(indices, n, max_frames)
    steps = np.diff(indices)
    ideal = (n - 1) / (max_frames - 1)
    assert steps.min() >= np.floor(ideal) and steps.max() <= np.ceil(ideal)


def test_fit_frames_to_two_keeps_exactly_the_ends() -> None:
    clip = _indexed_clip(np.random.default_rng(1), 9, 3)
    np.testing.assert_array_equal(fit_frames(clip, 2), clip[[0, 8]])


def test_fit_frames_to_one_keeps_one_frame_of_the_clip() -> None:
    clip = _indexed_clip(np.random.default_rng(2), 6, 3)
    got = fit_frames(clip, 1)
    assert got.shape == (1, 3)
    _kept_indices(clip, got)


# -- pad_frames ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_pad_frames_against_a_loop_on_random_ragged_clips(seed: int) -> None:
    rng = np.random.default_rng(seed)
    dim = int(rng.integers(1, 6))
    max_frames = int(rng.integers(2, 12))
    # empty clips, a one-frame clip, clips exactly at the limit, one frame over it and far over it
    sizes = [0, 1, max_frames, max_frames + 1, 3 * max_frames + 2, 0]
    sizes += [int(n) for n in rng.integers(0, 3 * max_frames, size=int(rng.integers(0, 10)))]
    sizes = [sizes[i] for i in rng.permutation(len(sizes))]
    clips = [_indexed_clip(rng, n, dim) for n in sizes]
    out, lengths, thinned = pad_frames(clips, dim, max_frames)
    want_out, want_lengths, want_thinned = _reference_pad(clips, dim, max_frames)

    assert out.dtype == np.float32 and lengths.dtype == np.int64
    assert out.shape == (len(clips), max_frames, dim)  # some clip reaches the limit, none passes it
    np.testing.assert_array_equal(out, want_out)
    np.testing.assert_array_equal(lengths, want_lengths)
    assert lengths.tolist() == [min(n, max_frames) for n in sizes]
    assert thinned == want_thinned == sum(1 for n in sizes if n > max_frames) >= 2
    for clip, row, length in zip(clips, out, lengths):
        assert not row[length:].any()  # right padding holds only zeros
        if len(clip) > max_frames:
            _check_thinned_indices(_kept_indices(clip.astype(np.float32), row[:length]), len(clip), max_frames)
        else:
            np.testing.assert_array_equal(row[:length], clip.astype(np.float32))


@pytest.mark.parametrize("seed", range(4))
def test_pad_frames_without_thinning_is_the_longest_clip(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    sizes = [int(n) for n in rng.integers(0, 9, size=7)] + [9]
    clips = [_indexed_clip(rng, n, 3) for n in sizes]
    out, lengths, thinned = pad_frames(clips, 3, 50)
    want_out, want_lengths, want_thinned = _reference_pad(clips, 3, 50)
    assert out.shape == (8, 9, 3) and thinned == want_thinned == 0
    np.testing.assert_array_equal(out, want_out)
    np.testing.assert_array_equal(lengths, want_lengths)


def test_pad_frames_all_clips_empty_keeps_one_padding_frame() -> None:
    clips = [np.zeros((0, 4)) for _ in range(5)]
    out, lengths, thinned = pad_frames(clips, 4, 10)
    assert out.shape == (5, 1, 4) and out.dtype == np.float32 and not out.any()
    assert lengths.tolist() == [0, 0, 0, 0, 0] and lengths.dtype == np.int64
    assert thinned == 0


def test_pad_frames_no_clips() -> None:
    out, lengths, thinned = pad_frames([], 3, 10)
    assert out.shape == (0, 1, 3) and lengths.shape == (0,) and thinned == 0


def test_pad_frames_counts_only_clips_over_the_limit() -> None:
    clips = [np.ones((n, 2)) for n in (5, 6, 7, 0, 20)]
    out, lengths, thinned = pad_frames(clips, 2, 6)
    assert thinned == 2 and lengths.tolist() == [5, 6, 6, 0, 6] and out.shape == (5, 6, 2)


def test_pad_frames_leaves_its_inputs_alone() -> None:
    rng = np.random.default_rng(3)
    clips = [_indexed_clip(rng, n, 2) for n in (3, 12, 0)]
    copies = [c.copy() for c in clips]
    pad_frames(clips, 2, 4)
    for clip, copy in zip(clips, copies):
        np.testing.assert_array_equal(clip, copy)


# -- split_ragged ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_split_ragged_undoes_concatenate(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sizes = [0] + [int(n) for n in rng.integers(0, 6, size=int(rng.integers(1, 12)))] + [0]
    clips = [rng.normal(size=(n, 3)) for n in sizes]
    pieces = split_ragged(np.concatenate(clips), np.array(sizes, dtype=np.int64))
    assert len(pieces) == len(clips)
    for piece, clip in zip(pieces, clips):
        assert piece.shape == clip.shape
        np.testing.assert_array_equal(piece, clip)
    np.testing.assert_array_equal(np.concatenate(pieces), np.concatenate(clips))


def test_split_ragged_one_clip_and_one_dimensional_frames() -> None:
    flat = np.arange(5.0)
    (only,) = split_ragged(flat, np.array([5]))
    np.testing.assert_array_equal(only, flat)
    a, b, c = split_ragged(flat, np.array([2, 0, 3]))
    assert a.tolist() == [0.0, 1.0] and b.tolist() == [] and c.tolist() == [2.0, 3.0, 4.0]


def test_split_ragged_empty_cases() -> None:
    assert split_ragged(np.zeros((0, 4)), np.zeros(0, dtype=np.int64)) == []
    pieces = split_ragged(np.zeros((0, 4)), np.zeros(3, dtype=np.int64))
    assert [p.shape for p in pieces] == [(0, 4), (0, 4), (0, 4)]


def test_split_ragged_inverts_pad_frames_unpadding() -> None:
    """Flattening the padded array's valid frames, then splitting by lengths, gives back each clip."""
    rng = np.random.default_rng(7)
    clips = [_indexed_clip(rng, n, 2).astype(np.float32) for n in (4, 0, 1, 6, 2)]
    out, lengths, _ = pad_frames(clips, 2, 10)
    flat = np.concatenate([row[:n] for row, n in zip(out, lengths)])
    for piece, clip in zip(split_ragged(flat, lengths), clips):
        np.testing.assert_array_equal(piece, clip)
