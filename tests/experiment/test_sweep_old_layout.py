"""A sweep folder of the earlier layout, runs in ``DIR/runs/<run>/``, continues where it stopped:
its finished runs are skipped, its unfinished run resumes in its old folder, only the rest starts
afresh (in ``DIR/<run>/``). Real (two-epoch LMF) runs on the demo data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import msmix.train
from msmix.experiment import append_row, complete_row, expand_grid, plan_sweep, read_results, run_sweep
from msmix.metrics import MOSI_KEYS
from msmix.train import RunSpec
from old_layout import Epochs, to_old_layout

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

CONFIG = {"data": "toy", "backbones": "lmf", "mixers": ["none", "mixup", "manifold"], "seeds": [1], "train": {"max_epochs": 2}}


def test_a_sweep_of_the_old_layout_runs_only_what_is_missing(tmp_path: Path) -> None:
    finished, unfinished, missing = specs = expand_grid(CONFIG)
    row = msmix.train.run(finished, out_dir=tmp_path, progress=False)  # as an earlier version left it:
    row["run_dir"] = str(to_old_layout(tmp_path, finished))           # a finished run with its row,
    append_row(tmp_path / "results.csv", complete_row(row, finished))
    with pytest.raises(KeyboardInterrupt):                              # a run killed after epoch 1,
        msmix.train.run(unfinished, out_dir=tmp_path, progress=False, callbacks=[Epochs(crash_after=1)])
    old = to_old_layout(tmp_path, unfinished)                           # and a run not started
    assert plan_sweep(specs, tmp_path)["status"].tolist() == ["done", "resume", "todo"]

    trained: dict[str, list[int]] = {}

    def watched_run(spec: RunSpec, **kw: Any) -> dict[str, Any]:
        epochs = Epochs()
        trained[spec.mixer] = epochs.epochs
        return msmix.train.run(spec, callbacks=[epochs], **kw)

    table = run_sweep(specs, tmp_path, progress=False, runner=watched_run)
    assert trained == {"mixup": [2], "manifold": [1, 2]}  # nothing trained twice
    assert table["config_hash"].tolist() == [s.config_hash() for s in specs]
    assert table["run_dir"].tolist() == [row["run_dir"], str(old), str(tmp_path / missing.run_name())]
    assert (table["epochs"] == 2).all() and len(read_results(tmp_path / "results.csv")) == 3
    assert not (tmp_path / unfinished.run_name()).exists()
    whole = msmix.train.run(unfinished, progress=False)
    resumed = table.iloc[1]
    assert {k: resumed[k] for k in MOSI_KEYS} == pytest.approx({k: whole[k] for k in MOSI_KEYS}, abs=1e-12)
