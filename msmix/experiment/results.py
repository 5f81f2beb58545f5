"""The results table: one CSV row per finished run, appended so that a crash never tears a row.

Every row is built in memory, then written with a single ``os.write`` on an ``O_APPEND``
descriptor and fsynced, under an exclusive lock (``results.csv.lock``). A table whose last line has
no newline (a writer that died mid-line, or a copy cut short) is repaired before the next append:
the partial line is dropped with a warning, and ``read_results`` ignores it. When a row brings
columns the file does not have yet (a CH-SIMS run after MOSI runs, a newly swept setting), the file
is rewritten once with the wider header through a temporary file and ``os.replace``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from msmix.experiment.filelock import locked
from msmix.experiment.settings import spec_settings
from msmix.metrics import MOSI_KEYS, SIMS_KEYS

RESULTS_FILE = "results.csv"
METRIC_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(MOSI_KEYS + SIMS_KEYS))
"""MMSA's metric names (MOSI/MOSEI and CH-SIMS), the columns summaries average."""
_TEXT_COLUMNS = (
    "data", "backbone", "mixer", "config_hash", "run_dir", "device", "timestamp", "msmix_version", "torch_version",
)


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
    if not path.is_file():
        raise FileNotFoundError(f"results table {path} does not exist")
    text = _complete_lines(path.read_bytes(), path).decode("utf-8")
    if not text:
        return pd.DataFrame()
    dtypes = {c: str for c in _TEXT_COLUMNS}
    return pd.read_csv(io.StringIO(text), dtype=dtypes, keep_default_na=False, na_values=[""])


def finished_hashes(path: str | Path) -> set[str]:
    """The config hashes that already have a row (none when the table does not exist yet)."""
    path = Path(path)
    if not path.is_file():
        return set()
    table = read_results(path)
    return set(table["config_hash"].dropna()) if "config_hash" in table else set()


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
