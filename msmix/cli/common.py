"""What the commands share: the error a user can fix, and loading data with such errors."""

from __future__ import annotations

from typing import Any


class UsageError(Exception):
    """Something the user asked for cannot be done as asked; the message says why."""


def load_source(loader: Any, source: str) -> Any:
    """Run a data loader, turning a bad source or option into a UsageError (DataErrors pass)."""
    from msmix.data.errors import DataError

    try:
        return loader()
    except DataError:
        raise
    except (TypeError, ValueError) as err:
        raise UsageError(f"cannot load {source}: {err}") from None
