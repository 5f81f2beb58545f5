"""Unpickle MMSA feature files without running code from them, and within the file's size.

A pickle can name any importable callable and call it while loading (``os.system`` included).
MMSA files only need NumPy arrays, dtypes and scalars inside plain containers, so
``SafeUnpickler`` resolves exactly those globals, under NumPy 1 (``numpy.core``) and NumPy 2
(``numpy._core``) module paths alike, and refuses every other one with a ``DataError``.
MMSA-FET can also write torch tensors (``return_type="pt"``); their storages are read back with
torch's own allow-list loader (``torch.load(weights_only=True)``).

Even allowed constructors can be told to allocate a terabyte from a few bytes
(``bytearray(10**12)``, an array of shape ``(10**12,)``, a stride-0 tensor): every declared size
is checked against the file's size before anything is allocated (see ``msmix.data.pickle_limits``,
``pickle_numpy`` and ``pickle_torch``), and NumPy is never handed array data that do not fill the
declared shape.
"""

from __future__ import annotations

import _codecs
import builtins
import collections
import io
import operator
import pickle
import struct
from pathlib import Path
from typing import Any, BinaryIO, Callable

import numpy as np

from msmix.data import pickle_numpy, pickle_torch
from msmix.data.errors import DataError
from msmix.data.pickle_limits import BoundedUnpickler, SizeBudget

# (submodule of numpy.core / numpy._core, name) pairs that array and scalar pickles reference.
_NUMPY_CORE_GLOBALS = frozenset(
    {
        ("multiarray", "_reconstruct"),
        ("multiarray", "scalar"),
        ("_multiarray_umath", "_reconstruct"),
        ("_multiarray_umath", "scalar"),
        ("numeric", "_frombuffer"),  # protocol 5 arrays
    }
)

_BUILTIN_NAMES = frozenset(
    {"list", "dict", "tuple", "set", "frozenset", "bytes", "bytearray", "str", "int", "float", "complex", "bool"}
)
_TEXT_SOURCES = (str, bytes, bytearray, int, float, complex, np.generic)
"""What ``str(...)`` may turn into text in a pickle; the text of a container can be exponentially
larger than its pickle (a list of references to a list of references ...)."""


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """Protocol 2 pickles store bytes as ``_codecs.encode(text, "latin1")``; allow only that."""
    if encoding.replace("-", "").lower() not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r}")
    return _codecs.encode(text, encoding)


def _sized(kind: type, budget: SizeBudget) -> Callable[..., Any]:
    """``bytes`` or ``bytearray``: ``kind(n)`` allocates n zero bytes, so n is claimed first."""

    def make(*args: Any) -> Any:
        if args and not isinstance(args[0], (str, bytes, bytearray, memoryview, list, tuple)):
            try:
                count = operator.index(args[0])
            except TypeError:
                count = None
            if count is not None and count > 0:
                budget.claim(count, f"{kind.__name__}({count})")
        return kind(*args)

    return make


def _text(*args: Any) -> str:
    """``str(...)`` of text, bytes or a number only."""
    if args and not isinstance(args[0], _TEXT_SOURCES):
        raise pickle.UnpicklingError(f"refused str() of a {type(args[0]).__name__}")
    return str(*args)


def _allowed_globals(budget: SizeBudget) -> dict[tuple[str, str], Any]:
    """Every global an MMSA pickle may name, keyed as ``_key`` spells it.

    Constructors that allocate by a declared size are bound to ``budget``.
    """
    builtin = {name: getattr(builtins, name) for name in _BUILTIN_NAMES}
    builtin.update(bytes=_sized(bytes, budget), bytearray=_sized(bytearray, budget), str=_text)
    numpy_core = {
        "_reconstruct": pickle_numpy.reconstruct(budget),
        "scalar": pickle_numpy.scalar(budget),
        "_frombuffer": pickle_numpy.frombuffer(budget),
    }
    return {
        **{("builtins", name): value for name, value in builtin.items()},
        **{("numpy.core", f"{sub}.{name}"): numpy_core[name] for sub, name in _NUMPY_CORE_GLOBALS},
        ("numpy", "ndarray"): pickle_numpy.NdarrayType(budget),
        ("numpy", "dtype"): pickle_numpy.dtype,
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("_codecs", "encode"): _latin1_encode,
        ("torch._utils", "_rebuild_tensor_v2"): pickle_torch.rebuild_tensor(budget),
        ("torch.storage", "_load_from_bytes"): pickle_torch.load_storage(budget),
    }


def _key(module: str, name: str) -> tuple[str, str]:
    """A global's allow-list key: NumPy 1 and 2 core paths alike, Python 2 names as Python 3's."""
    for core in ("numpy.core", "numpy._core"):
        if module.startswith(core + "."):
            return "numpy.core", f"{module[len(core) + 1:]}.{name}"
    return {"__builtin__": "builtins", "codecs": "_codecs"}.get(module, module), name


class SafeUnpickler(BoundedUnpickler):
    """An unpickler that resolves only the globals NumPy-array pickles need, and makes nothing
    larger than the file can account for.

    Args:
        file: a seekable binary file object.
        path: the file's name, for error messages.
    """

    def __init__(self, file: BinaryIO, path: str = "<bytes>") -> None:
        super().__init__(file)
        self.path = path
        self.budget = SizeBudget(path, self.file_size)
        self._allowed = _allowed_globals(self.budget)

    def find_class(self, module: str, name: str) -> Any:
        found = self._allowed.get(_key(module, name))
        if found is None:
            raise DataError(
                "refused to load: the pickle names a global outside the allow-list, which could run code",
                path=self.path,
                expected="only NumPy arrays, dtypes and scalars, torch tensors, lists, dicts, str and numbers",
                found=f"global {module}.{name}",
            )
        return found

    def check_build(self, inst: Any, state: Any) -> None:
        """Only arrays and dtypes have their state set, and only to what NumPy writes for them."""
        if type(inst) is np.ndarray:
            pickle_numpy.check_array_state(state, self.budget)
        elif isinstance(inst, np.dtype):
            pickle_numpy.check_dtype_state(inst, state)
        else:
            super().check_build(inst, state)


_UNPICKLING_ERRORS = (
    pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, LookupError, ArithmeticError,
    struct.error, RuntimeError, MemoryError, BufferError,
)
"""What a malformed pickle makes the unpickler, NumPy or torch raise."""


def _unpickle(file: BinaryIO, path: str) -> Any:
    try:
        return SafeUnpickler(file, path).load()
    except DataError:
        raise
    except _UNPICKLING_ERRORS as e:
        found = " ".join(f"{type(e).__name__}: {str(e) or 'the file ends before the pickle does'}".split())
        raise DataError("cannot unpickle", path=path, expected="an MMSA feature pickle", found=found[:300]) from e


def safe_load(path: str | Path) -> Any:
    """Unpickle the file at ``path`` with ``SafeUnpickler``; any failure is a ``DataError``."""
    path = Path(path)
    if not path.is_file():
        found = "a directory" if path.is_dir() else "no such file"
        raise DataError("cannot read the file", path=str(path), expected="an existing file", found=found)
    with path.open("rb") as f:
        return _unpickle(f, str(path))


def safe_loads(data: bytes, path: str = "<bytes>") -> Any:
    """Unpickle in-memory ``data`` with ``SafeUnpickler``."""
    return _unpickle(io.BytesIO(data), path)
