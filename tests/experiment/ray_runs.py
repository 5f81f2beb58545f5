"""Runners for Ray sweep tests, importable by name on Ray workers.

``killed_run`` trains like ``msmix.train.run`` but, where ``out_dir/kill-<config hash>`` holds
N > 0, counts it down and kills its own process with SIGKILL at the end of the first epoch (its
checkpoint is written by then), the way a worker dies to the out-of-memory killer.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from msmix import train
from msmix.train.callbacks import Callback


def kill_marker(out_dir: str | Path, config_hash: str) -> Path:
    return Path(out_dir) / f"kill-{config_hash}"


class _KillAtEpochEnd(Callback):
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def on_epoch_end(self, trainer: Any, record: Any) -> None:
        left = int(self.marker.read_text()) if self.marker.is_file() else 0
        if left > 0:
            self.marker.write_text(str(left - 1))
            os.kill(os.getpid(), signal.SIGKILL)


def killed_run(spec: Any, out_dir: str, **kwargs: Any) -> dict[str, Any]:
    marker = kill_marker(out_dir, spec.config_hash())
    return train.run(spec, out_dir=out_dir, callbacks=[_KillAtEpochEnd(marker)], **kwargs)


def never_called(*args: Any, **kwargs: Any) -> dict[str, Any]:
    raise AssertionError("a finished run was handed to Ray again")


def refusing_run(*args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError("refused on purpose")
