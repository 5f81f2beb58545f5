"""Unpickle MMSA feature files without running code from them.

A pickle can name any importable callable and call it while loading (``os.system`` included).
MMSA files only need NumPy arrays, dtypes and scalars inside plain containers, so
``SafeUnpickler`` resolves exactly those globals, under NumPy 1 (``numpy.core``) and NumPy 2
(``numpy._core``) module paths alike, and refuses every other one with a ``DataError``.
MMSA-FET can also write torch tensors (``return_type="pt"``); their storages are read back with
torch's own allow-list loader (``torch.load(weights_only=True)``).
"""

from __future__ import annotations

import _codecs
import builtins
import collections
import importlib
import io
import pickle
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from torch._utils import _rebuild_tensor_v2

from msmix.data.errors import DataError

# The module NumPy's pickling helpers live in on the installed NumPy.
_NUMPY_CORE = "numpy._core" if int(np.__version__.split(".")[0]) >= 2 else "numpy.core"

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
_NUMPY_TOP_GLOBALS = frozenset({"ndarray", "dtype"})

_BUILTIN_NAMES = frozenset(
    {"list", "dict", "tuple", "set", "frozenset", "bytes", "bytearray", "str", "int", "float", "complex", "bool"}
)


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """Protocol 2 pickles store bytes as ``_codecs.encode(text, "latin1")``; allow only that."""
    if encoding.replace("-", "").lower() not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r}")
    return _codecs.encode(text, encoding)


def _load_storage_from_bytes(data: bytes) -> Any:
    """What ``torch.storage._load_from_bytes`` does, through torch's restricted unpickler."""
    return torch.load(io.BytesIO(data), weights_only=True)


def _resolve(module: str, name: str) -> Any | None:
    """The object an allowed global names, or None when the global is not allowed."""
    if module in ("numpy.core", "numpy._core") or module.startswith(("numpy.core.", "numpy._core.")):
        sub = module.split(".", 2)[2] if module.count(".") >= 2 else ""
        if (sub, name) in _NUMPY_CORE_GLOBALS:
            return getattr(importlib.import_module(f"{_NUMPY_CORE}.{sub}"), name)
        return None
    if module == "numpy" and name in _NUMPY_TOP_GLOBALS:
        return getattr(np, name)
    if module in ("builtins", "__builtin__") and name in _BUILTIN_NAMES:
        return getattr(builtins, name)
    if module == "collections" and name == "OrderedDict":
        return collections.OrderedDict
    if module in ("_codecs", "codecs") and name == "encode":
        return _latin1_encode
    if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
        return _rebuild_tensor_v2
    if (module, name) == ("torch.storage", "_load_from_bytes"):
        return _load_storage_from_bytes
    return None


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals NumPy-array pickles need.

    Args:
        file: a binary file object.
        path: the file's name, for error messages.
    """

    def __init__(self, file: BinaryIO, path: str = "<bytes>") -> None:
        # latin1 lets NumPy arrays pickled under Python 2 load (their data are 8-bit str).
        super().__init__(file, encoding="latin1")
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        found = _resolve(module, name)
        if found is None:
            raise DataError(
                "refused to load: the pickle names a global outside the allow-list, which could run code",
                path=self.path,
                expected="only NumPy arrays, dtypes and scalars, torch tensors, lists, dicts, str and numbers",
                found=f"global {module}.{name}",
            )
        return found


def _unpickle(file: BinaryIO, path: str) -> Any:
    try:
        return SafeUnpickler(file, path).load()
    except DataError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as e:
        raise DataError(
            "cannot unpickle", path=path, expected="an MMSA feature pickle", found=f"{type(e).__name__}: {e}"
        ) from e


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
