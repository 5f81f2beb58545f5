"""What can go wrong in training and checkpoint files that a user can fix, each as its own type.

Every message is one line that names the file (or setting) and what was expected; the command
line prints it as it is and exits with status 2.
"""

from __future__ import annotations

from pathlib import Path


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, unsafe, inconsistent or of another run."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path, self.problem = Path(path), problem
        super().__init__(f"checkpoint {path}: {problem}")


class NonFiniteLossError(ArithmeticError):
    """Training produced a NaN or infinite loss (or validation predictions); the run stopped there.

    ``batch`` is the first bad batch of ``epoch`` (counted from 1), None when the losses were
    finite but the predictions on the validation split after the epoch were not.
    """

    def __init__(self, epoch: int, batch: int | None, kept: str) -> None:
        self.epoch, self.batch = epoch, batch
        if batch is None:
            what = f"the validation predictions after epoch {epoch} are NaN or infinite"
        else:
            what = f"the training loss of epoch {epoch}, batch {batch} is NaN or infinite"
        super().__init__(
            f"training diverged: {what}; {kept}; lower the learning rate (train.lr) "
            "or check the features for huge or non-finite values"
        )


class ResumeError(ValueError):
    """A run cannot be resumed as asked: the unfinished run differs in settings a resumed run cannot change."""


class DeviceError(RuntimeError):
    """The device a run asks for is not available here."""


class OutputError(OSError):
    """An output folder cannot be written: not a folder, read-only, or out of space."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "the output cannot be written"


USER_ERRORS = (CheckpointError, NonFiniteLossError, ResumeError, DeviceError, OutputError)
"""The error types above: each one is a mistake or a condition the user can fix."""
