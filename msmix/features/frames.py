"""Ragged per-clip frame features to MMSA's padded (N, T, D) arrays with lengths."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def fit_frames(frames: np.ndarray, max_frames: int) -> np.ndarray:
    """At most ``max_frames`` frames: a longer clip keeps frames evenly spaced over its whole length
    (so the end of a sentence is not cut off), a shorter one is unchanged."""
    if len(frames) <= max_frames:
        return frames
    keep = np.linspace(0, len(frames) - 1, max_frames).round().astype(np.int64)
    return frames[keep]


def pad_frames(clips: Sequence[np.ndarray], dim: int, max_frames: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(N, T, dim) float32 right-padded with zeros, (N,) int64 lengths, and how many clips were
    thinned to ``max_frames``. T is the longest clip after thinning, at least 1 (a data set where
    no clip has frames keeps one all-padding frame, with every length 0)."""
    fitted = [fit_frames(c, max_frames) for c in clips]
    lengths = np.array([len(c) for c in fitted], dtype=np.int64)
    out = np.zeros((len(fitted), max(1, int(lengths.max(initial=0))), dim), dtype=np.float32)
    for i, c in enumerate(fitted):
        out[i, : len(c)] = c
    thinned = sum(len(c) > max_frames for c in clips)
    return out, lengths, thinned


def split_ragged(flat: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    """Undo ``np.concatenate`` of per-clip frames: the clips, given their frame counts."""
    return np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []
