"""One-line failures for the contract checks.

The checks raise ``AssertionError`` themselves instead of using ``assert`` statements, so they still
check under ``python -O``, and every message is one sentence naming what broke.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor


def require(ok: bool, reason: str) -> None:
    """Raise ``AssertionError(reason)`` unless ``ok``."""
    if not ok:
        raise AssertionError(reason)


def require_close(actual: Tensor, expected: Tensor, reason: str, **tolerances: Any) -> None:
    """``torch.testing.assert_close`` (same rules and tolerances), failing with one line: ``reason``
    followed by its summary of the mismatch."""
    try:
        torch.testing.assert_close(actual, expected, **tolerances)
    except AssertionError as error:
        raise AssertionError(f"{reason} ({one_line(str(error))})") from None


def one_line(text: str) -> str:
    """The non-empty lines of ``text`` joined by ``"; "``."""
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def require_raises(error: type[Exception], pattern: str, call: Callable[[], object], reason: str) -> None:
    """``call()`` must raise ``error`` with a message matching the regular expression ``pattern``."""
    try:
        call()
    except error as raised:
        if re.search(pattern, str(raised)) is None:
            raise AssertionError(f"{reason}: the {error.__name__} says {one_line(str(raised))!r}, not /{pattern}/") from None
        return
    raise AssertionError(f"{reason}: no {error.__name__} was raised")
