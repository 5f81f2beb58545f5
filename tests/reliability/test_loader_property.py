"""Property: whatever a small valid MMSA file is mutated into, ``load`` returns a valid data set or
raises ``DataError``, never another exception (and never crashes the process).

Two kinds of mutation: of the pickle's bytes (flip, drop, insert, truncate; half of them at an
opcode's start, where they change the structure rather than a float) and of the dict before it is
pickled (drop a key; put None, a string, NaN or inf, a huge number, another dtype, shape or sample
count in its place). Runs are derandomized, so CI sees the same examples every time.
"""

from __future__ import annotations

import pickle
import pickletools
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from small_mmsa import SPLITS, small_mmsa

from msmix import MODALITIES
from msmix.data import DataError, Dataset, load

SMALL_DIMS = {"text": 4, "audio": 3, "vision": 2}
PROPERTY = settings(
    max_examples=200, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BASES = {
    "unaligned": small_mmsa(dims=SMALL_DIMS, seed=1),
    "aligned": small_mmsa(dims=SMALL_DIMS, frames=(3, 3, 3), lengths=False, seed=2),
}
KEYS = ("id", "raw_text", "text", "audio", "vision", "regression_labels", "audio_lengths", "vision_lengths",
        "regression_labels_T", "text_bert")


def _copy(data: dict) -> dict:
    return {split: dict(d) for split, d in data.items()}


def _check_valid(ds: Dataset) -> None:
    """What every loaded data set holds, whatever its file was."""
    for split in SPLITS:
        part = getattr(ds, split)
        n = len(part)
        assert n >= 1 and len(part.ids) == n and len(part.raw_text) == n
        assert torch.isfinite(part.labels).all()
        for m in MODALITIES:
            x = getattr(part, m)
            assert x.ndim == 3 and x.shape[0] == n and x.shape[1] >= 1 and x.shape[2] == ds.spec.dims[m]
            assert torch.isfinite(x).all()
        for m, lengths in part.lengths.items():
            assert lengths.shape == (n,) and int(lengths.min()) >= 0 and int(lengths.max()) <= getattr(part, m).shape[1]


OPTIONS = st.fixed_dictionaries(
    {"kind": st.sampled_from(["custom", None]), "standardize": st.booleans(), "time_average": st.booleans(), "strict": st.booleans()}
)
"""Loading options; kind None infers it (and refuses these small feature sizes, unless a mutation adds a config)."""


def _load_or_data_error(path: Path, options: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = load(path, **options)
        except DataError:
            return
    _check_valid(ds)


@st.composite
def _byte_mutations(draw: st.DrawFn) -> bytes:
    base = BASES[draw(st.sampled_from(sorted(BASES)))]
    data = bytearray(pickle.dumps(base, protocol=draw(st.sampled_from([0, 2, 4, 5]))))
    starts = [pos for _, _, pos in pickletools.genops(bytes(data))]
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at_opcode = draw(st.booleans())
        pos = draw(st.sampled_from(starts)) if at_opcode else draw(st.integers(0, len(data) - 1))
        pos = min(pos, len(data) - 1)
        action = draw(st.sampled_from(["flip", "set", "drop", "insert", "truncate"]))
        if action == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif action == "set":
            data[pos] = draw(st.integers(0, 255))
        elif action == "drop":
            del data[pos : pos + draw(st.integers(1, 8))]
        elif action == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[pos:]
    return bytes(data)


_ODD_VALUES = st.one_of(
    st.none(),
    st.text(max_size=5),
    st.binary(max_size=5),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.one_of(st.none(), st.floats(), st.text(max_size=2), st.integers()), max_size=5),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _reshaped(value: object, draw: st.DrawFn) -> object:
    """``value`` as an array changed in dtype, rank, sample count, frame count or content."""
    try:
        x = np.asarray(value)
    except ValueError:  # a ragged list
        return value
    change = draw(st.sampled_from(["dtype", "rank", "samples", "frames", "nonfinite", "huge", "empty", "negative"]))
    if change == "dtype":
        kind = draw(st.sampled_from(["int8", "int64", "uint8", "float16", "float64", "bool", "complex64", "object", "U3"]))
        try:
            return x.astype(kind)
        except (TypeError, ValueError, OverflowError):
            return x
    if x.ndim == 0:
        return x
    if change == "rank":
        return x.reshape(-1) if x.ndim > 1 else x[:, None, None]
    if change == "samples":
        return x[: draw(st.integers(0, max(len(x) - 1, 0)))]
    if change == "frames":
        return x[:, : draw(st.integers(0, x.shape[1]))] if x.ndim >= 2 else x
    if change == "empty":
        return x[:0]
    if x.dtype.kind not in "fiu" or not x.size:
        return x
    x = x.astype(np.float64) if change != "negative" else x.copy()
    flat = x.reshape(-1)
    value = {"nonfinite": draw(st.sampled_from([np.nan, np.inf, -np.inf])), "huge": 3e300, "negative": -5}[change]
    flat[draw(st.integers(0, flat.size - 1))] = value
    return x


@st.composite
def _dict_mutations(draw: st.DrawFn) -> dict:
    data = _copy(BASES[draw(st.sampled_from(sorted(BASES)))])
    for _ in range(draw(st.integers(1, 3))):
        split = draw(st.sampled_from(SPLITS))
        key = draw(st.sampled_from(KEYS))
        action = draw(st.sampled_from(["drop", "odd", "reshape", "reshape"]))
        if action == "drop":
            data[split].pop(key, None)
        elif action == "odd" or key not in data[split]:
            data[split][key] = draw(_ODD_VALUES)
        else:
            data[split][key] = _reshaped(data[split][key], draw)
    if draw(st.integers(0, 4)) == 0:
        data[draw(st.sampled_from(SPLITS))] = draw(st.one_of(st.none(), st.lists(st.integers(), max_size=2), st.just({})))
    return data


@pytest.mark.parametrize("name", sorted(BASES))
def test_the_unmutated_files_load(name: str, tmp_path: Path) -> None:
    path = tmp_path / "data.pkl"
    path.write_bytes(pickle.dumps(BASES[name], protocol=4))
    _check_valid(load(path, kind="custom"))


@PROPERTY
@given(content=_byte_mutations(), options=OPTIONS)
def test_mutated_bytes_load_or_raise_a_data_error(content: bytes, options: dict, tmp_path: Path) -> None:
    path = tmp_path / "data.pkl"
    path.write_bytes(content)
    _load_or_data_error(path, options)


@PROPERTY
@given(data=_dict_mutations(), options=OPTIONS)
def test_mutated_structure_loads_or_raises_a_data_error(data: dict, options: dict, tmp_path: Path) -> None:
    path = tmp_path / "data.pkl"
    path.write_bytes(pickle.dumps(data, protocol=4))
    _load_or_data_error(path, options)
