"""Torch tensors in data pickles (MMSA-FET's ``return_type="pt"``), checked before they are made.

Pickling a tensor writes ``_rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
hooks)``, its storage as ``_load_from_bytes(bytes)``: bytes in torch's legacy save layout, whose
header declares each storage's element count before the data follow. A hostile file can declare
a storage of 10^12 elements in a few bytes, or a stride-0 tensor of 9 x 10^5 x 10^5 elements
over one float. ``load_storage`` reads the declared counts first (with a restricted unpickler that
makes nothing) and refuses any beyond the bytes that hold them; ``rebuild_tensor`` claims a
tensor's elements from the ``SizeBudget`` and refuses hooks and metadata, which data never carry.
"""

from __future__ import annotations

import io
import math
import operator
import pickle
import warnings
from collections.abc import Mapping
from typing import Any, Callable

import torch
from torch._utils import _rebuild_tensor_v2

from msmix.data.errors import DataError
from msmix.data.pickle_limits import BoundedUnpickler, SizeBudget, human_size, sizes_of

_ZIP_MAGIC = b"PK\x03\x04"
_HEADER_PICKLES = 4
"""The legacy layout opens with a magic number, a protocol version, system facts and the storages' ids."""


def _element_size(storage_type: Any) -> int:
    """Bytes per element of a legacy storage class such as ``torch.FloatStorage``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # TypedStorage is deprecated (for direct use)
        return torch._utils._element_size(storage_type.dtype)


class _StorageKind:
    """Stands for a storage class in a storage header: it says its element size and makes nothing."""

    def __init__(self, element_size: int) -> None:
        self.element_size = element_size


class _StorageHeaderReader(BoundedUnpickler):
    """Reads the pickles that open torch's legacy layout and adds up the bytes their storages declare."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file)
        self.declared = 0

    def find_class(self, module: str, name: str) -> Any:
        found = getattr(torch, name, None) if module == "torch" and name.endswith("Storage") else None
        if not (isinstance(found, type) and issubclass(found, torch.storage.TypedStorage) and found is not torch.storage.TypedStorage):
            raise pickle.UnpicklingError(f"refused global {module}.{name} in a torch storage")
        return _StorageKind(_element_size(found))

    def persistent_load(self, pid: Any) -> None:
        if not (isinstance(pid, tuple) and len(pid) == 6 and isinstance(pid[1], _StorageKind)):
            raise pickle.UnpicklingError(f"unexpected storage id {pid!r:.80}")
        try:
            numel = operator.index(pid[4])
        except TypeError:
            raise pickle.UnpicklingError(f"a storage's element count must be an integer, found {pid[4]!r:.40}") from None
        self.declared += max(numel, 0) * pid[1].element_size


def _declared_storage_bytes(data: bytes) -> int:
    """The bytes the storages in ``data`` (torch's legacy save layout) declare."""
    reader = _StorageHeaderReader(io.BytesIO(data))
    for _ in range(_HEADER_PICKLES):
        reader.load()
    return reader.declared


def load_storage(budget: SizeBudget) -> Callable[[bytes], Any]:
    """``torch.storage._load_from_bytes`` for storages whose declared size their bytes hold."""

    def _load_from_bytes(data: Any) -> Any:
        if not isinstance(data, (bytes, bytearray)) or bytes(data[:4]) == _ZIP_MAGIC:
            raise pickle.UnpicklingError("a torch storage must be bytes in the layout pickling a tensor writes")
        declared = _declared_storage_bytes(bytes(data))
        if declared > len(data):
            raise DataError(
                f"refused to load: a torch storage declares {human_size(declared)} in {human_size(len(data))} of data",
                path=budget.path, expected="storages no larger than the bytes that hold them", found=f"{declared:,} bytes",
            )
        budget.claim(declared, "a torch storage")
        return torch.load(io.BytesIO(bytes(data)), weights_only=True, map_location="cpu")

    return _load_from_bytes


def rebuild_tensor(budget: SizeBudget) -> Callable[..., torch.Tensor]:
    """``torch._utils._rebuild_tensor_v2`` for plain tensors whose element count is claimed first."""

    def _rebuild(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any = False, hooks: Any = None,
                 metadata: Any = None) -> torch.Tensor:
        if not isinstance(storage, torch.storage.TypedStorage):
            raise pickle.UnpicklingError(f"a tensor's storage must be a torch storage, found a {type(storage).__name__}")
        shape, strides = sizes_of(size, "a tensor's size"), sizes_of(stride, "a tensor's stride")
        (start,) = sizes_of((offset,), "a tensor's offset")
        if len(shape) != len(strides) or not isinstance(requires_grad, bool) or metadata:
            raise pickle.UnpicklingError("a tensor must have one stride per dimension, a bool requires_grad and no metadata")
        if hooks is not None and not (isinstance(hooks, Mapping) and not hooks):
            raise pickle.UnpicklingError("a tensor in a data file must carry no backward hooks")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # TypedStorage is deprecated (for direct use)
            element_size = storage.element_size()
        budget.claim(math.prod(shape) * element_size, f"a torch tensor of size {shape}")
        return _rebuild_tensor_v2(storage, start, shape, strides, requires_grad, hooks)

    return _rebuild
