"""Corpus: MMSA feature pickles a careless or hostile user could give, and the one line each must produce.

Each case writes a small MMSA pickle (or raw pickle opcodes) and runs ``msmix inspect`` or
``msmix train`` on it. The silent cases of old (an empty split, sequences without frames, an id
string read as one id per character) are refused at load; the memory bombs (a few bytes declaring
a terabyte through an allowed constructor) are refused before anything is allocated.
"""

from __future__ import annotations

import collections
import pickle
import pickletools
import re
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from corpus import Case, check, parametrize
from small_mmsa import SPLITS, small_mmsa
from torch._utils import _rebuild_tensor_v2

_core = np._core if hasattr(np, "_core") else np.core
RECONSTRUCT = _core.multiarray._reconstruct

TERA = 10**12


class Declares:
    """Pickles as ``func(*args)`` without calling it: how a hostile file names an allowed constructor."""

    def __init__(self, func: Callable, *args: object) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def mmsa() -> dict:
    """A small valid MMSA dict in MOSI's sizes: 4, 3 and 3 samples."""
    return small_mmsa()


def write(folder: Path, data: object, name: str = "data.pkl") -> Path:
    path = folder / name
    path.write_bytes(pickle.dumps(data, protocol=4))
    return path


def inspect(change: Callable[[dict], object]) -> Callable[[Path], list[str]]:
    """``msmix inspect`` on the small MMSA dict after ``change(data)``."""

    def make(folder: Path) -> list[str]:
        data = mmsa()
        change(data)
        return ["inspect", str(write(folder, data))]

    return make


def train(change: Callable[[dict], object]) -> Callable[[Path], list[str]]:
    """A one-epoch LMF ``msmix train`` on the small MMSA dict after ``change(data)``."""

    def make(folder: Path) -> list[str]:
        data = mmsa()
        change(data)
        path = write(folder, data)
        return ["train", "--data", str(path), "--backbone", "lmf", "--epochs", "1", "--out", str(folder / "out"), "--quiet"]

    return make


def inspect_bytes(content: Callable[[], bytes], name: str = "data.pkl") -> Callable[[Path], list[str]]:
    """``msmix inspect`` on a file of the given bytes."""

    def make(folder: Path) -> list[str]:
        (folder / name).write_bytes(content())
        return ["inspect", str(folder / name)]

    return make


def inspect_object(obj: Callable[[], object]) -> Callable[[Path], list[str]]:
    """``msmix inspect`` on ``obj()`` pickled."""
    return inspect_bytes(lambda: pickle.dumps({"train": obj()}, protocol=4))


def line(command: str, where: str, message: str) -> str:
    """The expected stderr line: ``where`` follows the file name (a split and key), ``message`` is literal."""
    return f"msmix {command}: error: file {{dir}}/data\\.pkl{re.escape(where)}: {re.escape(message)}"


def _set(split: str, key: str, value: object) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        data[split][key] = value

    return change


def _empty(split: str) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        d = data[split]
        for key, value in list(d.items()):
            d[key] = value[:0]

    return change


def _no_frames(modality: str, keep_lengths: bool = True) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        for split in SPLITS:
            d = data[split]
            d[modality] = d[modality][:, :0]
            if modality != "text":
                if keep_lengths:
                    d[f"{modality}_lengths"] = np.zeros_like(d[f"{modality}_lengths"])
                else:
                    del d[f"{modality}_lengths"]

    return change


def _no_features(modality: str) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        for split in SPLITS:
            data[split][modality] = data[split][modality][:, :, :0]

    return change


def _short_object_array() -> bytes:
    """An object array's pickle whose shape says 10^8 items where its data list holds 3."""
    data = pickle.dumps(np.array(["a", "b", "c"], dtype=object), protocol=2)
    return data.replace(b"K\x03\x85", b"J\x00\xe1\xf5\x05\x85", 1)


def _storage_declaring(numel: int) -> bytes:
    """A pickled 3-float tensor whose storage header declares ``numel`` elements."""
    data = pickle.dumps(torch.zeros(3), protocol=4)
    (inner,) = [arg for op, arg, _ in pickletools.genops(data) if op.name == "BINBYTES"]
    patched = inner.replace(b"cpuq\x03K\x03", b"cpuq\x03\x8a\x08" + struct.pack("<q", numel), 1)
    assert patched != inner
    return data.replace(struct.pack("<I", len(inner)) + inner, struct.pack("<I", len(patched)) + patched, 1)


def _stride0_tensor() -> object:
    storage = torch.zeros(1).untyped_storage()
    typed = torch.storage.TypedStorage(wrap_storage=storage, dtype=torch.float32, _internal=True)
    return Declares(_rebuild_tensor_v2, typed, 0, (9, 100_000, 100_000), (0, 0, 0), False, collections.OrderedDict())


def _nested_text() -> object:
    """str() of a list of references to a list: its text is far larger than its pickle."""
    inner = ["x" * 1000] * 1000
    return Declares(str, [inner] * 1000)


def _big_int_labels(data: dict) -> None:
    data["train"]["regression_labels"] = [10**400, 0, 1, 2]


def _huge_labels(data: dict) -> None:
    data["valid"]["regression_labels"] = np.array([1e300, 0.0, 1.0])


def _string_among_labels(data: dict) -> None:
    data["test"]["regression_labels"] = [0.5, "1.5", 2.0]


UNREADABLE = "cannot unpickle (expected an MMSA feature pickle, found "

CASES: list[Case] = [
    Case(
        "empty train split trains nothing",
        train(_empty("train")),
        line("train", ", split 'train', key 'regression_labels'", "empty split (expected at least one sample, found 0 samples)"),
    ),
    Case(
        "empty valid split",
        inspect(_empty("valid")),
        line("inspect", ", split 'valid', key 'regression_labels'", "empty split (expected at least one sample, found 0 samples)"),
    ),
    Case(
        "empty test split",
        train(_empty("test")),
        line("train", ", split 'test', key 'regression_labels'", "empty split (expected at least one sample, found 0 samples)"),
    ),
    Case(
        "text without frames",
        inspect(_no_frames("text")),
        line("inspect", ", split 'train', key 'text'", "no frames (expected at least one frame (T >= 1; a modality no sample "
             "holds keeps one all-zero frame with every length 0), found shape (4, 0, 768))"),
    ),
    Case(
        "audio without frames, no lengths",
        train(_no_frames("audio", keep_lengths=False)),
        line("train", ", split 'train', key 'audio'", "no frames (expected at least one frame (T >= 1; a modality no sample "
             "holds keeps one all-zero frame with every length 0), found shape (4, 0, 5))"),
    ),
    Case(
        "vision without frames, zero lengths",
        train(_no_frames("vision")),
        line("train", ", split 'train', key 'vision'", "no frames (expected at least one frame (T >= 1; a modality no sample "
             "holds keeps one all-zero frame with every length 0), found shape (4, 0, 20))"),
    ),
    Case(
        "audio feature size 0",
        inspect(_no_features("audio")),
        line("inspect", ", split 'train', key 'audio'", "no features (expected at least one feature per frame (D >= 1), found shape (4, 4, 0))"),
    ),
    Case(
        "id one string of length N",
        inspect(_set("train", "id", "abcd")),
        line("inspect", ", split 'train', key 'id'", "not a list of strings (expected a list or 1-D array of 4 strings, "
             "one per sample, found a str of length 4)"),
    ),
    Case(
        "id one bytes of length N",
        inspect(_set("valid", "id", b"abc")),
        line("inspect", ", split 'valid', key 'id'", "not a list of strings (expected a list or 1-D array of 3 strings, "
             "one per sample, found a bytes of length 3)"),
    ),
    Case(
        "id None",
        inspect(_set("test", "id", None)),
        line("inspect", ", split 'test', key 'id'", "not a list of strings (expected a list or 1-D array of 3 strings, "
             "one per sample, found None)"),
    ),
    Case(
        "id a 2-D array",
        inspect(_set("train", "id", np.array([["a", "b"], ["c", "d"]]))),
        line("inspect", ", split 'train', key 'id'", "not a list of strings (expected a list or 1-D array of 4 strings, "
             "one per sample, found an array of shape (2, 2))"),
    ),
    Case(
        "id list holding a list",
        inspect(_set("valid", "id", ["a", "b", ["c"]])),
        line("inspect", ", split 'valid', key 'id'", "not a list of strings (expected a list or 1-D array of 3 strings, "
             "one per sample, found a list at position 2)"),
    ),
    Case(
        "label an int beyond float range",
        inspect(_big_int_labels),
        line("inspect", ", split 'train', key 'regression_labels'", "a value is too large for a float (expected numbers within "
             "float32's range (|x| <= 3.4e+38), found an integer of about 401 digits)"),
    ),
    Case(
        "label beyond float32 range",
        inspect(_huge_labels),
        line("inspect", ", split 'valid', key 'regression_labels'", "labels too large (expected labels within float32's range "
             "(|y| <= 3.4e+38), found 1e+300)"),
    ),
    Case(
        "label a string among numbers",
        inspect(_string_among_labels),
        line("inspect", ", split 'test', key 'regression_labels'", "not numeric (expected a numeric array, found dtype <U32)"),
    ),
    Case(
        "label None among numbers",
        inspect(_set("valid", "regression_labels", [0.5, None, 2.0])),
        line("inspect", ", split 'valid', key 'regression_labels'", "not numeric (expected a numeric array, found a NoneType "
             "value among the numbers)"),
    ),
    Case(
        "bytearray of a terabyte",
        inspect_object(lambda: Declares(bytearray, TERA)),
        line("inspect", "", "refused to load: bytearray(1000000000000) declares 931.3 GiB, more than a file of ")
        + r"\d+ bytes can hold \(expected declared sizes within 16\.0 MiB in all, found 1,000,000,000,000 bytes\)",
    ),
    Case(
        "bytes of a terabyte",
        inspect_object(lambda: Declares(bytes, TERA)),
        line("inspect", "", "refused to load: bytes(1000000000000) declares 931.3 GiB, more than a file of ")
        + r"\d+ bytes can hold \(expected declared sizes within 16\.0 MiB in all, found 1,000,000,000,000 bytes\)",
    ),
    Case(
        "ndarray of 10^12 floats",
        inspect_object(lambda: Declares(np.ndarray, (TERA,))),
        line("inspect", "", "refused to load: numpy.ndarray of shape (1000000000000,) and dtype float64 declares 7.3 TiB, "
             "more than a file of ") + r"\d+ bytes can hold \(expected declared sizes within 16\.0 MiB in all, found 8,000,000,000,000 bytes\)",
    ),
    Case(
        "stride-0 ndarray over 8 bytes",
        inspect_object(lambda: Declares(np.ndarray, (TERA,), "f8", b"12345678", 0, (0,))),
        line("inspect", "", "refused to load: numpy.ndarray of shape (1000000000000,) and dtype float64 declares 7.3 TiB, "
             "more than a file of ") + r"\d+ bytes can hold \(expected declared sizes within 16\.0 MiB in all, found 8,000,000,000,000 bytes\)",
    ),
    Case(
        "reconstruct with a huge shape",
        inspect_object(lambda: Declares(RECONSTRUCT, np.ndarray, (10**11,), b"f")),
        line("inspect", "", "refused to load: numpy array of shape (100000000000,) and dtype float32 declares 372.5 GiB, "
             "more than a file of ") + r"\d+ bytes can hold \(expected declared sizes within 16\.0 MiB in all, found 400,000,000,000 bytes\)",
    ),
    Case(
        "object array data shorter than its shape",
        inspect_bytes(_short_object_array),
        line("inspect", "", UNREADABLE + "UnpicklingError: numpy array: shape (100000000,) needs 100000000 items, found 3 items)"),
    ),
    Case(
        "stride-0 tensor 9 x 1e5 x 1e5",
        inspect_object(_stride0_tensor),
        line("inspect", "", "refused to load: a torch tensor of size (9, 100000, 100000) declares 335.3 GiB, more than a file of ")
        + r"\d+ bytes can hold \(expected declared sizes within 16\.0 MiB in all, found 360,000,000,\d+ bytes\)",
    ),
    Case(
        "torch storage declared 1e12 long",
        inspect_bytes(lambda: _storage_declaring(TERA)),
        line("inspect", "", "refused to load: a torch storage declares 3.6 TiB in ")
        + r"\d+ bytes of data \(expected storages no larger than the bytes that hold them, found 4,000,000,000,000 bytes\)",
    ),
    Case(
        "length field beyond the file",
        inspect_bytes(lambda: b"\x80\x04\x8e" + struct.pack("<Q", TERA) + b"abc."),
        line("inspect", "", UNREADABLE + "UnpicklingError: the pickle reads 1,000,000,000,000 bytes where 4 remain in the file)"),
    ),
    Case(
        "bytearray8 beyond the file",
        inspect_bytes(lambda: b"\x80\x05\x96" + struct.pack("<Q", TERA) + b"abc."),
        line("inspect", "", UNREADABLE + "UnpicklingError: the pickle declares a bytearray of 1,000,000,000,000 bytes in a file of 15)"),
    ),
    Case(
        "str of nested references",
        inspect_object(_nested_text),
        line("inspect", "", UNREADABLE + "UnpicklingError: refused str() of a list)"),
    ),
    Case(
        "structured dtype",
        inspect_object(lambda: np.zeros(2, dtype=[("a", "f8"), ("b", "i4")])),
        line("inspect", "", UNREADABLE + "UnpicklingError: numpy dtype |V12: refused fields or a subarray; "
             "only plain numbers, strings, bytes and objects)"),
    ),
    Case(
        "code in the pickle",
        inspect_object(lambda: Declares(eval, "1 + 1")),
        line("inspect", "", "refused to load: the pickle names a global outside the allow-list, which could run code "
             "(expected only NumPy arrays, dtypes and scalars, torch tensors, lists, dicts, str and numbers, found global builtins.eval)"),
    ),
    Case(
        "truncated pickle",
        inspect_bytes(lambda: pickle.dumps(mmsa(), protocol=4)[:300]),
        line("inspect", "", UNREADABLE + "UnpicklingError: the pickle reads ") + r"[\d,]+ bytes where [\d,]+ remain in the file\)",
    ),
    Case(
        "pickle empty file",
        inspect_bytes(lambda: b""),
        line("inspect", "", UNREADABLE + "EOFError: the file ends before the pickle does)"),
    ),
    Case(
        "a CSV named .pkl",
        inspect_bytes(lambda: b"id,text,label,mode\n"),
        line("inspect", "", "refused to load: the pickle names a global outside the allow-list, which could run code "
             "(expected only NumPy arrays, dtypes and scalars, torch tensors, lists, dicts, str and numbers, found global d,text,label,mode.)"),
    ),
    Case(
        "pickle a directory",
        lambda folder: ["inspect", str(folder)],
        "msmix inspect: error: file {dir}: cannot read the file \\(expected an existing file, found a directory\\)",
    ),
]


@parametrize(CASES)
def test_case_fails_with_one_clear_line(case: Case, tmp_path: Path, capsys) -> None:
    check(case, tmp_path, capsys)
