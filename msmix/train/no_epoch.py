"""A run stopped before its first epoch finished: there are no trained weights worth scoring.

``Trainer.fit`` then evaluates nothing and returns a FitResult with ``epochs == 0``,
``interrupted=True`` and empty metrics; ``run`` returns a row with ``epochs`` 0, ``interrupted``
True and no metric columns. Such a row is not a result, so it is written nowhere: not to
``result.json``, not to a results table (``msmix train --out``, sweeps).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NO_EPOCH_MESSAGE = "Stopped during epoch 1: no epoch finished, so nothing was evaluated and no results row was written"


def finished_no_epoch(row: Mapping[str, Any]) -> bool:
    """Whether a results row comes from a run stopped before its first epoch finished."""
    return row.get("epochs") == 0
