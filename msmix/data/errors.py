"""DataError: every problem found while reading or validating a data file."""

from __future__ import annotations


class DataError(ValueError):
    """A data file is unreadable or not what it claims to be.

    The message names the file, the split and key where it applies, what was expected and what
    was found, so a user can fix the file without reading our code.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        split: str | None = None,
        key: str | None = None,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        self.path, self.split, self.key = path, split, key
        self.expected, self.found = expected, found
        where = ", ".join(
            part
            for part in (
                f"file {path}" if path else "",
                f"split {split!r}" if split else "",
                f"key {key!r}" if key else "",
            )
            if part
        )
        text = f"{where}: {message}" if where else message
        if expected is not None:
            text += f" (expected {expected}"
            text += f", found {found})" if found is not None else ")"
        elif found is not None:
            text += f" (found {found})"
        super().__init__(text)


class DataWarning(UserWarning):
    """Loading went on under an assumption the user should know about (e.g. a guessed padding side)."""
