"""Small valid MMSA dicts for the data corpus and the loader's property test."""

from __future__ import annotations

import numpy as np

SPLITS = ("train", "valid", "test")
MOSI_DIMS = {"text": 768, "audio": 5, "vision": 20}
"""CMU-MOSI's feature sizes, so the kind is inferred as with a real file."""


def small_mmsa(
    sizes: tuple[int, int, int] = (4, 3, 3),
    dims: dict[str, int] = MOSI_DIMS,
    frames: tuple[int, int, int] = (3, 4, 4),
    *,
    lengths: bool = True,
    seed: int = 0,
) -> dict:
    """An MMSA dict: float32 features, float64 labels in [-2, 2], ``"vid$_$clip"`` ids and, with
    ``lengths``, right-padded audio and vision with their lengths (the first sample full)."""
    rng = np.random.default_rng(seed)
    data = {}
    for s, (split, n) in enumerate(zip(SPLITS, sizes)):
        d: dict = {m: rng.normal(size=(n, t, dims[m])).astype(np.float32) for m, t in zip(dims, frames)}
        if lengths:
            for m, t in zip(("audio", "vision"), frames[1:]):
                count = rng.integers(1, t + 1, n)
                count[0] = t
                d[m][np.arange(t)[None, :] >= count[:, None]] = 0
                d[f"{m}_lengths"] = count.astype(np.int64)
        d["id"] = [f"vid{s}{i}$_${i}" for i in range(n)]
        d["raw_text"] = [f"clip {i} of {split}" for i in range(n)]
        d["regression_labels"] = np.round(rng.uniform(-2, 2, n), 1)
        data[split] = d
    return data
