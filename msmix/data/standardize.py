"""Per-feature standardisation fitted on the valid frames of train and applied to every split."""

from __future__ import annotations

import numpy as np

from msmix.data._chunks import sample_chunks

_MIN_STD = 1e-8  # a constant feature is centred but not scaled


def _valid(x: np.ndarray, lengths: np.ndarray | None, rows: slice) -> np.ndarray:
    """(n, T) 0/1 weights of the valid frames (right padding) of the samples in ``rows``."""
    n = x[rows].shape[0]
    if lengths is None:
        return np.ones((n, x.shape[1]))
    return (np.arange(x.shape[1]) < lengths[rows, None]).astype(np.float64)


def fit_standardization(x: np.ndarray, lengths: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and population std (float64, shape (D,)) over the valid frames of ``x``."""
    count, total = 0.0, np.zeros(x.shape[2])
    for rows in sample_chunks(x):
        w = _valid(x, lengths, rows)
        count += w.sum()
        total += np.einsum("ntd,nt->d", x[rows].astype(np.float64), w)
    if count == 0:
        return np.zeros(x.shape[2]), np.ones(x.shape[2])
    mean = total / count
    squares = np.zeros(x.shape[2])
    for rows in sample_chunks(x):
        w = _valid(x, lengths, rows)
        squares += np.einsum("ntd,nt->d", (x[rows].astype(np.float64) - mean) ** 2, w)
    std = np.sqrt(squares / count)
    return mean, np.where(std > _MIN_STD, std, 1.0)


def apply_standardization(x: np.ndarray, lengths: np.ndarray | None, mean: np.ndarray, std: np.ndarray) -> None:
    """``(x - mean) / std`` on the valid frames of ``x``, in place; padding frames stay 0."""
    for rows in sample_chunks(x):
        w = _valid(x, lengths, rows)[..., None]
        x[rows] = ((x[rows] - mean) / std * w).astype(x.dtype)
