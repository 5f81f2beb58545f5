"""Shared by the run-folder and sweep tests: a callback that records (and can kill) a fit, and the
run-folder layout of earlier versions, ``out/runs/<run>``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from msmix.train import Callback, RunSpec


class Epochs(Callback):
    """Records the epochs and batches a fit trains; optionally crashes after one epoch (a kill)."""

    def __init__(self, crash_after: int | None = None) -> None:
        self.epochs: list[int] = []
        self.batches = 0
        self.crash_after = crash_after

    def on_batch_end(self, trainer: Any, step: int, loss: Any) -> None:
        self.batches += 1

    def on_epoch_end(self, trainer: Any, record: Any) -> None:
        self.epochs.append(record.epoch)
        if record.epoch == self.crash_after:
            raise KeyboardInterrupt


def to_old_layout(out: Path, spec: RunSpec) -> Path:
    """Move a run's folder to where earlier versions kept it, ``out/runs/<run>``."""
    old = out / "runs" / spec.run_name()
    old.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(out / spec.run_name(), old)
    return old
