"""The results table: one CSV row per finished run, appended so that a crash never tears a row.

Every row is built in memory, then written with a single ``os.write`` on an ``O_APPEND``
descriptor and fsynced, under an exclusive lock (``results.csv.lock``). A table whose last line has
no newline (a writer that died mid-line, or a copy cut short) is repaired before the next append:
the partial line is dropped with a warning, and ``read_results`` ignores it. When a row brings
columns the file does not have yet (a CH-SIMS run after MOSI runs, a newly swept setting), the file
is rewritten once with the wider header through a temporary file and ``os.replace``.

Reading refuses, with a ResultsError naming the file, the line (as an editor numbers it) and the
column, what a summary would otherwise misread: text that is not UTF-8, a row with more or fewer
cells than the header, a header naming one column twice, and a seed, share of the train split or
metric that is not a number.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from msmix.experiment.filelock import locked
from msmix.experiment.settings import spec_settings
from msmix.metrics import MOSI_KEYS, SIMS_KEYS
from msmix.utf8 import NotUTF8, decode_utf8

RESULTS_FILE = "results.csv"
METRIC_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(MOSI_KEYS + SIMS_KEYS))
"""MMSA's metric names (MOSI/MOSEI and CH-SIMS), the columns summaries average."""
_TEXT_COLUMNS = (
    "data", "backbone", "mixer", "config_hash", "run_dir", "device", "timestamp", "msmix_version", "torch_version",
)
_NUMBER_COLUMNS = ("seed", "train_fraction", *METRIC_COLUMNS)
"""Columns summaries compute with: every cell a number (or empty, where a metric does not apply)."""


class ResultsError(ValueError):
    """A results table (or the output folder that holds it) that cannot be read or written as it is;
    the message names the file and, where one is at fault, its line and column."""


def results_path(out_dir: str | Path) -> Path:
    """Where the results table of an output folder lives."""
    return Path(out_dir) / RESULTS_FILE


def complete_row(row: dict[str, Any], spec: Any) -> dict[str, Any]:
    """A run's row with its identity (data, backbone, mixer, seed, config_hash) first and one
    ``<group>.<name>`` column per override of its RunSpec (e.g. ``mixer.threshold``)."""
    spec_hash = spec.config_hash()
    if row.get("config_hash", spec_hash) != spec_hash:
        raise ValueError(f"results row has config_hash {row['config_hash']!r}, but its RunSpec hashes to {spec_hash!r}")
    identity = {"data": spec.data, "backbone": spec.backbone, "mixer": spec.mixer, "seed": spec.seed}
    full = {**identity, **row, "config_hash": spec_hash}
    for column, value in spec_settings(spec).items():
        full.setdefault(column, value)
    return full


def append_row(path: str | Path, row: dict[str, Any]) -> None:
    """Append one row to a results CSV atomically (header first when the file is new)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        header = _repaired_header(path)
        if header is None:
            header = list(row)
            data = _csv_line(header) + _csv_line([row[c] for c in header])
        else:
            extra = [c for c in row if c not in header]
            if extra:
                header = header + extra
                _rewrite_with_header(path, header)
            data = _csv_line([row.get(c) for c in header])
        _append_bytes(path, data.encode("utf-8"))


def read_results(path: str | Path) -> pd.DataFrame:
    """The results table as a DataFrame (an unfinished last line is ignored, with a warning)."""
    path = Path(path)
    _check_is_table(path)
    if not path.exists():
        raise FileNotFoundError(f"results table {path} does not exist")
    data = path.read_bytes()
    text = _decoded(data[: data.rfind(b"\n") + 1], path)  # refused as text before a partial line is warned about
    _complete_lines(data, path)
    if not text:
        return pd.DataFrame()
    lines = _record_lines(text, path)
    dtypes = {c: str for c in (*_TEXT_COLUMNS, "seed")}  # seeds parsed here, exactly, however large
    table = pd.read_csv(io.StringIO(text), dtype=dtypes, keep_default_na=False, na_values=[""])
    return _with_numbers(table, lines if len(lines) == len(table) else None, path)


def finished_hashes(path: str | Path) -> set[str]:
    """The config hashes that already have a row (none when the table does not exist yet)."""
    path = Path(path)
    _check_is_table(path)
    if not path.exists():
        return set()
    table = read_results(path)
    return set(table["config_hash"].dropna()) if "config_hash" in table else set()


def _check_is_table(path: Path) -> None:
    """Refuse a path that exists but is no file (a folder where the table belongs)."""
    if path.is_dir():
        inside = path / RESULTS_FILE
        hint = f"; its table is {inside}" if inside.is_file() else ""
        raise ResultsError(f"results table {path} is a directory, expected a CSV file{hint}")
    if path.exists() and not path.is_file():
        raise ResultsError(f"results table {path} is not a regular file")


def _decoded(data: bytes, path: Path) -> str:
    try:
        return decode_utf8(data)
    except NotUTF8 as err:
        raise ResultsError(f"results table {path}, line {err.line}: expected UTF-8 text, found the byte 0x{err.byte:02x}") from None


def _record_lines(text: str, path: Path) -> list[int]:
    """The line each data row starts on, with every row checked to have the header's cell count."""
    reader = csv.reader(io.StringIO(text))
    lines: list[int] = []
    header: list[str] | None = None
    start = 1
    try:
        for record in reader:
            if record:
                if header is None:
                    header = record
                    _check_header(header, path)
                else:
                    _check_width(record, header, start, path)
                    lines.append(start)
            start = reader.line_num + 1
    except csv.Error as err:
        raise ResultsError(f"results table {path}, line {start}: not a CSV row ({err})") from None
    return lines


def _check_header(header: list[str], path: Path) -> None:
    repeated = sorted(name for name, count in Counter(header).items() if count > 1)
    if repeated:
        raise ResultsError(f"results table {path}, line 1: the header names the column(s) {repeated} more than once")


def _check_width(record: list[str], header: list[str], line: int, path: Path) -> None:
    if len(record) != len(header):
        raise ResultsError(
            f"results table {path}, line {line}: expected {len(header)} cells as in the header, found {len(record)}"
        )


def _with_numbers(table: pd.DataFrame, lines: list[int] | None, path: Path) -> pd.DataFrame:
    """``table`` with its number columns as numbers; a cell that is not one is refused by line and column."""
    for column in (c for c in _NUMBER_COLUMNS if c in table):
        values = table[column]
        if column == "seed":
            table[column] = [_seed(v, i, lines, path) for i, v in enumerate(values)]
        elif not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            table[column] = [_number(v, column, i, lines, path) for i, v in enumerate(values)]
    return table


def _number(value: object, column: str, row: int, lines: list[int] | None, path: Path) -> float:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    if not isinstance(value, (bool, np.bool_)):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    raise ResultsError(f"{_cell(path, row, lines, column)}: expected a number, found {value!r}")


def _seed(value: object, row: int, lines: list[int] | None, path: Path) -> int:
    """A seed cell as an integer >= 0 (``12.0`` reads as 12)."""
    seed = _whole(value)
    if seed is None or seed < 0:
        found = "an empty cell" if isinstance(value, float) and math.isnan(value) else repr(value)
        raise ResultsError(f"{_cell(path, row, lines, 'seed')}: expected an integer >= 0, found {found}")
    return seed


def _whole(value: object) -> int | None:
    """``value`` as an integer where it is or spells one exactly, else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            value = _float_or(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _float_or(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _cell(path: Path, row: int, lines: list[int] | None, column: str) -> str:
    where = f"line {lines[row]}" if lines is not None else f"data row {row + 1}"
    return f"results table {path}, {where}, column {column!r}"


def format_cell(value: Any) -> str:
    """One CSV cell: empty for missing and NaN, ``repr`` precision for floats, JSON for containers."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if isinstance(value, float):
        return repr(float(value))
    return str(value)


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([format_cell(v) for v in values])
    return buffer.getvalue()


def _complete_lines(data: bytes, path: Path) -> bytes:
    """``data`` up to its last newline, warning about any partial line after it."""
    if not data or data.endswith(b"\n"):
        return data
    keep = data.rfind(b"\n") + 1
    warnings.warn(f"{path}: ignoring an unfinished last line ({len(data) - keep} bytes), left by an interrupted write")
    return data[:keep]


def _repaired_header(path: Path) -> list[str] | None:
    """The header of an existing table after cutting off a partial last line; None when empty."""
    if not path.is_file():
        return None
    data = path.read_bytes()
    complete = _complete_lines(data, path)
    if len(complete) != len(data):
        os.truncate(path, len(complete))
    if not complete:
        return None
    first_line = complete[: complete.index(b"\n") + 1].decode("utf-8")
    return next(csv.reader(io.StringIO(first_line)))


def _rewrite_with_header(path: Path, header: list[str]) -> None:
    """Rewrite the table with a wider header (new columns empty in old rows), atomically."""
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n", restval="")
        writer.writeheader()
        writer.writerows(rows)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _append_bytes(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"{path}: wrote {written} of {len(data)} bytes (disk full?)")
        os.fsync(fd)
    finally:
        os.close(fd)
