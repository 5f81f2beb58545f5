"""Which side of a padded sequence holds the padding, and moving valid frames to the front.

MMSA files do not say whether valid frames come first (``"right"`` padding) or last (``"left"``);
MMSA-FET can write either. The evidence is where non-zero frames sit relative to the lengths.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from msmix.data._chunks import sample_chunks

PADDINGS = ("right", "left", "auto")


def padding_violations(x: np.ndarray, lengths: np.ndarray) -> dict[str, int]:
    """Non-zero frames that would lie in the padding if it were on the right / on the left.

    Non-finite values count as non-zero: they are data, never padding.
    """
    steps = np.arange(x.shape[1])
    found = {"right": 0, "left": 0}
    for rows in sample_chunks(x):
        nonzero = (x[rows] != 0).any(axis=-1)
        n = lengths[rows, None]
        found["right"] += int((nonzero & (steps >= n)).sum())
        found["left"] += int((nonzero & (steps < x.shape[1] - n)).sum())
    return found


def detect_padding(pairs: Iterable[tuple[np.ndarray, np.ndarray]]) -> str | None:
    """``"right"`` or ``"left"`` when only that side is all zeros over every (features, lengths) pair.

    None when the data cannot tell: every sequence is full, or both sides hold non-zero frames.
    """
    total = {"right": 0, "left": 0}
    for x, lengths in pairs:
        for side, n in padding_violations(x, lengths).items():
            total[side] += n
    if total["right"] == 0 and total["left"] > 0:
        return "right"
    if total["left"] == 0 and total["right"] > 0:
        return "left"
    return None


def left_to_right_padding(x: np.ndarray, lengths: np.ndarray) -> None:
    """Move each sample's valid frames (the last ``length``) to the front, in place; zeros after."""
    t = x.shape[1]
    for i, n in enumerate(lengths.tolist()):
        if n < t:
            if n:
                x[i, :n] = x[i, t - n :].copy()
            x[i, n:] = 0


def zeroed_tail_share(x: np.ndarray) -> float:
    """The share of sequences, among those with any non-zero frame, whose last frame is all zeros.

    For text this tells features zeroed after each sentence apart from MMSA's BERT features, which
    hold a state at every padded position too.
    """
    nonzero = [((x[rows] != 0).any(axis=-1)) for rows in sample_chunks(x)]
    frames = np.concatenate(nonzero) if nonzero else np.zeros((0, x.shape[1]), bool)
    used = frames.any(axis=1)
    return float((~frames[used, -1]).mean()) if used.any() else 0.0
