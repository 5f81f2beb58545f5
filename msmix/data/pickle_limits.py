"""Bounds on what a pickle may make: no length beyond the file, no declared size beyond a budget.

A pickle of a few bytes can declare a terabyte: ``bytearray(10**12)``, an array of shape
``(10**12,)``, a stride-0 tensor of 10^11 elements, a length field of 2^60. ``BoundedUnpickler``
checks every length it reads against the bytes left in the file before making a buffer;
``SizeBudget`` lets the allowed constructors claim, before they allocate, at most a small multiple
of the file's size in all. Real data files hold their arrays' bytes, so they stay well inside it.
"""

from __future__ import annotations

import operator
import pickle
import struct
from typing import Any, BinaryIO

from msmix.data.errors import DataError

FILE_SIZE_FACTOR = 16
"""Declared sizes may add up to this many times the file's size: an object array's 8-byte
pointers come from items of one byte or more in the file, a tensor claims its storage and its view."""
SLACK_BYTES = 16 << 20
"""And this much more, so that small files are never refused for their few small arrays."""


def human_size(nbytes: int) -> str:
    """``nbytes`` in the largest binary unit that keeps it at least 1, e.g. ``931.3 GiB``."""
    size = float(nbytes)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{nbytes:,} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


MAX_DIMENSIONS = 32
"""NumPy's and torch's limit on an array's dimensions."""


def sizes_of(value: Any, what: str) -> tuple[int, ...]:
    """A declared shape, stride or offset tuple as non-negative ints, or an UnpicklingError naming ``what``."""
    if not isinstance(value, (tuple, list)) or len(value) > MAX_DIMENSIONS:
        raise pickle.UnpicklingError(f"{what}: expected a tuple of at most {MAX_DIMENSIONS} integers, found a {type(value).__name__}")
    try:
        sizes = tuple(operator.index(v) for v in value)
    except TypeError:
        raise pickle.UnpicklingError(f"{what}: expected integers, found {value!r:.80}") from None
    if any(v < 0 for v in sizes):
        raise pickle.UnpicklingError(f"{what}: expected sizes >= 0, found {sizes}")
    return sizes


class SizeBudget:
    """The bytes the objects of one pickle may claim before they are made.

    Args:
        path: the file's name, for error messages.
        file_size: the file's size in bytes.
    """

    def __init__(self, path: str, file_size: int) -> None:
        self.path = path
        self.file_size = file_size
        self.limit = FILE_SIZE_FACTOR * file_size + SLACK_BYTES
        self.claimed = 0

    def claim(self, nbytes: int, what: str) -> None:
        """Count ``nbytes`` for ``what`` (e.g. ``bytearray(10**12)``), or refuse with a DataError."""
        if self.claimed + nbytes > self.limit:
            raise DataError(
                f"refused to load: {what} declares {human_size(nbytes)}, more than a file of {human_size(self.file_size)} can hold",
                path=self.path,
                expected=f"declared sizes within {human_size(self.limit)} in all",
                found=f"{self.claimed + nbytes:,} bytes",
            )
        self.claimed += nbytes


def file_size(file: BinaryIO) -> int:
    """The size of a seekable binary file, leaving its position where it was."""
    here = file.tell()
    end = file.seek(0, 2)
    file.seek(here)
    return end


class _BoundedFile:
    """A binary file that refuses a read of more bytes than remain, before any buffer is made."""

    def __init__(self, file: BinaryIO, size: int) -> None:
        self._file = file
        self._size = size

    def read(self, n: int = -1) -> bytes:
        left = self._size - self._file.tell()
        if left <= 0 and n > 0:
            return b""  # the end of the file, which the unpickler reports
        if n > left or n < 0:
            raise pickle.UnpicklingError(f"the pickle reads {n:,} bytes where {left:,} remain in the file")
        return self._file.read(n)

    def readline(self) -> bytes:
        return self._file.readline()


class BoundedUnpickler(pickle._Unpickler):
    """The reference (pure Python) unpickler with every declared length checked against the file.

    Its BUILD opcode, which sets an object's state (and can run ``__setstate__``), is refused
    unless ``check_build`` allows it: subclasses allow the objects whose state they check.

    Args:
        file: a seekable binary file object.
        size: the file's size in bytes (default: measured).
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file: BinaryIO, size: int | None = None) -> None:
        self.file_size = file_size(file) if size is None else size
        # latin1 lets NumPy arrays pickled under Python 2 load (their data are 8-bit str).
        super().__init__(_BoundedFile(file, self.file_size), encoding="latin1")

    def check_build(self, inst: Any, state: Any) -> None:
        """Raise unless setting ``inst``'s state to ``state`` is safe; nothing is, here."""
        raise pickle.UnpicklingError(f"refused to set the state of a {type(inst).__name__}")

    def _load_build(self) -> None:
        self.check_build(self.stack[-2], self.stack[-1])
        pickle._Unpickler.load_build(self)

    def _load_bytearray8(self) -> None:
        (n,) = struct.unpack("<Q", self.read(8))
        if n > self.file_size:
            raise pickle.UnpicklingError(f"the pickle declares a bytearray of {n:,} bytes in a file of {self.file_size:,}")
        buffer = bytearray(n)
        self.readinto(buffer)
        self.append(buffer)

    dispatch[pickle.BUILD[0]] = _load_build
    dispatch[pickle.BYTEARRAY8[0]] = _load_bytearray8
