"""MMSA's raw-data ``label.csv``: transcripts, labels and folds of every clip.

Two layouts are read: MMSA's ``video_id,clip_id,text,label,...,mode`` (CH-SIMS adds
``label_T/A/V`` and ``annotation``, which are kept) and the ``id,text,label,mode`` variant, whose
``id`` is ``<video_id>_<clip_no>``. Both give the same columns first: ``id`` (spelt as MMSA
pickles spell it, ``"<video_id>$_$<clip_id>"``, so the table joins with a loaded split's ids),
``video_id``, ``clip_id``, ``text``, ``label`` (float) and ``split`` (train / valid / test; ``dev``
is valid).

The file is read strictly, as UTF-8 CSV: every row must have the header's number of fields (a
text with an unquoted comma shifts the columns after it, so it is refused, never read shifted),
labels must be finite numbers, folds known, clips listed once. Each error names the line an
editor shows the row on and the column at fault.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from msmix.data.errors import DataError
from msmix.utf8 import NotUTF8, decode_utf8

COLUMNS = ("id", "video_id", "clip_id", "text", "label", "split")
MODE_TO_SPLIT = {"train": "train", "valid": "valid", "dev": "valid", "test": "test"}
_LAYOUTS = "id,text,label,mode or video_id,clip_id,text,label,...,mode"


@dataclass
class _Table:
    """A CSV's header and rows as text, with the line each row starts on (1-based, as an editor shows it)."""

    header: list[str]
    rows: list[list[str]]
    lines: list[int]


def _text(path: Path) -> str:
    """The file's text; a missing or unreadable file, or one that is not UTF-8, is a DataError."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        found = "a directory" if path.is_dir() else "no such file" if not path.exists() else e.strerror or type(e).__name__
        raise DataError("cannot read the CSV", path=str(path), expected="an MMSA label.csv", found=found) from None
    try:
        text = decode_utf8(raw, allow_bom=True)
    except NotUTF8 as e:
        raise DataError(
            "not UTF-8 text", path=str(path), expected="a UTF-8 encoded label.csv", found=f"byte 0x{e.byte:02x} on line {e.line}"
        ) from None
    if "\0" in text:
        line = text[: text.index("\0")].count("\n") + 1
        raise DataError("a NUL byte in the text", path=str(path), expected="a text file", found=f"NUL on line {line}")
    return text


def _records(text: str, path: str) -> list[tuple[int, list[str]]]:
    """Every non-blank CSV record with the line it starts on."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            if row:
                records.append((start, row))
            start = reader.line_num + 1
    except csv.Error as e:
        raise DataError("cannot parse the CSV", path=path, expected="comma-separated fields", found=f"{e} on line {start}") from None
    return records


def _table(path: Path) -> _Table:
    """Header and rows, each row with exactly the header's number of fields."""
    records = _records(_text(path), str(path))
    if not records:
        raise DataError("the file is empty", path=str(path), expected=f"a header line ({_LAYOUTS}) and one row per clip", found="no lines")
    header = [name.strip() for name in records[0][1]]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataError("a column appears twice", path=str(path), key=repeated[0], expected="each column once", found=f"header {', '.join(header)}")
    rows = records[1:]
    if not rows:
        raise DataError("no clips", path=str(path), expected="at least one row after the header", found="the header only")
    for line, row in rows:
        if len(row) != len(header):
            raise DataError(
                "a row does not match the header (a text holding a comma must be quoted)",
                path=str(path),
                expected=f"{len(header)} fields, as the header's {', '.join(header)}",
                found=f"{len(row)} fields on line {line}",
            )
    return _Table(header, [row for _, row in rows], [line for line, _ in rows])


def _first_bad(bad: np.ndarray, values: pd.Series, lines: list[int]) -> str:
    """The first flagged value and its line, e.g. ``'strong' on line 3``."""
    i = int(np.argmax(bad))
    return f"{values.iloc[i]!r} on line {lines[i]}"


def _ids(df: pd.DataFrame, lines: list[int], path: str) -> tuple[pd.Series, pd.Series]:
    """(video_id, clip_id) from either layout."""
    if {"video_id", "clip_id"} <= set(df.columns):
        for column in ("video_id", "clip_id"):
            empty = (df[column].str.strip() == "").to_numpy()
            if empty.any():
                raise DataError(
                    "empty clip id", path=path, key=column, expected="a non-empty value in every row",
                    found=_first_bad(empty, df[column], lines),
                )
        return df["video_id"], df["clip_id"]
    if "id" not in df.columns:
        raise DataError(
            "no clip ids", path=path, key="video_id/clip_id", expected="columns video_id and clip_id, or id",
            found=f"columns {', '.join(df.columns)}",
        )
    parts = df["id"].str.rpartition("_")
    bad = ((parts[0] == "") | (parts[2] == "")).to_numpy()
    if bad.any():
        raise DataError(
            "ids must end in _<clip number>", path=path, key="id", expected="<video_id>_<clip_no>",
            found=_first_bad(bad, df["id"], lines),
        )
    return parts[0], parts[2]


def _numeric(df: pd.DataFrame, column: str, lines: list[int], path: str) -> pd.Series:
    values = pd.to_numeric(df[column].str.strip(), errors="coerce")
    bad = ~np.isfinite(values.to_numpy(dtype=float))
    if bad.any():
        raise DataError(
            f"{int(bad.sum())} non-numeric value(s)", path=path, key=column, expected="finite numbers",
            found=_first_bad(bad, df[column], lines),
        )
    return values.astype(float)


def _splits(df: pd.DataFrame, lines: list[int], path: str) -> pd.Series:
    """The ``mode`` column as train / valid / test."""
    split = df["mode"].str.strip().str.lower().map(MODE_TO_SPLIT)
    unknown = split.isna().to_numpy()
    if unknown.any():
        raise DataError(
            f"{int(unknown.sum())} row(s) with an unknown fold", path=path, key="mode", expected="train, valid, dev or test",
            found=_first_bad(unknown, df["mode"], lines),
        )
    return split


def _check_unique(df: pd.DataFrame, ids: pd.Series, lines: list[int], path: str) -> None:
    """Each clip on one row only: a clip listed twice would be counted twice."""
    key = "video_id/clip_id" if {"video_id", "clip_id"} <= set(df.columns) else "id"
    shown = df["id"] if key == "id" else df["video_id"] + "," + df["clip_id"]
    seen: dict[str, int] = {}
    for i, (clip, line) in enumerate(zip(ids, lines)):
        if clip in seen:
            raise DataError(
                "a clip is listed twice", path=path, key=key, expected="one row per clip",
                found=f"{shown.iloc[i]!r} on lines {lines[seen[clip]]} and {line}",
            )
        seen[clip] = i


def read_label_csv(path: str | Path) -> pd.DataFrame:
    """Read an MMSA ``label.csv`` into one row per clip (columns ``COLUMNS``, then any others).

    Raises:
        DataError: an unreadable, empty or non-UTF-8 file; a row whose field count differs from
            the header's; a missing or repeated column; a non-numeric label; an empty or
            malformed clip id, or a clip listed twice; a ``mode`` other than train / valid / dev / test.
    """
    table = _table(Path(path))
    path = str(path)
    df = pd.DataFrame(table.rows, columns=table.header, dtype=str)
    for column in ("text", "label", "mode"):
        if column not in df.columns:
            raise DataError(
                "missing column", path=path, key=column, expected="columns text, label, mode",
                found=f"columns {', '.join(df.columns)}",
            )
    video_id, clip_id = _ids(df, table.lines, path)
    ids = video_id + "$_$" + clip_id
    _check_unique(df, ids, table.lines, path)
    out = pd.DataFrame(
        {
            "id": ids,
            "video_id": video_id,
            "clip_id": clip_id,
            "text": df["text"],
            "label": _numeric(df, "label", table.lines, path),
            "split": _splits(df, table.lines, path),
        }
    )
    for column in df.columns:
        if column in out.columns or column in ("mode",):
            continue
        out[column] = _numeric(df, column, table.lines, path) if column.startswith("label_") else df[column]
    return out
