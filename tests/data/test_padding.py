"""Padding side: detection from where non-zero frames sit, the fallback, and moving frames to the front."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from mmsa_files import MODALITIES, SPLITS

from msmix.data import DataWarning, load
from msmix.data.padding import detect_padding, left_to_right_padding


def _padded(lengths: np.ndarray, t: int, side: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros((len(lengths), t, 3))
    for i, n in enumerate(lengths):
        frames = rng.normal(size=(n, 3))
        if side == "right":
            x[i, :n] = frames
        else:
            x[i, t - n :] = frames
    return x


@pytest.mark.parametrize("side", ["right", "left"])
def test_detects_the_side_holding_only_zeros(side: str) -> None:
    lengths = np.array([5, 2, 0, 4])
    assert detect_padding([(_padded(lengths, 5, side), lengths)]) == side


def test_non_finite_values_count_as_data() -> None:
    lengths = np.array([1, 3])
    x = np.zeros((2, 3, 2))
    x[0, 2] = -np.inf  # the single valid frame sits last: left padding
    x[1] = np.nan
    assert detect_padding([(x, lengths)]) == "left"


def test_full_sequences_cannot_tell() -> None:
    lengths = np.array([4, 4])
    assert detect_padding([(_padded(lengths, 4, "right"), lengths)]) is None


def test_non_zero_padding_on_both_sides_cannot_tell() -> None:
    lengths = np.array([2, 2])
    x = np.ones((2, 4, 3))
    assert detect_padding([(x, lengths)]) is None


def test_evidence_adds_up_over_arrays() -> None:
    full = np.array([3])
    short = np.array([1])
    pairs = [(_padded(full, 3, "left"), full), (_padded(short, 3, "left"), short)]
    assert detect_padding(pairs) == "left"


def test_left_to_right_matches_a_loop() -> None:
    lengths = np.array([5, 2, 0, 4, 1])
    x = _padded(lengths, 5, "left")
    expected = np.zeros_like(x)
    for i, n in enumerate(lengths):
        for t in range(n):
            expected[i, t] = x[i, 5 - n + t]
    left_to_right_padding(x, lengths)
    np.testing.assert_array_equal(x, expected)


def test_left_padded_file_loads_like_its_right_padded_twin(make_mmsa, write_pkl) -> None:
    right = load(write_pkl(make_mmsa(padding="right"), "right.pkl"))
    left = load(write_pkl(make_mmsa(padding="left"), "left.pkl"))
    assert left.spec.extra["file_padding"] == {"audio": "left", "vision": "left"}
    assert right.spec.extra["file_padding"] == {"audio": "right", "vision": "right"}
    for name in SPLITS:
        assert left[name].padding == "right"
        for m in MODALITIES:
            assert torch.equal(getattr(left[name], m), getattr(right[name], m))
    assert left.cleaned == right.cleaned


def test_explicit_side_is_trusted(make_mmsa, write_pkl) -> None:
    path = write_pkl(make_mmsa(padding="left"))
    auto = load(path)
    told = load(path, padding="left")
    assert torch.equal(told.test.vision, auto.test.vision)
    kept = load(path, padding="right")  # wrong, but what the user said: frames stay in place
    assert kept.spec.extra["file_padding"] == {"audio": "right", "vision": "right"}
    assert not torch.equal(kept.test.vision, auto.test.vision)


def test_undecidable_file_falls_back_to_right_with_a_warning(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    for split in SPLITS:
        n = len(data[split]["regression_labels"])
        data[split]["audio_lengths"] = np.full(n, 375)
    with pytest.warns(DataWarning, match="audio"):
        ds = load(write_pkl(data))
    assert ds.spec.extra["file_padding"]["audio"] == "right"
    assert any("padding='right'" in note and "audio" in note for note in ds.notes)


def test_decidable_file_loads_without_warnings(make_mmsa, write_pkl) -> None:
    path = write_pkl(make_mmsa())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load(path).notes == []


def test_unknown_padding_value(make_mmsa, write_pkl) -> None:
    with pytest.raises(ValueError, match="padding must be one of"):
        load(write_pkl(make_mmsa()), padding="start")
