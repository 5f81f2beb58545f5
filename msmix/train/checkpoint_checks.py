"""Checks of a checkpoint file before and after ``torch.load``, so a bad file fails with one clear line.

Before loading: the file is a zip archive written by ``torch.save`` and its pickle refers only to
what an msmix checkpoint holds (dicts, tensors and their storages). The pickle is read by an
unpickler that builds nothing it names, so neither code nor a huge allocation (``bytearray(10**12)``)
can run from it. After loading: no tensor declares more values than its stored data hold (a
stride-0 view of 9 x 10^10 values over one stored number would allocate them all when used),
the run's parts are present with the expected types, its weights are finite, and they have the
shapes of the model its settings describe (``check_weights_fit``, checked on a model built on
PyTorch's ``meta`` device, which allocates nothing).
"""

from __future__ import annotations

import io
import pickle
import re
import struct
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from msmix.train.errors import CheckpointError

ALLOWED_GLOBALS = frozenset({
    ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"),
})
"""The callables an msmix checkpoint's pickle names, besides torch's typed storages (``torch.FloatStorage`` ...)."""

_STORAGE_NAME = re.compile(r"[A-Z][A-Za-z0-9]*Storage")
RUN_PARTS = {"meta": dict, "epoch": int, "model": dict, "mixer": dict}
META_PARTS = {"backbone": str, "mixer": str, "model_config": dict, "mixer_config": dict, "spec": dict,
              "train_config": dict, "data_source": str}
RESUME_PARTS = {"optimizer": dict, "early_stopping": dict, "rng": dict, "history": list, "step": int,
                "train_seconds": (int, float)}


def check_archive(path: Path) -> None:
    """Refuse a file that is not a ``torch.save`` zip archive, or whose pickle names anything but tensors and dicts."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(64)
        if size == 0:
            raise CheckpointError(path, "the file is empty (expected a zip archive written by torch.save)")
        with zipfile.ZipFile(path) as archive:
            pickle_bytes = _pickle_of(path, archive)
    except CheckpointError:
        raise
    except OSError as err:
        raise CheckpointError(path, f"cannot be read: {err.strerror or err}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError, struct.error):
        if head.startswith(b"PK\x03\x04"):
            raise CheckpointError(
                path, f"the zip archive is truncated or damaged ({size} bytes, no readable directory)"
            ) from None
        raise CheckpointError(path, f"not a zip archive written by torch.save (found {_describe(head, size)})") from None
    for module, name in _globals_named(path, pickle_bytes):
        if (module, name) not in ALLOWED_GLOBALS and not (module == "torch" and _STORAGE_NAME.fullmatch(name)):
            raise CheckpointError(
                path, f"its pickle calls {module}.{name}, which an msmix checkpoint never does "
                "(it holds tensors and plain values only); refused without loading"
            )


def check_tensors(state: Any, path: Path) -> None:
    """Refuse a tensor that declares more values than its stored data hold (a view that would allocate on use)."""
    for where, tensor in _tensors(state, ""):
        stored = tensor.untyped_storage().nbytes() - tensor.storage_offset() * tensor.element_size()
        needed = tensor.numel() * tensor.element_size()
        if needed > max(stored, 0) or any(s < 0 for s in tensor.stride()):
            shape = " x ".join(str(n) for n in tensor.shape)
            raise CheckpointError(
                path, f"the tensor at {where} declares {shape} values over {max(stored, 0)} stored bytes "
                f"(expected a tensor backed by its own {needed} bytes)"
            )


def check_run_state(state: Mapping[str, Any], path: Path, resumable: bool = False) -> None:
    """The parts of a run checkpoint, with their types; finite weights. ``resumable``: last.pt's training state too."""
    _check_parts(state, RUN_PARTS | (RESUME_PARTS if resumable else {}), path, "")
    _check_parts(state["meta"], META_PARTS, path, "meta")
    for part in ("model", "mixer"):
        for name, value in state[part].items():
            if not isinstance(name, str) or not isinstance(value, Tensor):
                raise CheckpointError(path, f"{part} weight {name!r} is a {type(value).__name__} (expected a tensor)")
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                bad = int((~torch.isfinite(value)).sum())
                raise CheckpointError(
                    path, f"{part} weight {name!r} holds {bad} NaN or infinite values (expected finite weights; "
                    "the run diverged before this file was written)"
                )


def check_weights_fit(path: Path, part: str, expected: Mapping[str, Tensor], stored: Mapping[str, Tensor], model: str) -> None:
    """Refuse weights whose names or shapes differ from those of the ``model`` the checkpoint's settings describe."""
    missing = [k for k in expected if k not in stored]
    extra = [k for k in stored if k not in expected]
    if missing or extra:
        parts = [f"{len(missing)} missing (e.g. {missing[0]!r})" if missing else "",
                 f"{len(extra)} not of this model (e.g. {extra[0]!r})" if extra else ""]
        raise CheckpointError(path, f"its {part} weights do not fit {model}: " + ", ".join(p for p in parts if p))
    for name, tensor in expected.items():
        if tuple(stored[name].shape) != tuple(tensor.shape):
            raise CheckpointError(
                path, f"its {part} weight {name!r} is {_shape(stored[name])} in the file, but {model} "
                f"has {_shape(tensor)} there (its stored settings do not match its weights)"
            )


def _check_parts(state: Any, parts: Mapping[str, Any], path: Path, within: str) -> None:
    where = f"{within} " if within else ""
    if not isinstance(state, Mapping):
        raise CheckpointError(path, f"{within or 'the content'} is a {type(state).__name__} (expected a dict)")
    for key, kind in parts.items():
        if key not in state:
            raise CheckpointError(path, f"{where}has no {key!r} (expected the parts {sorted(parts)})")
        value = state[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise CheckpointError(path, f"{where}{key!r} is a {type(value).__name__} (expected {_kind_name(kind)})")


def _kind_name(kind: Any) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(f"a {k.__name__}" for k in kinds)


def _shape(tensor: Tensor) -> str:
    return " x ".join(str(n) for n in tensor.shape) or "a scalar"


def _describe(head: bytes, size: int) -> str:
    """A few words on what a file that is not a checkpoint looks like, from its first bytes."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:  # a character cut at the end of ``head`` still counts as text
        text = head[: err.start].decode("utf-8") if err.start >= len(head) - 3 else "\0"
    if all(c.isprintable() or c in "\t\r\n" for c in text):
        return f"{size} bytes of text"
    return f"{size} bytes of another format"


def _pickle_of(path: Path, archive: zipfile.ZipFile) -> bytes:
    """The bytes of the archive's ``data.pkl``. torch writes its records uncompressed and may leave
    their checksums out, so the record is read straight from its place in the file."""
    infos = [i for i in archive.infolist() if i.filename.endswith("data.pkl") and i.filename.count("/") <= 1]
    if len(infos) != 1:
        raise CheckpointError(path, "not a torch.save archive (expected one data.pkl in it)")
    info = infos[0]
    if info.compress_type != zipfile.ZIP_STORED:  # a compressed record could unpack to any size
        raise CheckpointError(path, "its data.pkl is compressed (expected it stored as torch.save stores it)")
    with path.open("rb") as f:
        f.seek(info.header_offset)
        header = f.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise CheckpointError(path, "the zip archive is damaged (a record's header is missing)")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        f.seek(info.header_offset + 30 + name_length + extra_length)
        data = f.read(info.compress_size)
    if len(data) != info.compress_size:
        raise CheckpointError(path, "the zip archive is truncated (its data.pkl is cut short)")
    return data


class _Stub:
    """What the listing unpickler makes of anything a pickle names: an inert object taking any state."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def append(self, value: Any) -> None:
        pass

    def extend(self, values: Any) -> None:
        pass


class _ListingUnpickler(pickle.Unpickler):
    """Reads a pickle's structure and records every global it names, without calling any."""

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.named: list[tuple[str, str]] = []

    def find_class(self, module: str, name: str) -> Any:
        self.named.append(("builtins" if module == "__builtin__" else module, name))  # protocol 2 spells it so
        return _Stub

    def persistent_load(self, pid: Any) -> Any:
        return None


def _globals_named(path: Path, data: bytes) -> list[tuple[str, str]]:
    reader = _ListingUnpickler(data)
    try:
        reader.load()
    except Exception as err:  # a damaged pickle: say so instead of listing half of it
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(path, f"its pickle (data.pkl) is damaged: {first}") from None
    return reader.named


def _tensors(value: Any, where: str) -> Iterator[tuple[str, Tensor]]:
    """Every tensor inside nested dicts, lists and tuples, with where it sits (iteratively: no recursion limit)."""
    pending = [(where, value)]
    while pending:
        here, item = pending.pop()
        if isinstance(item, Tensor):
            yield here, item
        elif isinstance(item, Mapping):
            pending.extend((f"{here}[{k!r}]", v) for k, v in item.items())
        elif isinstance(item, (list, tuple)):
            pending.extend((f"{here}[{i}]", v) for i, v in enumerate(item))
