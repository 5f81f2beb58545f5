"""The allow-list unpickler: NumPy data load under NumPy 1 and 2 names; anything else is refused unrun."""

from __future__ import annotations

import os
import pickle
import pickletools
import struct
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
