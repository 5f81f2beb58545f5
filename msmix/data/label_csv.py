"""MMSA's raw-data ``label.csv``: transcripts, labels and folds of every clip.

Two layouts are read: MMSA's ``video_id,clip_id,text,label,...,mode`` (CH-SIMS adds
``label_T/A/V`` and ``annotation``, which are kept) and the ``id,text,label,mode`` variant, whose
``id`` is ``<video_id>_<clip_no>``. Both give the same columns first: ``id`` (spelt as MMSA
pickles spell it, ``"<video_id>$_$<clip_id>"``, so the table joins with a loaded split's ids),
``video_id``, ``clip_id``, ``text``, ``label`` (float) and ``split`` (train / valid / test; ``dev``
is valid).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from msmix.data.errors import DataError

COLUMNS = ("id", "video_id", "clip_id", "text", "label", "split")
MODE_TO_SPLIT = {"train": "train", "valid": "valid", "dev": "valid", "test": "test"}


def _ids(df: pd.DataFrame, path: str) -> tuple[pd.Series, pd.Series]:
    """(video_id, clip_id) from either layout."""
    if {"video_id", "clip_id"} <= set(df.columns):
        return df["video_id"], df["clip_id"]
    if "id" not in df.columns:
        raise DataError(
            "no clip ids", path=path, key="video_id/clip_id", expected="columns video_id and clip_id, or id",
            found=f"columns {', '.join(df.columns)}",
        )
    parts = df["id"].str.rpartition("_")
    bad = (parts[0] == "") | (parts[2] == "")
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise DataError(
            "ids must end in _<clip number>", path=path, key="id", expected="<video_id>_<clip_no>",
            found=f"{df['id'].iloc[i]!r} on line {i + 2}",
        )
    return parts[0], parts[2]


def _numeric(df: pd.DataFrame, column: str, path: str) -> pd.Series:
    values = pd.to_numeric(df[column].str.strip(), errors="coerce")
    bad = ~np.isfinite(values.to_numpy(dtype=float))
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"{int(bad.sum())} non-numeric value(s)", path=path, key=column, expected="finite numbers",
            found=f"{df[column].iloc[i]!r} on line {i + 2}",
        )
    return values.astype(float)


def read_label_csv(path: str | Path) -> pd.DataFrame:
    """Read an MMSA ``label.csv`` into one row per clip (columns ``COLUMNS``, then any others).

    Raises:
        DataError: a missing column, a non-numeric label, an id without a clip number, or a
            ``mode`` other than train / valid / dev / test.
    """
    path = str(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise DataError("cannot read the CSV", path=path, expected="an MMSA label.csv", found=f"{type(e).__name__}: {e}") from e
    df.columns = [c.strip() for c in df.columns]
    for column in ("text", "label", "mode"):
        if column not in df.columns:
            raise DataError(
                "missing column", path=path, key=column, expected="columns text, label, mode",
                found=f"columns {', '.join(df.columns)}",
            )
    video_id, clip_id = _ids(df, path)
    split = df["mode"].str.strip().str.lower().map(MODE_TO_SPLIT)
    if split.isna().any():
        unknown = sorted(set(df["mode"][split.isna()]))
        raise DataError("unknown fold", path=path, key="mode", expected="train, valid, dev or test", found=", ".join(map(repr, unknown)))
    out = pd.DataFrame(
        {
            "id": video_id + "$_$" + clip_id,
            "video_id": video_id,
            "clip_id": clip_id,
            "text": df["text"],
            "label": _numeric(df, "label", path),
            "split": split,
        }
    )
    for column in df.columns:
        if column in out.columns or column in ("mode",):
            continue
        out[column] = _numeric(df, column, path) if column.startswith("label_") else df[column]
    return out
