"""Non-finite feature values: real MMSA files hold ``-inf`` in audio and NaN in vision."""

from __future__ import annotations

import numpy as np

from msmix.data._chunks import sample_chunks
from msmix.data.errors import DataError


def count_nonfinite(x: np.ndarray) -> dict[str, int]:
    """How many NaN, -inf and +inf values ``x`` holds."""
    counts = {"NaN": 0, "-inf": 0, "+inf": 0}
    for rows in sample_chunks(x):
        part = x[rows]
        counts["NaN"] += int(np.isnan(part).sum())
        counts["-inf"] += int(np.isneginf(part).sum())
        counts["+inf"] += int(np.isposinf(part).sum())
    return counts


def clean_nonfinite(x: np.ndarray, *, strict: bool, path: str, split: str, key: str) -> int:
    """Set NaN and +-inf in ``x`` to 0 in place (as MMSA does) and return how many there were.

    Raises:
        DataError: with ``strict=True``, when ``x`` holds any non-finite value.
    """
    if x.dtype.kind != "f":
        return 0
    if strict:
        counts = count_nonfinite(x)
        if sum(counts.values()):
            found = ", ".join(f"{n} {what}" for what, n in counts.items() if n)
            raise DataError(
                "non-finite feature values (strict loading; the default sets them to 0)",
                path=path, split=split, key=key, expected="finite values", found=found,
            )
        return 0
    total = 0
    for rows in sample_chunks(x):
        part = x[rows]
        bad = ~np.isfinite(part)
        n = int(bad.sum())
        if n:
            part[bad] = 0
            total += n
    return total
