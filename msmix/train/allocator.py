"""Keep freed CPU memory for reuse: glibc's malloc otherwise maps every large tensor afresh.

By default glibc serves allocations above a (dynamic, at most 32 MiB) threshold with ``mmap`` and
gives them back to the OS on ``free``, and trims freed memory at the top of its heap. A training
step allocates the same large tensors every time (TFN's fused batch is 18 MiB at batch 32, 36 MiB
with as many mixed samples), so each step page-faults all of them in again: about a third of a
TFN step's CPU time. Raising both thresholds makes malloc reuse the memory instead; what is
computed does not change. The cost: the process keeps its peak memory instead of returning it.
Process-wide, glibc only (elsewhere, e.g. macOS or musl, it does nothing).
"""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 1 << 30  # allocations up to 1 GiB come from the heap
_TRIM_THRESHOLD = (1 << 31) - 1  # never trim the heap top

_applied: bool | None = None


def reuse_freed_memory() -> bool:
    """Tell glibc's malloc to keep and reuse freed memory; True if it took effect (once per process)."""
    global _applied
    if _applied is None:
        _applied = _mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) and _mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    return _applied


def _mallopt(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(option, value) == 1
