"""Walking a large array in blocks of samples, so temporary masks stay small."""

from __future__ import annotations

import numpy as np

_CHUNK_ELEMENTS = 1 << 24  # bounds the temporary masks on multi-GB arrays


def sample_chunks(x: np.ndarray) -> list[slice]:
    """Slices over the sample axis with about ``_CHUNK_ELEMENTS`` values each."""
    per_sample = max(1, int(np.prod(x.shape[1:])))
    step = max(1, _CHUNK_ELEMENTS // per_sample)
    return [slice(i, i + step) for i in range(0, x.shape[0], step)]
