"""Finding a clip's media file in the folders a user gives.

Two layouts are recognised, the ones MMSA's raw data and single-folder exports use:
``<folder>/<video_id>/<clip_id>.<ext>`` and ``<folder>/<video_id>_<clip_id>.<ext>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".m4a", ".ogg", ".mp4", ".mkv", ".webm", ".avi", ".mov")
"""Sound files first, then videos (whose audio stream is read)."""
OPENFACE_SUFFIXES = (".csv",)


class MediaIndex:
    """Every file under some folders, looked up by clip: built once, so a large data set is not
    searched once per clip."""

    def __init__(self, folders: Sequence[str | Path]) -> None:
        self.files: dict[str, Path] = {}
        for folder in folders:
            folder = Path(folder)
            if not folder.is_dir():
                raise FileNotFoundError(f"media folder {folder} does not exist or is not a folder")
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    self.files.setdefault(path.relative_to(folder).as_posix().lower(), path)

    def find(self, video_id: str, clip_id: str, suffixes: Sequence[str]) -> Path | None:
        """The first file for the clip, in the order of ``suffixes``; None when there is none."""
        for suffix in suffixes:
            for stem in (f"{video_id}/{clip_id}", f"{video_id}_{clip_id}"):
                found = self.files.get(f"{stem}{suffix}".lower())
                if found is not None:
                    return found
        return None

    def __len__(self) -> int:
        return len(self.files)
