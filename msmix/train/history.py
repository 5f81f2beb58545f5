"""EpochRecord and FitResult: the per-epoch history table and what a fit returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import pandas as pd

TIMING_COLUMNS = ("seconds",)
_NESTED = ("valid_metrics", "diagnostics")  # dict fields, flattened into columns of a row


@dataclass
class EpochRecord:
    """One row of the history table.

    ``train_*`` are per-sample means over the epoch: ``train_loss`` the optimised total,
    ``train_task`` the task loss on the original samples, ``train_mixup`` the (unweighted) mixup
    loss, ``train_aux`` the mixer's (unweighted) auxiliary loss, ``train_model_aux`` the sum of the
    backbone's own auxiliary losses. ``valid_loss`` is the task loss on the validation split (what
    early stopping watches); ``best`` marks the epoch whose weights are kept. ``diagnostics`` holds
    the per-epoch probe of a mixer's intensity predictors (``msmix.train.intensity_probe``; empty
    for mixers without any), flattened into columns of their own names.
    """

    epoch: int
    train_loss: float
    train_task: float
    train_mixup: float
    train_aux: float
    valid_loss: float
    valid_metrics: dict[str, float]
    seconds: float
    lr: float
    best: bool
    train_model_aux: float = 0.0
    diagnostics: dict[str, float] = field(default_factory=dict)

    def to_row(self) -> dict[str, Any]:
        """Flat dict: ``valid_metrics`` become ``valid_<metric>`` columns, ``diagnostics`` their own."""
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NESTED}
        row.update({f"valid_{k}": v for k, v in self.valid_metrics.items()})
        row.update(self.diagnostics)
        return row

    def to_dict(self) -> dict[str, Any]:
        """Plain types, for checkpoints."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EpochRecord":
        return cls(**d)


def history_frame(records: list[EpochRecord]) -> pd.DataFrame:
    """The history table: one row per epoch, ``valid_<metric>`` and diagnostics columns flattened."""
    columns = [f.name for f in fields(EpochRecord) if f.name not in _NESTED]
    return pd.DataFrame([r.to_row() for r in records], columns=None if records else columns)


@dataclass
class FitResult:
    """What ``Trainer.fit`` returns.

    Attributes:
        history: one row per epoch (see ``EpochRecord``).
        best_epoch: epoch (1-based) whose weights were restored; 0 if no epoch finished.
        epochs: epochs run.
        train_seconds: wall time of fit, summed over resumed sessions.
        valid_metrics, test_metrics: MMSA metrics of the restored best model; empty when no
            epoch finished (stopped during epoch 1), since nothing was evaluated.
        stopped_early: early stopping ended the run before ``max_epochs``.
        interrupted: ``Trainer.stop()`` ended the run.
    """

    history: pd.DataFrame
    best_epoch: int
    epochs: int
    train_seconds: float
    valid_metrics: dict[str, float]
    test_metrics: dict[str, float]
    stopped_early: bool
    interrupted: bool
