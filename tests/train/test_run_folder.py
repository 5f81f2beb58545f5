"""Run folders sit beside ``results.csv`` (``DIR/<run>/``); a run folder of the earlier layout,
``DIR/runs/<run>/``, is resumed or reused where it is, training nothing twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from msmix.metrics import MOSI_KEYS
from msmix.train import RunSpec, run, run_dir_of
from msmix.train.run_folder import run_folder
from old_layout import Epochs, to_old_layout

NAME = "lmf-none-toy-s1-0123456789ab"


def tiny_spec() -> RunSpec:
    return RunSpec(data="tiny", backbone="_tiny", mixer="msmix", train={"max_epochs": 3, "patience": 10})


def test_run_folder_is_flat_unless_only_the_old_one_exists(tmp_path: Path) -> None:
    assert run_folder(tmp_path, NAME) == tmp_path / NAME
    (tmp_path / "runs" / NAME).mkdir(parents=True)
    assert run_folder(tmp_path, NAME) == tmp_path / "runs" / NAME
    (tmp_path / NAME).mkdir()
    assert run_folder(tmp_path, NAME) == tmp_path / NAME
    assert run_folder(tmp_path, "other") == tmp_path / "other"


def test_a_fresh_run_lands_beside_the_results(tiny_data, tmp_path: Path) -> None:
    spec = tiny_spec()
    row = run(spec, out_dir=tmp_path, progress=False, data=tiny_data)
    folder = tmp_path / spec.run_name()
    assert run_dir_of(spec, tmp_path) == folder and row["run_dir"] == str(folder)
    assert {"best.pt", "last.pt", "result.json"} <= {p.name for p in folder.iterdir()}
    assert not (tmp_path / "runs").exists()


def test_an_unfinished_run_of_the_old_layout_resumes_where_it_is(tiny_data, tmp_path: Path) -> None:
    spec = tiny_spec()
    whole = run(spec, progress=False, data=tiny_data)
    with pytest.raises(KeyboardInterrupt):
        run(spec, out_dir=tmp_path, progress=False, callbacks=[Epochs(crash_after=1)], data=tiny_data)
    old = to_old_layout(tmp_path, spec)
    assert run_dir_of(spec, tmp_path) == old

    watched = Epochs()
    row = run(spec, out_dir=tmp_path, resume=True, progress=False, callbacks=[watched], data=tiny_data)
    assert watched.epochs == [2, 3]  # epoch 1 came from the old folder's checkpoint
    assert row["epochs"] == 3 and row["run_dir"] == str(old)
    assert {k: row[k] for k in MOSI_KEYS} == {k: whole[k] for k in MOSI_KEYS}
    assert json.loads((old / "result.json").read_text())["epochs"] == 3
    assert not (tmp_path / spec.run_name()).exists()


def test_a_finished_run_of_the_old_layout_is_not_retrained(tiny_data, tmp_path: Path) -> None:
    spec = tiny_spec()
    first = run(spec, out_dir=tmp_path, progress=False, data=tiny_data)
    to_old_layout(tmp_path, spec)
    watched = Epochs()
    again = run(spec, out_dir=tmp_path, resume=True, progress=False, callbacks=[watched], data=tiny_data)
    assert watched.batches == 0
    assert {k: again[k] for k in (*MOSI_KEYS, "epochs")} == {k: first[k] for k in (*MOSI_KEYS, "epochs")}
    assert not (tmp_path / spec.run_name()).exists()
