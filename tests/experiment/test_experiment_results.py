"""The results table: atomic appends, the torn-row guard, widening headers, concurrent writers."""

from __future__ import annotations

import math
import multiprocessing
import multiprocessing.synchronize
import os
from pathlib import Path

import pandas as pd
import pytest

from msmix.experiment import append_row, complete_row, finished_hashes, read_results
from msmix.train import RunSpec


def _row(i: int, **extra) -> dict:
    return {"data": "toy", "mixer": "none", "seed": i, "MAE": 1 / (i + 3), "config_hash": f"h{i:04d}", **extra}


def test_rows_round_trip_with_full_precision(tmp_path: Path) -> None:
    path = tmp_path / "out" / "results.csv"
    rows = [_row(0, Corr=float("nan"), mixer_config={"b": [1, 2], "a": 0.5}), _row(1, Corr=0.125, mixer_config={})]
    for row in rows:
        append_row(path, row)
    table = read_results(path)
    assert list(table.columns) == list(rows[0])
    assert table["MAE"].tolist() == [rows[0]["MAE"], rows[1]["MAE"]]  # exact: floats are written with repr
    assert math.isnan(table["Corr"][0]) and table["Corr"][1] == 0.125
    assert table["mixer_config"].tolist() == ['{"a":0.5,"b":[1,2]}', "{}"]
    assert table["mixer"].tolist() == ["none", "none"]  # not read as a missing value


def test_hashes_that_look_like_numbers_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    for h in ("1e5000000000", "000000000123"):
        append_row(path, _row(0, config_hash=h))
    assert finished_hashes(path) == {"1e5000000000", "000000000123"}


def test_each_append_is_one_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "results.csv"
    writes: list[bytes] = []
    real_write = os.write

    def spy(fd: int, data: bytes) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", spy)
    append_row(path, _row(0))
    append_row(path, _row(1))
    assert len(writes) == 2
    assert writes[0].count(b"\n") == 2 and writes[1].count(b"\n") == 1  # header + row, then row
    assert path.read_bytes() == writes[0] + writes[1]


def test_a_torn_last_row_is_ignored_then_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    append_row(path, _row(0))
    append_row(path, _row(1))
    intact = path.read_bytes()
    with open(path, "ab") as f:  # a writer that died mid-row
        f.write(b"toy,none,2,0.2,h00")
    with pytest.warns(UserWarning, match="unfinished last line"):
        assert finished_hashes(path) == {"h0000", "h0001"}
    with pytest.warns(UserWarning, match="unfinished last line"):
        append_row(path, _row(2))
    assert path.read_bytes().startswith(intact)
    table = read_results(path)
    assert table["config_hash"].tolist() == ["h0000", "h0001", "h0002"]
    assert table["MAE"].tolist() == [_row(i)["MAE"] for i in range(3)]


def test_a_torn_header_starts_the_table_afresh(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    path.write_bytes(b"data,mix")
    with pytest.warns(UserWarning):
        append_row(path, _row(5))
    assert read_results(path)["config_hash"].tolist() == ["h0005"]


def test_new_columns_widen_the_header_and_keep_old_rows(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    append_row(path, _row(0))
    append_row(path, _row(1, **{"mixer.threshold": 0.4, "F1_score": 0.75}))
    append_row(path, _row(2))
    table = read_results(path)
    assert list(table.columns) == [*_row(0), "mixer.threshold", "F1_score"]
    assert table["mixer.threshold"].isna().tolist() == [True, False, True]
    assert table["F1_score"][1] == 0.75 and table["MAE"].tolist() == [_row(i)["MAE"] for i in range(3)]
    assert not list(tmp_path.glob(".*.tmp"))


def _append_many(path: str, worker: int, count: int, start: multiprocessing.synchronize.Barrier) -> None:
    start.wait()
    for i in range(count):
        # every worker brings its own column, so headers widen while others append
        append_row(path, _row(worker * 1000 + i, **{f"col{worker}": i, "note": "x" * (i * 37 % 500)}))


def test_concurrent_writers_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    context = multiprocessing.get_context("fork")
    start = context.Barrier(4)
    workers = [context.Process(target=_append_many, args=(str(path), w, 40, start)) for w in range(4)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(60)
        assert p.exitcode == 0
    table = read_results(path)
    assert len(table) == 160
    assert sorted(table["seed"]) == sorted(w * 1000 + i for w in range(4) for i in range(40))
    assert all(row.MAE == 1 / (row.seed + 3) for row in table.itertuples())
    for w in range(4):
        mine = table[table["seed"] // 1000 == w]
        assert mine[f"col{w}"].tolist() == list(range(40))


def test_complete_row_puts_identity_first_and_adds_override_columns() -> None:
    spec = RunSpec(mixer="msmix", seed=3, mixer_config={"threshold": 0.4}, train={"max_epochs": 2, "lr": 5e-4},
                   model_config={"dims": [8, 4]})
    full = complete_row({"MAE": 0.5, "mixer.threshold": 0.4}, spec)
    assert list(full)[:4] == ["data", "backbone", "mixer", "seed"]
    assert full["config_hash"] == spec.config_hash()
    assert {k: full[k] for k in full if "." in k} == {
        "mixer.threshold": 0.4, "train.lr": 5e-4, "train.max_epochs": 2, "model.dims": [8, 4],
    }
    with pytest.raises(ValueError, match="config_hash"):
        complete_row({"config_hash": "other"}, spec)


def test_reading_a_missing_table_says_so(tmp_path: Path) -> None:
    assert finished_hashes(tmp_path / "results.csv") == set()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_results(tmp_path / "results.csv")
    (tmp_path / "empty.csv").write_bytes(b"")
    assert read_results(tmp_path / "empty.csv").equals(pd.DataFrame())


def test_a_bad_cell_is_named_by_its_line_even_after_a_cell_of_several_lines(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    path.write_text('data,mixer,seed,MAE,note\ntoy,none,1,0.5,"two\nlines"\n\ntoy,none,2,0.5x,\n')
    with pytest.raises(ValueError, match=r"results\.csv, line 5, column 'MAE': expected a number, found '0\.5x'"):
        read_results(path)


def test_numbers_read_as_numbers_and_empty_metric_cells_stay_missing(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    path.write_text("data,mixer,seed,MAE,Corr,Mult_acc_3\ntoy,none,1.0,0.5,nan,\ntoy,none,18446744073709551617,inf,0.25,0.75\n")
    table = read_results(path)
    assert table["seed"].tolist() == [1, 18446744073709551617]
    assert table["MAE"].tolist() == [0.5, math.inf] and math.isnan(table["Corr"][0])
    assert math.isnan(table["Mult_acc_3"][0]) and table["Mult_acc_3"][1] == 0.75


def test_a_folder_is_no_table(tmp_path: Path) -> None:
    (tmp_path / "results.csv").mkdir()
    for read in (read_results, finished_hashes):
        with pytest.raises(ValueError, match="results.csv is a directory, expected a CSV file"):
            read(tmp_path / "results.csv")
