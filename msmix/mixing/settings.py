"""Checks shared by the mixers' settings dataclasses (ranges, ``n_mix``)."""

from __future__ import annotations


def check_fraction_range(name: str, bounds: tuple[float, float]) -> tuple[float, float]:
    """A (low, high) pair with 0 < low <= high <= 1 (e.g. a share of the batch)."""
    low, high = check_positive_range(name, bounds)
    if high > 1:
        raise ValueError(f"{name} must lie in (0, 1], got {bounds}")
    return low, high


def check_positive_range(name: str, bounds: float | tuple[float, float]) -> tuple[float, float]:
    """A number (read as a range of one value) or a (low, high) pair with 0 < low <= high."""
    if isinstance(bounds, (int, float)):
        bounds = (float(bounds), float(bounds))
    if len(bounds) != 2:
        raise ValueError(f"{name} must be a number or a (low, high) pair, got {bounds!r}")
    low, high = float(bounds[0]), float(bounds[1])
    if not 0 < low <= high:
        raise ValueError(f"{name} must satisfy 0 < low <= high, got {bounds!r}")
    return low, high


def check_n_mix(n_mix: int | None) -> int | None:
    """The number of mixed samples per batch: None (one per sample, k = B) or a positive int."""
    if n_mix is not None and (not isinstance(n_mix, int) or isinstance(n_mix, bool) or n_mix < 1):
        raise ValueError(f"n_mix must be None (k = batch size) or a positive integer, got {n_mix!r}")
    return n_mix
