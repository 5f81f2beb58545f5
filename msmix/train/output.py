"""Checks of an output folder before a run trains into it: a writable folder, and room for its checkpoints.

A run that cannot write its checkpoints would otherwise fail after its first epoch (or, with a
full disk, in torch's serializer); these checks fail at once with one line naming the folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from msmix.train.errors import OutputError

CHECKPOINT_COPIES = 8
"""Copies of a run's weights its folder may hold at once: last.pt (weights and two optimiser
moments), best.pt, and the temporary file of the one being rewritten, with room to spare."""
SPARE_BYTES = 16 * 2**20


def check_output_folder(folder: str | Path) -> Path:
    """Create ``folder`` if needed and make sure a file can be written in it; returns it as a Path."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"output folder {folder} is a file (expected a folder, or a path that does not exist yet)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create the output folder {folder}: {err.strerror or err}") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".msmix-write-check.", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise OutputError(f"cannot write in the output folder {folder}: {err.strerror or err}") from None
    return folder


def check_free_space(folder: str | Path, weight_bytes: int) -> None:
    """Refuse to train when ``folder``'s disk cannot hold the checkpoints of a model of ``weight_bytes``."""
    folder = Path(folder)
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    needed = CHECKPOINT_COPIES * weight_bytes + SPARE_BYTES
    if free < needed:
        raise OutputError(
            f"the disk of {folder} has {_size(free)} free, but this run's checkpoints need about {_size(needed)}; "
            "free some space or write elsewhere"
        )


def _size(n: float) -> str:
    """A byte count for people: bytes, KiB, MiB or GiB."""
    for unit in ("bytes", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
