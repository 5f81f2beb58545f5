"""Read MMSA feature pickles (MOSI/MOSEI ``aligned_50`` / ``unaligned_50``, CH-SIMS ``unaligned_39``,
MMSA-FET output) into a ``Dataset`` of device-resident splits.

The steps, in order: unpickle with an allow-list; check every split and key; settle the kind and
label range; find the padding side; set non-finite values to 0 (counted) or refuse them
(``strict``); move valid frames to the front; optionally time-average audio and vision and
standardise per feature with train statistics; convert to tensors on ``device``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch

from msmix import MODALITIES
from msmix.data.cleaning import clean_nonfinite
from msmix.data.dataset import Dataset, Split
from msmix.data.errors import DataError, DataWarning
from msmix.data.kinds import KNOWN_KINDS, infer_kind, kind_notes, label_range_from_labels
from msmix.data.padding import PADDINGS, detect_padding, left_to_right_padding, zeroed_tail_share
from msmix.data.safe_pickle import safe_load
from msmix.data.spec import KINDS, DataSpec
from msmix.data.standardize import apply_standardization, fit_standardization
from msmix.data.time_average import time_average as average_over_time
from msmix.data.toy import TOY_NAME, is_toy
from msmix.data.validate import RawSplit, check_label_range, read_splits

Standardize = Union[bool, Sequence[str], Mapping[str, Mapping[str, Sequence[float]]], None]

_DEFAULT_STANDARDIZED = ("audio", "vision")


def _resolve_dtype(dtype: torch.dtype | str) -> torch.dtype:
    resolved = getattr(torch, dtype, None) if isinstance(dtype, str) else dtype
    if not isinstance(resolved, torch.dtype) or not resolved.is_floating_point:
        raise ValueError(f"dtype must be a floating torch dtype such as torch.float32, got {dtype!r}")
    return resolved


def _settle_kind(kind: str | None, data: Mapping, dims: dict[str, int], path: str) -> tuple[str, list[str]]:
    """The kind (given or inferred) and notes about feature sizes that differ from that data set's."""
    if kind is None:
        return infer_kind(dims, "config" in data, path)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS} or None, got {kind!r}")
    return kind, kind_notes(kind, dims)


def _settle_label_range(kind: str, label_range: float | None, splits: dict[str, RawSplit]) -> float:
    if label_range is not None:
        if not label_range > 0:
            raise ValueError(f"label_range must be positive, got {label_range!r}")
        return float(label_range)
    if kind in KNOWN_KINDS:
        return KNOWN_KINDS[kind].label_range
    every = [s.labels for s in splits.values()] + [y for s in splits.values() for y in s.modality_labels.values()]
    return label_range_from_labels(np.concatenate(every))


def missing_modalities(splits: dict[str, RawSplit]) -> tuple[str, ...]:
    """The modalities no sample of any split holds: lengths given and every one 0."""
    return tuple(
        m for m in splits["train"].lengths
        if all(m in s.lengths and not s.lengths[m].any() for s in splits.values())
    )


def _file_padding(
    padding: str, splits: dict[str, RawSplit], missing: tuple[str, ...], notes: list[str]
) -> dict[str, str]:
    """The padding side of each modality that has lengths: as given, or detected (``"auto"``);
    a ``missing`` modality is all padding, so its side does not matter (``"right"``)."""
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
    sides: dict[str, str] = {}
    for m in splits["train"].lengths:
        if m in missing:
            sides[m] = "right"
            continue
        if padding != "auto":
            sides[m] = padding
            continue
        found = detect_padding((s.features[m], s.lengths[m]) for s in splits.values())
        if found is None:
            found = "right"
            message = (
                f"cannot tell which side of the {m} sequences is padding (no sequence has all-zero "
                "frames on one side only); assuming valid frames come first (padding='right')"
            )
            warnings.warn(message, DataWarning, stacklevel=2)
            notes.append(message)
        sides[m] = found
    return sides


ZEROED_TEXT_SHARE = 0.5
"""Above this share of sentences ending in all-zero frames, the text padding counts as zeroed."""


def _check_text_padding(train: RawSplit, path: str, notes: list[str], synthetic: bool) -> None:
    """Warn when most transcripts end in all-zero frames: TFN's and LMF's text LSTM reads every
    step and keeps its last state, which the zeros can wash out (the model then predicts a constant).
    The synthetic demo set is zero-padded by design (its text signal is strong enough to survive
    it): there it is a note, shown by ``msmix inspect``, not a warning on every load."""
    share = zeroed_tail_share(train.features["text"])
    if share <= ZEROED_TEXT_SHARE:
        return
    message = (
        f"{share:.0%} of the train transcripts end in all-zero text frames (padding zeroed): TFN's and LMF's "
        "text LSTM reads every step and keeps its last state, which the zeros after a sentence can wash "
        "out; write text states at every position as MMSA's BERT features have (msmix features does), "
        "or set model.use_text_lengths=true"
    )
    if not synthetic:
        warnings.warn(f"file {path}: {message}", DataWarning, stacklevel=3)
    notes.append(message)


def _standardization_stats(
    standardize: Standardize, splits: dict[str, RawSplit], missing: tuple[str, ...]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per-modality (mean, std): fitted on train's valid frames, or taken as given."""
    if not standardize:
        return {}
    modalities = _DEFAULT_STANDARDIZED if standardize is True else tuple(standardize)
    modalities = tuple(m for m in modalities if m not in missing)
    unknown = [m for m in modalities if m not in MODALITIES]
    if unknown:
        raise ValueError(f"standardize names unknown modality {unknown[0]!r}; expected some of {MODALITIES}")
    train = splits["train"]
    if not isinstance(standardize, Mapping):
        return {m: fit_standardization(train.features[m], train.lengths.get(m)) for m in modalities}
    given = {}
    for m, stats in standardize.items():
        dim = train.features[m].shape[2]
        mean, std = (np.asarray(stats.get(key, ()), np.float64) for key in ("mean", "std"))
        if mean.shape != (dim,) or std.shape != (dim,) or not (std > 0).all():
            raise ValueError(f"standardization statistics for {m!r} must be {dim} means and {dim} positive stds")
        given[m] = (mean, std)
    return given


def _to_split(name: str, raw: RawSplit, dtype: torch.dtype, device: torch.device | str) -> Split:
    def features(m: str) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(raw.features[m])).to(device=device, dtype=dtype)

    def labels(y: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(y.astype(np.float32)).to(device)

    return Split(
        name=name,
        text=features("text"),
        audio=features("audio"),
        vision=features("vision"),
        labels=labels(raw.labels),
        ids=raw.ids,
        raw_text=raw.raw_text,
        lengths={m: torch.from_numpy(n).to(device) for m, n in raw.lengths.items()},
        modality_labels={m: labels(y) for m, y in raw.modality_labels.items()},
        padding="right",
        text_bert=None if raw.text_bert is None else torch.from_numpy(raw.text_bert).to(device),
    )


def dataset_from_mmsa(
    data: Any,
    *,
    path: str = "<dict>",
    kind: str | None = None,
    label_range: float | None = None,
    time_average: bool = False,
    padding: str = "auto",
    standardize: Standardize = False,
    strict: bool = False,
    device: torch.device | str = "cpu",
    dtype: torch.dtype | str = torch.float32,
    copy: bool = True,
) -> Dataset:
    """Build a ``Dataset`` from an unpickled MMSA dict (see ``read_mmsa`` for the options).

    ``copy=False`` lets loading clean and re-pad the dict's arrays in place, for dicts nobody
    else holds (a freshly unpickled file, the generated demo set).
    """
    dtype = _resolve_dtype(dtype)
    splits = read_splits(data, path)
    train = splits["train"]
    dims = {m: int(train.features[m].shape[2]) for m in MODALITIES}
    file_seq_lens = {m: int(train.features[m].shape[1]) for m in MODALITIES}
    kind, notes = _settle_kind(kind, data, dims, path)
    label_range = _settle_label_range(kind, label_range, splits)
    check_label_range(splits, label_range, path)
    if kind == "sims" and not train.modality_labels:
        raise DataError(
            "CH-SIMS files carry per-modality labels", path=path, split="train", key="regression_labels_T",
            expected="regression_labels_T, _A and _V", found="none of them",
        )
    work = np.float64 if dtype == torch.float64 else np.float32
    for raw in splits.values():
        raw.features = {m: x.astype(work, copy=copy) for m, x in raw.features.items()}
    missing = missing_modalities(splits)
    if missing:
        notes.append(f"no sample holds {' or '.join(missing)} (every length is 0): marked missing")
    synthetic = is_toy([t for raw in splits.values() for t in raw.raw_text])
    _check_text_padding(train, path, notes, synthetic)
    sides = _file_padding(padding, splits, missing, notes)  # before cleaning: non-finite values mark data
    cleaned: dict[str, int] = {}
    for name, raw in splits.items():
        for m in MODALITIES:
            cleaned[f"{name}/{m}"] = clean_nonfinite(raw.features[m], strict=strict, path=path, split=name, key=m)
        for m, side in sides.items():
            if side == "left":
                left_to_right_padding(raw.features[m], raw.lengths[m])
    seq_lens = dict(file_seq_lens)
    if time_average:
        for raw in splits.values():
            for m in ("audio", "vision"):
                raw.features[m] = average_over_time(raw.features[m], raw.lengths.pop(m, None))
        seq_lens.update(audio=1, vision=1)
    stats = _standardization_stats(standardize, splits, missing)
    for raw in splits.values():
        for m, (mean, std) in stats.items():
            apply_standardization(raw.features[m], raw.lengths.get(m), mean, std)
    aligned = not train.lengths and not time_average and len(set(file_seq_lens.values())) == 1
    layout = "aligned" if aligned else "unaligned"
    name = f"custom ({Path(path).name})" if kind == "custom" else f"{kind} {layout}_{file_seq_lens['text']}"
    spec = DataSpec(
        kind=kind,
        dims=dims,
        seq_lens=seq_lens,
        label_range=label_range,
        aligned=aligned,
        name=TOY_NAME if synthetic else name,
        synthetic=synthetic,
        missing=missing,
        extra={
            "file_seq_lens": file_seq_lens,
            "file_padding": sides,
            "time_average": bool(time_average),
            "standardization": {m: {"mean": mu.tolist(), "std": sd.tolist()} for m, (mu, sd) in stats.items()},
        },
    )
    built = {name: _to_split(name, raw, dtype, device) for name, raw in splits.items()}
    return Dataset(**built, spec=spec, source=path, cleaned=cleaned, notes=notes)


def read_mmsa(path: str | Path, **options: Any) -> Dataset:
    """Load an MMSA feature pickle without running code from it.

    Args:
        path: the ``.pkl`` file.
        kind: ``mosi``, ``mosei``, ``sims`` or ``custom``; None infers it from the audio/vision
            dims (MOSI 5/20, MOSEI 74/35, CH-SIMS 33/709) or, for MMSA-FET output (a ``config``
            key), takes ``custom``.
        label_range: labels lie in [-r, r]; defaults to the data set's (3 or 1) or, for
            ``custom``, the smallest of 1 and 3 that holds every label (else max |label|).
        time_average: average audio and vision over their valid frames (MMSA's
            ``need_normalized``), giving (N, 1, D) and no lengths.
        padding: where the file's padding frames sit: ``"right"`` (valid frames first),
            ``"left"``, or ``"auto"`` to detect it per modality (falls back to ``"right"`` with a
            ``DataWarning`` when the data cannot tell). Loaded splits are always right-padded.
        standardize: per-feature standardisation on valid frames, fitted on train: ``True`` for
            audio and vision (BERT text features are left as they are), a list of modalities, or
            statistics to apply (``spec.extra["standardization"]`` of an earlier load). With
            ``time_average`` the statistics are those of the averaged features.
        strict: raise on non-finite feature values instead of setting them to 0.
        device, dtype: where and in which float type the features live (labels stay float32).
    """
    path = str(path)
    return dataset_from_mmsa(safe_load(path), path=path, copy=False, **options)

