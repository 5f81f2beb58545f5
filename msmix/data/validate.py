"""Check an unpickled MMSA dict and turn each split into plain NumPy arrays.

Every problem raises a ``DataError`` that names the file, split and key, what was expected and
what was found: a missing split or key, non-numeric data, a wrong rank, sample counts that differ
across keys, lengths beyond the padded axis, shapes that differ across splits, labels that are
not finite or outside the data set's range.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from msmix import MODALITIES
from msmix.data.dataset import SPLITS
from msmix.data.errors import DataError, DataWarning

REQUIRED_KEYS: tuple[str, ...] = ("id", "text", "audio", "vision", "regression_labels")
LENGTH_KEYS: dict[str, str] = {"audio": "audio_lengths", "vision": "vision_lengths"}
MODALITY_LABEL_KEYS: dict[str, str] = {m: f"regression_labels_{m}" for m in ("T", "A", "V")}


@dataclass
class RawSplit:
    """One split as checked NumPy arrays: features (N, T, D), labels (N,) float64, lengths (N,) int64."""

    features: dict[str, np.ndarray]
    labels: np.ndarray
    ids: list[str]
    raw_text: list[str]
    lengths: dict[str, np.ndarray] = field(default_factory=dict)
    modality_labels: dict[str, np.ndarray] = field(default_factory=dict)
    text_bert: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass
class _Where:
    """The file and split a check is about, so every error names them."""

    path: str
    split: str

    def error(self, message: str, key: str, expected: str, found: str) -> DataError:
        return DataError(message, path=self.path, split=self.split, key=key, expected=expected, found=found)


def _shape(a: np.ndarray) -> str:
    return "(" + ", ".join(str(s) for s in a.shape) + ")"


def _numeric(value: Any, where: _Where, key: str) -> np.ndarray:
    """``value`` as a numeric ndarray (NumPy arrays, torch tensors and nested lists are accepted)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except ValueError as e:  # ragged nested lists
        raise where.error("not an array", key, "a numeric array", f"{type(value).__name__} ({e})") from None
    if array.dtype.kind not in "fiu":
        if array.dtype.kind == "O":
            try:
                return array.astype(np.float64)
            except (TypeError, ValueError):
                pass
        raise where.error("not numeric", key, "a numeric array", f"dtype {array.dtype}")
    return array


def _strings(value: Any, n: int, where: _Where, key: str) -> list[str]:
    items = value.tolist() if isinstance(value, np.ndarray) else list(value)
    if len(items) != n:
        raise where.error("sample count differs", key, f"{n} samples, as in 'regression_labels'", f"{len(items)}")
    return [x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x) for x in items]


def _labels(value: Any, n: int | None, where: _Where, key: str) -> np.ndarray:
    labels = _numeric(value, where, key)
    if labels.ndim == 2 and labels.shape[1] == 1:  # (N, 1), which MMSA also reads
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise where.error("wrong rank", key, "shape (N,) or (N, 1)", f"shape {_shape(labels)}")
    if n is not None and labels.shape[0] != n:
        raise where.error("sample count differs", key, f"{n} samples, as in 'regression_labels'", str(labels.shape[0]))
    bad = ~np.isfinite(labels)
    if bad.any():
        raise where.error("labels must be finite", key, "finite labels", f"{int(bad.sum())} non-finite")
    return labels.astype(np.float64)


def _lengths(value: Any, n: int, max_len: int, where: _Where, key: str) -> np.ndarray:
    lengths = _numeric(value, where, key)
    if lengths.ndim != 1:
        raise where.error("wrong rank", key, "shape (N,)", f"shape {_shape(lengths)}")
    if lengths.shape[0] != n:
        raise where.error("sample count differs", key, f"{n} samples, as in 'regression_labels'", str(lengths.shape[0]))
    if lengths.dtype.kind == "f" and not np.array_equal(lengths, np.round(lengths)):
        raise where.error("lengths must be whole numbers", key, "integer frame counts", f"e.g. {lengths[lengths != np.round(lengths)][0]}")
    lengths = lengths.astype(np.int64)
    if (lengths < 0).any() or (lengths > max_len).any():
        worst = int(lengths.max()) if (lengths > max_len).any() else int(lengths.min())
        raise where.error(
            "length outside the padded axis", key, f"lengths in [0, {max_len}] (the padded axis)", f"length {worst}"
        )
    return lengths


def _text_bert(value: Any, n: int, where: _Where) -> np.ndarray:
    """MMSA's ``text_bert``: (N, 3, T) token ids, attention mask and segment ids, as int64."""
    tokens = _numeric(value, where, "text_bert")
    if tokens.ndim != 3 or tokens.shape[1] != 3:
        raise where.error("wrong shape", "text_bert", "shape (N, 3, T): token ids, attention mask, segment ids", f"shape {_shape(tokens)}")
    if tokens.shape[0] != n:
        raise where.error("sample count differs", "text_bert", f"{n} samples, as in 'regression_labels'", str(tokens.shape[0]))
    if tokens.dtype.kind == "f" and not (np.isfinite(tokens).all() and np.array_equal(tokens, np.round(tokens))):
        raise where.error("token ids must be whole numbers", "text_bert", "integer ids", "fractional or non-finite values")
    if (tokens < 0).any():
        raise where.error("token ids must not be negative", "text_bert", "ids >= 0", f"{int(tokens.min())}")
    mask = tokens[:, 1]
    if not np.isin(mask, (0, 1)).all():
        raise where.error("attention mask must be 0 or 1", "text_bert", "row 1 of axis 1 holding 0 / 1", "other values")
    return tokens.astype(np.int64)


def _split(raw: Any, where: _Where) -> RawSplit:
    if not isinstance(raw, Mapping):
        raise where.error("a split must be a dict", "", "a dict of arrays", type(raw).__name__)
    for key in REQUIRED_KEYS:
        if key not in raw:
            raise where.error("missing key", key, f"keys {', '.join(REQUIRED_KEYS)}", f"keys {', '.join(map(str, raw))}")
    labels = _labels(raw["regression_labels"], None, where, "regression_labels")
    n = labels.shape[0]
    features: dict[str, np.ndarray] = {}
    for m in MODALITIES:
        x = _numeric(raw[m], where, m)
        if x.ndim != 3:
            raise where.error("wrong rank", m, "shape (N, T, D)", f"shape {_shape(x)}")
        if x.shape[0] != n:
            raise where.error("sample count differs", m, f"{n} samples, as in 'regression_labels'", str(x.shape[0]))
        features[m] = x
    lengths = {
        m: _lengths(raw[key], n, features[m].shape[1], where, key) for m, key in LENGTH_KEYS.items() if key in raw
    }
    modality_labels = {
        m: _labels(raw[key], n, where, key) for m, key in MODALITY_LABEL_KEYS.items() if key in raw
    }
    ids = _strings(raw["id"], n, where, "id")
    raw_text = _strings(raw["raw_text"], n, where, "raw_text") if "raw_text" in raw else [""] * n
    text_bert = _text_bert(raw["text_bert"], n, where) if raw.get("text_bert") is not None else None
    return RawSplit(features, labels, ids, raw_text, lengths, modality_labels, text_bert)


def read_splits(data: Any, path: str) -> dict[str, RawSplit]:
    """Check an unpickled MMSA dict and return its three splits as ``RawSplit`` s.

    Feature arrays are returned as found (not copied when already NumPy arrays); shapes past the
    sample axis must agree across splits.
    """
    if not isinstance(data, Mapping):
        raise DataError("not an MMSA feature dict", path=path, expected="a dict with train, valid, test", found=type(data).__name__)
    splits: dict[str, RawSplit] = {}
    for name in SPLITS:
        if name not in data:
            raise DataError(
                "missing split", path=path, split=name, expected="splits train, valid, test", found=f"keys {', '.join(map(str, data))}"
            )
        splits[name] = _split(data[name], _Where(path, name))
    train = splits["train"]
    for name, split in splits.items():
        where = _Where(path, name)
        for m in MODALITIES:
            if split.features[m].shape[1:] != train.features[m].shape[1:]:
                expected = "(N, " + ", ".join(map(str, train.features[m].shape[1:])) + ") as in train"
                raise where.error("shape differs from train", m, expected, _shape(split.features[m]))
        for here, there, keys in (
            (split.lengths, train.lengths, LENGTH_KEYS),
            (split.modality_labels, train.modality_labels, MODALITY_LABEL_KEYS),
        ):
            for m in sorted(set(here) ^ set(there)):
                in_train = "present" if m in there else "absent"
                in_split = "present" if m in here else "absent"
                raise where.error("key differs from train", keys[m], f"{in_train}, as in train", in_split)
    _settle_text_bert(splits, path)
    return splits


def _settle_text_bert(splits: dict[str, RawSplit], path: str) -> None:
    """Keep ``text_bert`` only where every split has it (one token length); otherwise drop it, saying so."""
    present = [name for name, split in splits.items() if split.text_bert is not None]
    if not present:
        return
    if len(present) < len(splits):
        warnings.warn(
            f"file {path}: key 'text_bert' is in split(s) {', '.join(present)} only; it is ignored "
            "(backbones that fine-tune a text encoder need it in train, valid and test)",
            DataWarning,
            stacklevel=4,
        )
        for split in splits.values():
            split.text_bert = None
        return
    steps = splits["train"].text_bert.shape[2]
    for name, split in splits.items():
        if split.text_bert.shape[2] != steps:
            raise DataError(
                "shape differs from train", path=path, split=name, key="text_bert",
                expected=f"(N, 3, {steps}) as in train", found=_shape(split.text_bert),
            )


def check_label_range(splits: dict[str, RawSplit], label_range: float, path: str) -> None:
    """Raise when a label (overall or per modality) lies outside ``[-label_range, label_range]``."""
    bound = label_range * (1 + 1e-6)
    for name, split in splits.items():
        all_labels = {"regression_labels": split.labels} | {
            MODALITY_LABEL_KEYS[m]: y for m, y in split.modality_labels.items()
        }
        for key, y in all_labels.items():
            outside = np.abs(y) > bound
            if outside.any():
                i = int(np.argmax(outside))
                raise DataError(
                    f"{int(outside.sum())} label(s) outside the data set's range",
                    path=path, split=name, key=key,
                    expected=f"labels in [-{label_range:g}, {label_range:g}]",
                    found=f"{y[i]:g} (sample {split.ids[i]})",
                )
