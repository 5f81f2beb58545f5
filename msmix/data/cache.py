"""A small in-process cache of loaded data sets, so a sweep reads each file once.

Keyed by the source, the loading options and, for files, their size and modification time (an
edited file is read again). Cached data sets are shared: the Trainer never modifies one in place.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from msmix.data.dataset import Dataset

MAX_CACHED = 4

_cache: OrderedDict[str, Dataset] = OrderedDict()
_lock = threading.Lock()


def _key(source: str, options: dict[str, Any]) -> str:
    path = Path(source)
    stamp = [path.stat().st_size, path.stat().st_mtime_ns] if path.is_file() else None
    return json.dumps([source, stamp, options], sort_keys=True, default=str)


def load_data(source: str, **options: Any) -> Dataset:
    """``msmix.data.load(source, **options)``, remembering the last ``MAX_CACHED`` results."""
    from msmix.data.load import load

    key = _key(source, options)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    dataset = load(source, **options)
    with _lock:
        _cache[key] = dataset
        while len(_cache) > MAX_CACHED:
            _cache.popitem(last=False)
    return dataset


def clear_data_cache() -> None:
    """Forget every cached data set (frees their memory)."""
    with _lock:
        _cache.clear()
