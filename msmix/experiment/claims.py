"""Claims on the runs of an output folder, so that two sweeps given one folder never train a run twice.

A sweep trains a run only while it holds the run's claim: an exclusive lock on
``OUT/.claims/<config hash>.lock``, taken before the run starts and released once its row is in
``results.csv``. The lock belongs to the operating system (``flock``), which drops it when its
holder exits, even when it is killed: a crashed sweep leaves the file behind but no claim, so
nothing ever has to decide whether a claim is stale. The holder writes its process id into the
file, for messages only.
"""

from __future__ import annotations

import os
from pathlib import Path

from msmix.experiment.filelock import is_locked, lock_fd, unlock_fd

CLAIMS_FOLDER = ".claims"


class Claim:
    """A held claim on one run; ``release`` (or leaving a ``with`` block) gives it up."""

    def __init__(self, fd: int, path: Path) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        """Give the claim up (a second call does nothing)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            unlock_fd(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def claim_path(out_dir: str | Path, config_hash: str) -> Path:
    """The lock file of a run's claim in an output folder."""
    return Path(out_dir) / CLAIMS_FOLDER / f"{config_hash}.lock"


def try_claim(out_dir: str | Path, config_hash: str) -> Claim | None:
    """Claim a run at once, or None where another holder (another sweep) has it."""
    return _claim(claim_path(out_dir, config_hash), wait=False)


def wait_claim(out_dir: str | Path, config_hash: str) -> Claim:
    """Claim a run, waiting for its holder to release it (or to exit)."""
    claim = _claim(claim_path(out_dir, config_hash), wait=True)
    assert claim is not None
    return claim


def is_claimed(out_dir: str | Path, config_hash: str) -> bool:
    """Whether a live process holds the run's claim now; creates nothing (for dry runs)."""
    return is_locked(claim_path(out_dir, config_hash))


def holder(out_dir: str | Path, config_hash: str) -> int | None:
    """The process id the run's last claimant wrote, where it can be read."""
    try:
        text = claim_path(out_dir, config_hash).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _claim(path: Path, wait: bool) -> Claim | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not lock_fd(fd, wait=wait):
            os.close(fd)
            return None
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
    except BaseException:
        os.close(fd)
        raise
    return Claim(fd, path)
