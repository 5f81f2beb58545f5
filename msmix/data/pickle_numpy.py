"""NumPy's pickling helpers, checked: plain dtypes only, and every declared size claimed first.

An array pickle is ``_reconstruct(ndarray, (0,), b"b")`` followed by a state of shape, dtype and
raw data (or, under protocol 5, ``_frombuffer(buffer, dtype, shape, order)``); a dtype pickle is
``dtype("f8", False, True)`` followed by a state giving the byte order. The wrappers here accept
what NumPy writes for arrays of numbers, strings, bytes and objects, and check what NumPy itself
trusts: that the raw data match the declared shape (a short object list crashes NumPy), that a
dtype's state changes nothing but its byte order, and that the sizes fit the ``SizeBudget``.
"""

from __future__ import annotations

import importlib
import math
import pickle
from typing import Any, Callable

import numpy as np

from msmix.data.pickle_limits import SizeBudget, sizes_of

_PLAIN_KINDS = "biufcSUVO"
"""bool, integers, floats, complex, bytes, str, void and object; no dates, records or subarrays."""

_NUMPY_CORE = "numpy._core" if int(np.__version__.split(".")[0]) >= 2 else "numpy.core"
_multiarray = importlib.import_module(f"{_NUMPY_CORE}.multiarray")
_numeric = importlib.import_module(f"{_NUMPY_CORE}.numeric")


def plain_dtype(value: Any, what: str) -> np.dtype:
    """``value`` (a dtype or its type code) as a dtype of plain values, or UnpicklingError."""
    if isinstance(value, bytes):
        value = value.decode("latin1")
    if isinstance(value, str) and len(value) <= 32:
        value = np.dtype(value)
    if not isinstance(value, np.dtype):
        raise pickle.UnpicklingError(f"{what}: expected a NumPy dtype, found a {type(value).__name__}")
    if value.fields is not None or value.subdtype is not None or value.kind not in _PLAIN_KINDS:
        raise pickle.UnpicklingError(f"{what}: refused dtype {value}; only plain numbers, strings, bytes and objects")
    return value


def shape_of(value: Any, what: str) -> tuple[int, ...]:
    """A declared shape as non-negative ints (a bare int is a 1-D shape)."""
    return sizes_of((value,) if isinstance(value, (int, np.integer)) else value, f"{what}'s shape")


def _claim_array(budget: SizeBudget, shape: tuple[int, ...], dtype: np.dtype, what: str) -> None:
    """Claim an array's bytes; a zero-size dtype counts a byte an element, as its items still cost memory once listed."""
    budget.claim(math.prod(shape) * max(dtype.itemsize, 1), f"{what} of shape {shape} and dtype {dtype}")


class NdarrayType:
    """Stands for ``numpy.ndarray`` in a pickle: as ``_reconstruct``'s subtype, or called for an array."""

    def __init__(self, budget: SizeBudget) -> None:
        self.budget = budget

    def __call__(self, shape: Any, dtype: Any = float, buffer: Any = None, offset: int = 0, strides: Any = None,
                 order: Any = None) -> np.ndarray:
        what = "numpy.ndarray"
        shape = shape_of(shape, what)
        kind = plain_dtype(np.dtype(float) if dtype is float else dtype, what)
        _claim_array(self.budget, shape, kind, what)
        return np.ndarray(shape, kind, buffer, offset, strides, order)


def reconstruct(budget: SizeBudget) -> Callable[..., np.ndarray]:
    """NumPy's ``_reconstruct(ndarray, shape, dtype)``, for plain ndarrays of a claimed size."""

    def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
        what = "numpy array"
        if not isinstance(subtype, NdarrayType):
            raise pickle.UnpicklingError(f"{what}: expected numpy.ndarray as its type, found a {type(subtype).__name__}")
        shape = shape_of(shape, what)
        kind = plain_dtype(dtype, what)
        _claim_array(budget, shape, kind, what)
        return _multiarray._reconstruct(np.ndarray, shape, kind)

    return _reconstruct


def frombuffer(budget: SizeBudget) -> Callable[..., np.ndarray]:
    """NumPy's protocol-5 ``_frombuffer(buffer, dtype, shape, order)`` with a plain dtype."""

    def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
        what = "numpy array"
        shape = shape_of(shape, what)
        kind = plain_dtype(dtype, what)
        _claim_array(budget, shape, kind, what)
        return _numeric._frombuffer(buffer, kind, shape, order)

    return _frombuffer


def scalar(budget: SizeBudget) -> Callable[..., Any]:
    """NumPy's ``scalar(dtype, data)`` with a plain dtype."""

    def _scalar(dtype: Any, *data: Any) -> Any:
        kind = plain_dtype(dtype, "numpy scalar")
        budget.claim(kind.itemsize, f"numpy scalar of dtype {kind}")
        return _multiarray.scalar(kind, *data)

    return _scalar


def dtype(code: Any, align: Any = False, copy: Any = True) -> np.dtype:
    """``numpy.dtype(code, align, copy)`` for a plain type code; always a fresh copy, so a later
    state sets its byte order and never NumPy's shared dtype."""
    if not isinstance(code, (str, bytes)):
        raise pickle.UnpicklingError(f"numpy dtype: expected a type code, found a {type(code).__name__}")
    return plain_dtype(np.dtype(plain_dtype(code, "numpy dtype"), align=bool(align), copy=True), "numpy dtype")


def check_dtype_state(inst: np.dtype, state: Any) -> None:
    """A dtype's pickled state may set its byte order only: no fields, sizes or flags of its own."""
    what = f"numpy dtype {inst}"
    if not isinstance(state, tuple) or len(state) not in (8, 9) or (len(state) == 9 and state[8] is not None):
        raise pickle.UnpicklingError(f"{what}: unexpected state, a {type(state).__name__}" + (f" of {len(state)}" if isinstance(state, tuple) else ""))
    _, order, subarray, names, fields, itemsize, alignment, flags = state[:8]
    if (subarray, names, fields) != (None, None, None):
        raise pickle.UnpicklingError(f"{what}: refused fields or a subarray; only plain numbers, strings, bytes and objects")
    if order not in ("<", ">", "|", "="):
        raise pickle.UnpicklingError(f"{what}: unknown byte order {order!r:.20}")
    if itemsize not in (-1, inst.itemsize) or alignment not in (-1, inst.alignment) or flags != inst.flags:
        raise pickle.UnpicklingError(
            f"{what}: its state (item size {itemsize!r:.20}, alignment {alignment!r:.20}, flags {flags!r:.20}) disagrees with its type code"
        )


def check_array_state(state: Any, budget: SizeBudget) -> None:
    """An array's pickled state: a plain dtype, and raw data that fill the declared shape exactly."""
    what = "numpy array"
    if not isinstance(state, tuple) or len(state) not in (4, 5):
        raise pickle.UnpicklingError(f"{what}: unexpected state {type(state).__name__}")
    shape, kind, _, data = state[-4:]
    shape = shape_of(shape, what)
    kind = plain_dtype(kind, what)
    count = math.prod(shape)
    if kind.hasobject:
        if not isinstance(data, list) or len(data) != count:
            found = f"{len(data)} items" if isinstance(data, list) else f"a {type(data).__name__}"
            raise pickle.UnpicklingError(f"{what}: shape {shape} needs {count} items, found {found}")
    elif not isinstance(data, (bytes, bytearray, str)) or len(data) != count * kind.itemsize:
        found = f"{len(data):,} bytes" if isinstance(data, (bytes, bytearray, str)) else f"a {type(data).__name__}"
        raise pickle.UnpicklingError(f"{what}: shape {shape} of {kind} needs {count * kind.itemsize:,} bytes, found {found}")
    _claim_array(budget, shape, kind, what)
