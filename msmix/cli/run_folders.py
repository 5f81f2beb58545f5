"""Which folder holds a run: an output folder keeps ``results.csv`` and ``<run>/`` per run.

``msmix train --out DIR`` and ``msmix sweep --out DIR`` share that layout, so ``evaluate`` and
``predict`` take ``DIR/<run>/``. Given ``DIR`` instead, they name the run folders inside rather
than only saying the folder holds no checkpoint; that includes the ``DIR/runs/<run>/`` folders of
earlier versions (given ``DIR`` or ``DIR/runs``).
"""

from __future__ import annotations

from pathlib import Path

CHECKPOINT_FILES = ("best.pt", "last.pt")  # msmix.train.checkpoint's BEST and LAST, without importing torch
RUN_PATTERNS = ("*", "runs/*")  # DIR/<run>, and DIR/runs/<run> of earlier versions (msmix.train.run_folder)
SHOWN = 3


def holds_checkpoint(folder: Path) -> bool:
    """Whether ``folder`` is a run folder (it has a best or last checkpoint)."""
    return any((folder / name).is_file() for name in CHECKPOINT_FILES)


def runs_inside(folder: Path) -> list[Path]:
    """The run folders in an output folder: ``folder/*``, and ``folder/runs/*`` of earlier versions."""
    found = {p for pattern in RUN_PATTERNS for p in folder.glob(pattern) if p.is_dir() and holds_checkpoint(p)}
    return sorted(found)


def not_a_run_folder(folder: Path) -> str | None:
    """A one-line hint naming the run folders inside ``folder``, or None when it holds none."""
    runs = runs_inside(folder)
    if not runs:
        return None
    if len(runs) == 1:
        return f"{folder} is not a run folder; pass the one inside it: {runs[0]}"
    listed = ", ".join(str(p) for p in runs[:SHOWN]) + (f" and {len(runs) - SHOWN} more" if len(runs) > SHOWN else "")
    return f"{folder} is not a run folder; pass one of the {len(runs)} inside it: {listed}"
