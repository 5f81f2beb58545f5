"""What the commands share: the error a user can fix, loading data with such errors, ``--kind``.

Modules of this package import only the standard library at the top: torch, pandas and the rest
load inside the command handlers, so ``--help``, ``msmix list`` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
from typing import Any

from msmix.cli import catalog


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


def add_kind_option(p: argparse.ArgumentParser) -> None:
    """``--kind``, for data files whose kind their feature sizes do not give away."""
    p.add_argument("--kind", choices=list(catalog.kinds()), help="the data set kind when it cannot be inferred")
