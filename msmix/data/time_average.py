"""Time-averaged features, as MMSA feeds TFN, LMF and other ``need_normalized`` models."""

from __future__ import annotations

import numpy as np


def time_average(x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """(N, T, D) -> (N, 1, D): the mean over valid frames (right padding), or over all frames.

    MMSA averages over the padding frames as well, which shrinks short sequences towards 0; with
    lengths this averages the valid frames only. A sample with no valid frame averages to 0.
    """
    if lengths is None:
        return x.mean(axis=1, keepdims=True, dtype=np.float64).astype(x.dtype)
    mask = (np.arange(x.shape[1]) < lengths[:, None]).astype(x.dtype)
    sums = np.einsum("ntd,nt->nd", x, mask)
    return (sums / np.maximum(lengths, 1)[:, None].astype(x.dtype))[:, None, :]
