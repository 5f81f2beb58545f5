"""Check an unpickled MMSA dict and turn each split into plain NumPy arrays.

Every problem raises a ``DataError`` that names the file, split and key, what was expected and
what was found: a missing split or key, an empty split, non-numeric data, a wrong rank, sequences
without frames or features, sample counts that differ across keys, ids that are not a list of
ids, lengths beyond the padded axis, shapes that differ across splits, labels that are not finite,
beyond float32's range or outside the data set's range.
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


FLOAT32_MAX = float(np.finfo(np.float32).max)
"""Features and labels become float32 tensors: larger magnitudes would turn into infinities."""


def _tensor_as_numpy(value: torch.Tensor, where: _Where, key: str) -> np.ndarray:
    """A torch tensor's values as NumPy; bfloat16 and other floats NumPy lacks widen to float32."""
    tensor = value.detach().cpu()
    if tensor.is_floating_point() and tensor.dtype not in (torch.float16, torch.float32, torch.float64):
        tensor = tensor.float()
    try:
        return tensor.numpy()
    except (TypeError, RuntimeError):
        raise where.error("not a plain tensor", key, "a dense numeric tensor", f"{tensor.dtype}, layout {tensor.layout}") from None


def _from_objects(array: np.ndarray, where: _Where, key: str) -> np.ndarray:
    """An object array of Python numbers as float64; strings, None and containers are refused."""
    odd = [x for x in array.flat if not _is_real(x)][:1]
    if odd:
        raise where.error("not numeric", key, "a numeric array", f"a {type(odd[0]).__name__} value among the numbers")
    try:
        return array.astype(np.float64)
    except OverflowError:
        bits = max(int(x).bit_length() for x in array.flat if isinstance(x, (int, np.integer)))
        raise where.error(
            "a value is too large for a float", key, f"numbers within float32's range (|x| <= {FLOAT32_MAX:.3g})",
            f"an integer of about {int(bits * 0.30103) + 1} digits",
        ) from None


def _is_real(x: Any) -> bool:
    """Whether ``x`` is one real number (not a bool, a complex number, a string or a container)."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _numeric(value: Any, where: _Where, key: str) -> np.ndarray:
    """``value`` as a numeric ndarray (NumPy arrays, torch tensors and nested lists are accepted)."""
    if isinstance(value, torch.Tensor):
        value = _tensor_as_numpy(value, where, key)
    try:
        array = np.asarray(value)
    except (ValueError, OverflowError) as e:  # ragged nested lists
        raise where.error("not an array", key, "a numeric array", f"{type(value).__name__} ({e})") from None
    if array.dtype.kind == "O" and array.size:
        return _from_objects(array, where, key)
    if array.dtype.kind not in "fiu":
        raise where.error("not numeric", key, "a numeric array", f"dtype {array.dtype}")
    return array


def _text_item(x: Any, strict: bool) -> str | None:
    """One id or transcript as text; with ``strict``, None when it is no single text value (a list, None, ...)."""
    if isinstance(x, (bytes, np.bytes_)):
        return bytes(x).decode("utf-8", "replace")
    if not strict or (isinstance(x, (str, int, np.integer)) and not isinstance(x, bool)):
        return str(x)
    return None


def _strings(value: Any, n: int, where: _Where, key: str, *, strict: bool) -> list[str]:
    """``n`` ids or transcripts: a list, tuple or 1-D array, one per sample.

    A lone string is refused rather than read as one id per character. With ``strict`` (ids) every
    item must be a string or an integer; transcripts take any value's text.
    """
    expected = f"a list or 1-D array of {n} strings, one per sample"
    if isinstance(value, np.ndarray) and value.ndim != 1:
        raise where.error("not a list of strings", key, expected, f"an array of shape {_shape(value)}")
    if not isinstance(value, (list, tuple, np.ndarray)):
        length = f" of length {len(value)}" if isinstance(value, (str, bytes)) else ""
        raise where.error("not a list of strings", key, expected, "None" if value is None else f"a {type(value).__name__}{length}")
    items = value.tolist() if isinstance(value, np.ndarray) else list(value)
    if len(items) != n:
        raise where.error("sample count differs", key, f"{n} samples, as in 'regression_labels'", f"{len(items)}")
    texts = [_text_item(x, strict) for x in items]
    if None in texts:
        i = texts.index(None)
        raise where.error("not a list of strings", key, expected, f"a {type(items[i]).__name__} at position {i}")
    return texts


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
    huge = np.abs(labels) > FLOAT32_MAX
    if huge.any():
        raise where.error(
            "labels too large", key, f"labels within float32's range (|y| <= {FLOAT32_MAX:.3g})", f"{labels[huge][0]:g}"
        )
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


def _features(value: Any, n: int, where: _Where, key: str) -> np.ndarray:
    """One modality's (N, T, D) features, with at least one frame and one feature per frame.

    A modality no sample holds keeps one all-zero frame and lengths of 0 (it is then marked missing).
    """
    x = _numeric(value, where, key)
    if x.ndim != 3:
        raise where.error("wrong rank", key, "shape (N, T, D)", f"shape {_shape(x)}")
    if x.shape[0] != n:
        raise where.error("sample count differs", key, f"{n} samples, as in 'regression_labels'", str(x.shape[0]))
    if x.shape[1] == 0:
        raise where.error(
            "no frames", key,
            "at least one frame (T >= 1; a modality no sample holds keeps one all-zero frame with every length 0)",
            f"shape {_shape(x)}",
        )
    if x.shape[2] == 0:
        raise where.error("no features", key, "at least one feature per frame (D >= 1)", f"shape {_shape(x)}")
    return x


def _split(raw: Any, where: _Where) -> RawSplit:
    if not isinstance(raw, Mapping):
        raise where.error("a split must be a dict", "", "a dict of arrays", type(raw).__name__)
    for key in REQUIRED_KEYS:
        if key not in raw:
            raise where.error("missing key", key, f"keys {', '.join(REQUIRED_KEYS)}", f"keys {', '.join(map(str, raw))}")
    labels = _labels(raw["regression_labels"], None, where, "regression_labels")
    n = labels.shape[0]
    if n == 0:
        raise where.error("empty split", "regression_labels", "at least one sample", "0 samples")
    features = {m: _features(raw[m], n, where, m) for m in MODALITIES}
    lengths = {
        m: _lengths(raw[key], n, features[m].shape[1], where, key) for m, key in LENGTH_KEYS.items() if key in raw
    }
    modality_labels = {
        m: _labels(raw[key], n, where, key) for m, key in MODALITY_LABEL_KEYS.items() if key in raw
    }
    ids = _strings(raw["id"], n, where, "id", strict=True)
    raw_text = _strings(raw["raw_text"], n, where, "raw_text", strict=False) if "raw_text" in raw else [""] * n
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
