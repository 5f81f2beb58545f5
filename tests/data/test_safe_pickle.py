"""The allow-list unpickler: NumPy data load under NumPy 1 and 2 names; anything else is refused unrun."""

from __future__ import annotations

import os
import pickle
import pickletools
import struct
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from msmix.data import DataError, safe_load
from msmix.data.safe_pickle import safe_loads

SAMPLE = {
    "train": {
        "audio": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        "id": np.array(["a$_$1", "b$_$2"], dtype=object),
        "names": np.array(["x", "yz"]),
        "regression_labels": np.array([0.2, -1.4]),
        "lengths": [3, 1],
        "scalar": np.float64(2.5),
        "count": np.int64(7),
        "flags": {1, 2},
        "pair": (1.5, "two", None, True, 3 + 1j, b"raw"),
    }
}


def _same(a: object, b: object) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    else:
        assert type(a) is type(b) and a == b


def as_numpy1_pickle(data: bytes) -> bytes:
    """Rename ``numpy._core`` to ``numpy.core`` in a pickle, as NumPy 1 writes it.

    The opcodes are re-emitted one by one (frames dropped, string lengths fixed), so any protocol
    stays valid after the rename.
    """
    ops = list(pickletools.genops(data))
    ends = [pos for _, _, pos in ops[1:]] + [len(data)]
    out = bytearray()
    for (op, arg, pos), end in zip(ops, ends):
        raw = data[pos:end]
        if op.name == "FRAME":
            continue
        if isinstance(arg, str) and "numpy._core" in arg:
            new = arg.replace("numpy._core", "numpy.core")
            if op.name == "GLOBAL":
                raw = b"c" + new.replace(" ", "\n").encode() + b"\n"
            elif op.name == "SHORT_BINUNICODE":
                raw = b"\x8c" + bytes([len(new)]) + new.encode()
            elif op.name == "BINUNICODE":
                raw = b"X" + struct.pack("<I", len(new)) + new.encode()
            else:
                raise AssertionError(f"unexpected opcode {op.name}")
        out += raw
    return bytes(out)


class _RunsCommand:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _CallsEval:
    def __reduce__(self):
        return (eval, ("1 + 1",))


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_numpy_data_round_trips_under_numpy2_names(protocol: int) -> None:
    _same(SAMPLE, safe_loads(pickle.dumps(SAMPLE, protocol=protocol)))


@pytest.mark.parametrize("protocol", [2, 4])
def test_numpy1_pickles_load_without_touching_the_deprecated_module(protocol: int) -> None:
    old = as_numpy1_pickle(pickle.dumps(SAMPLE, protocol=protocol))
    assert b"numpy.core" in old and b"numpy._core" not in old
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy.core under NumPy 2 would warn
        loaded = safe_loads(old)
    _same(SAMPLE, loaded)


def test_command_in_pickle_is_refused_and_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"train": {"audio": _RunsCommand(marker)}}))
    with pytest.raises(DataError) as err:
        safe_load(path)
    assert not marker.exists()
    assert str(path) in str(err.value) and err.value.path == str(path)
    assert err.value.found == f"global {os.system.__module__}.system"
    assert "expected" in str(err.value) and "system" in str(err.value)


@pytest.mark.parametrize(
    "data",
    [pickle.dumps([_CallsEval()]), b"cbuiltins\ngetattr\n(cbuiltins\nstr\nS'join'\ntR."],
    ids=["eval", "getattr"],
)
def test_builtins_that_can_run_code_are_refused(data: bytes) -> None:
    with pytest.raises(DataError, match="builtins"):
        safe_loads(data)


def test_numpy_functions_outside_the_list_are_refused() -> None:
    with pytest.raises(DataError, match="numpy.load"):
        safe_loads(b"cnumpy\nload\n(S'x.npy'\ntR.")


def test_codecs_encode_only_for_latin1() -> None:
    assert safe_loads(b"c_codecs\nencode\n(X\x02\x00\x00\x00abX\x06\x00\x00\x00latin1tR.") == b"ab"
    with pytest.raises(DataError, match="encoding"):
        safe_loads(b"c_codecs\nencode\n(X\x02\x00\x00\x00abX\x05\x00\x00\x00rot13tR.")


def test_python2_builtin_names_map_to_builtins() -> None:
    assert safe_loads(b"c__builtin__\nset\n((lp0\nI1\naI2\natR.") == {1, 2}


def test_torch_tensors_from_mmsa_fet_load() -> None:
    x = torch.arange(12, dtype=torch.float64).reshape(2, 3, 2)
    loaded = safe_loads(pickle.dumps({"audio": x}, protocol=5))["audio"]
    assert torch.equal(loaded, x)


@pytest.mark.parametrize("content", [b"not a pickle", pickle.dumps(SAMPLE)[:50]])
def test_unreadable_bytes_are_a_data_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.pkl"
    path.write_bytes(content)
    with pytest.raises(DataError, match="cannot unpickle") as err:
        safe_load(path)
    assert err.value.path == str(path)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        safe_load(tmp_path / "absent.pkl")


class _Declares:
    """Pickles as ``func(*args)`` without calling it, as a hostile file would."""

    def __init__(self, func: object, *args: object) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


_64_MIB = 64 << 20


@pytest.mark.parametrize(
    "bomb",
    [_Declares(bytearray, _64_MIB), _Declares(bytes, _64_MIB), _Declares(np.ndarray, (_64_MIB // 8,))],
    ids=["bytearray", "bytes", "ndarray"],
)
def test_declared_sizes_beyond_the_file_are_refused_before_allocating(bomb: _Declares) -> None:
    data = pickle.dumps(bomb, protocol=4)
    tracemalloc.start()
    try:
        pickle.loads(data)  # the plain unpickler allocates what these few bytes declare
        plain_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        with pytest.raises(DataError, match=r"refused to load: .* declares 64\.0 MiB, more than a file of \d+ bytes") as err:
            safe_loads(data)
        safe_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(data) < 100 and plain_peak >= _64_MIB and safe_peak < _64_MIB // 16
    assert "expected declared sizes within 16.0 MiB in all" in str(err.value)


def test_the_size_budget_leaves_room_for_real_arrays() -> None:
    """Object arrays claim 8 bytes an item from one byte of pickle each: well inside the budget."""
    data = {"ids": np.array([None] * 3_000_000, dtype=object), "x": np.zeros(4 << 20, np.float32)}
    loaded = safe_loads(pickle.dumps(data, protocol=4))
    assert loaded["ids"].shape == (3_000_000,) and loaded["x"].shape == (4 << 20,)


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
@pytest.mark.parametrize("dtype", [">f4", "<i8", "u1", "?", "f2", "c8", "U3", "S2", "V4", "O"])
def test_arrays_of_every_plain_dtype_load_as_pickle_loads_them(dtype: str, protocol: int) -> None:
    a = np.arange(6).reshape(2, 3).astype(dtype)
    data = pickle.dumps({"a": a, "fortran": np.asfortranarray(a), "scalar": a.reshape(-1)[1]}, protocol=protocol)
    _same(pickle.loads(data), safe_loads(data))


def test_a_dtype_state_beyond_its_byte_order_is_refused() -> None:
    data = pickle.dumps(np.dtype("f8"), protocol=2).replace(b"K\x00tq\x05b.", b"K?tq\x05b.")  # the object flags
    assert b"K?" in data
    with pytest.raises(DataError, match="disagrees with its type code"):
        safe_loads(data)


def test_object_array_data_that_do_not_fill_the_shape_are_refused_unrun() -> None:
    data = pickle.dumps(np.array(["a", "b", "c"], dtype=object), protocol=2).replace(b"K\x03\x85", b"K\x07\x85", 1)
    with pytest.raises(DataError, match=r"shape \(7,\) needs 7 items, found 3 items"):
        safe_loads(data)


@pytest.mark.parametrize(
    "tensor",
    [torch.arange(12.0).reshape(3, 4).t(), torch.zeros(0, 5), torch.arange(6, dtype=torch.int16), torch.ones(3).expand(4, 3)],
    ids=["transposed", "empty", "int16", "expanded"],
)
def test_tensors_and_their_views_load(tensor: torch.Tensor) -> None:
    loaded = safe_loads(pickle.dumps({"x": tensor}, protocol=4))["x"]
    assert torch.equal(loaded, tensor) and loaded.stride() == tensor.stride()


def test_tensor_hooks_are_refused() -> None:
    import collections

    from torch._utils import _rebuild_tensor_v2

    storage = torch.zeros(2).storage()
    hooks = collections.OrderedDict(a=1)
    with pytest.raises(DataError, match="no backward hooks"):
        safe_loads(pickle.dumps(_Declares(_rebuild_tensor_v2, storage, 0, (2,), (1,), False, hooks), protocol=4))
