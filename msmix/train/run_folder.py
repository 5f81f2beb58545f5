"""Where a run keeps its checkpoints inside an output folder: ``DIR/<run>/``, beside ``DIR/results.csv``.

Output folders written by earlier versions kept each run one level deeper, in ``DIR/runs/<run>/``.
Such a run folder is used where it is as long as ``DIR/<run>/`` does not exist, so a sweep or a
``--resume`` started before the change continues from its checkpoints and repeats nothing.
"""

from __future__ import annotations

from pathlib import Path

LEGACY_RUNS = "runs"
"""The folder inside an output folder that held the run folders of earlier versions."""


def run_folder(out_dir: str | Path, name: str) -> Path:
    """``out_dir/name``; or ``out_dir/runs/name`` when only that folder of an earlier version exists."""
    out = Path(out_dir)
    legacy = out / LEGACY_RUNS / name
    if not (out / name).exists() and legacy.is_dir():
        return legacy
    return out / name
