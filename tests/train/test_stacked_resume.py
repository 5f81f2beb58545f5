"""A killed stacked group resumes: each member continues from the checkpoints its own run would
have written, and the group ends as the uninterrupted one did.

A kill is simulated by an exception raised just before a member writes an epoch's checkpoint
(what a SIGKILL there leaves on disk: that member's files one epoch behind). Whole runs are
compared in float64 without dropout, as in ``test_stacked.py``; the kill points include one
between two members' writes (members left at different epochs) and one after a member has
stopped early.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from msmix.train import RunSpec, Trainer, run
from msmix.train.stacked import StackedTrainer
from msmix.train.stacked_run import run_stacked
from stacked_setup import specs

METRICS = ["Has0_acc_2", "Non0_acc_2", "Mult_acc_7", "MAE", "Corr"]
HISTORY_COLUMNS = ["train_loss", "train_task", "train_mixup", "valid_loss", "lr", "best"]


class Killed(Exception):
    """Stands for the process dying."""


def runs() -> list[RunSpec]:
    """Members that step at different rates part of the time and stop at different epochs."""
    return specs("lmf", "msmix", seeds=(4, 5, 6), max_epochs=6, patience=1, clip_norm=0.05, scheduler="plateau",
                 plateau_patience=0, plateau_factor=0.5, train_fraction=0.3, lr=0.01)


def killed_at(monkeypatch: pytest.MonkeyPatch, seed: int, epoch: int) -> None:
    """Die just before the member of ``seed`` keeps ``epoch``."""
    save = Trainer.save_epoch

    def dying(self: Trainer, record) -> None:
        if self.config.seed == seed and record.epoch == epoch:
            raise Killed
        save(self, record)

    monkeypatch.setattr(Trainer, "save_epoch", dying)


def history(row: dict) -> pd.DataFrame:
    records = json.loads((Path(row["run_dir"]) / "history.json").read_text())
    return pd.DataFrame([{k: v for k, v in r.items() if not isinstance(v, dict)} for r in records])


def assert_same_rows(expected: list[dict], got: list[dict], rtol: float = 1e-7) -> None:
    for one, other in zip(expected, got):
        assert (one["seed"], one["epochs"], one["best_epoch"]) == (other["seed"], other["epochs"], other["best_epoch"])
        assert [other[m] for m in METRICS] == pytest.approx([one[m] for m in METRICS], rel=rtol, abs=1e-4)
        a, b = history(one), history(other)
        assert a["epoch"].tolist() == b["epoch"].tolist()
        np.testing.assert_allclose(a[HISTORY_COLUMNS].to_numpy(float), b[HISTORY_COLUMNS].to_numpy(float), rtol=rtol, atol=1e-9)


@pytest.fixture
def uninterrupted(toy64, tmp_path: Path) -> list[dict]:
    rows = run_stacked(runs(), out_dir=tmp_path / "whole", progress=False, data=toy64)
    assert len({r["epochs"] for r in rows}) > 1, "the members must stop at different epochs"
    return rows


def test_a_group_killed_between_two_members_writes_resumes_to_the_same_runs(toy64, tmp_path, uninterrupted, monkeypatch) -> None:
    out = tmp_path / "killed"
    with monkeypatch.context() as m:
        killed_at(m, seed=6, epoch=2)  # seed 4 has stopped at epoch 2, seed 5 kept it; seed 6 stands at 1
        with pytest.raises(Killed):
            run_stacked(runs(), out_dir=out, progress=False, data=toy64)
    assert [len(json.loads((d / "history.json").read_text())) for d in sorted(out.iterdir())] == [2, 2, 1]
    assert_same_rows(uninterrupted, run_stacked(runs(), out_dir=out, progress=False, data=toy64, resume=True))


def test_a_group_killed_after_a_member_stopped_resumes_to_the_same_runs(toy64, tmp_path, uninterrupted, monkeypatch) -> None:
    last = max(uninterrupted, key=lambda r: r["epochs"])
    assert min(r["epochs"] for r in uninterrupted) < last["epochs"]
    out = tmp_path / "killed"
    with monkeypatch.context() as m:
        killed_at(m, seed=last["seed"], epoch=last["epochs"])
        with pytest.raises(Killed):
            run_stacked(runs(), out_dir=out, progress=False, data=toy64)
    assert_same_rows(uninterrupted, run_stacked(runs(), out_dir=out, progress=False, data=toy64, resume=True))


def test_a_member_of_a_killed_group_resumes_alone_as_an_ordinary_run(toy64, tmp_path, uninterrupted, monkeypatch) -> None:
    """Its checkpoint holds its own share of the stacked optimiser state, so ``run`` can go on with it."""
    out = tmp_path / "killed"
    with monkeypatch.context() as m:
        killed_at(m, seed=5, epoch=3)  # seed 4 has stopped at epoch 2; 5 and 6 stand at 2
        with pytest.raises(Killed):
            run_stacked(runs(), out_dir=out, progress=False, data=toy64)
    alone = [run(spec, out_dir=out, resume=True, progress=False, data=toy64) for spec in runs()]
    assert_same_rows(uninterrupted, alone)


def test_finished_members_are_not_trained_again(toy64, tmp_path, uninterrupted, monkeypatch) -> None:
    def no_training(self, resume: bool = False):
        raise AssertionError("a finished group trained again")

    monkeypatch.setattr(StackedTrainer, "fit", no_training)
    again = run_stacked(runs(), out_dir=tmp_path / "whole", progress=False, data=toy64, resume=True)
    assert again == json.loads(json.dumps(uninterrupted, default=str))


def test_without_resume_a_group_starts_afresh_over_old_checkpoints(toy64, tmp_path, uninterrupted, monkeypatch) -> None:
    out = tmp_path / "killed"
    with monkeypatch.context() as m:
        killed_at(m, seed=5, epoch=2)
        with pytest.raises(Killed):
            run_stacked(runs(), out_dir=out, progress=False, data=toy64)
    assert_same_rows(uninterrupted, run_stacked(runs(), out_dir=out, progress=False, data=toy64))


def test_with_a_checkpoint_interval_each_seed_still_ends_with_a_resumable_checkpoint(toy64, tmp_path, uninterrupted) -> None:
    """The seeds' held-back epochs are written when each ends, with its share of the optimiser state."""
    spaced = [dataclasses.replace(s, train={**s.train, "checkpoint_seconds": 1e9}) for s in runs()]
    rows = run_stacked(spaced, out_dir=tmp_path / "spaced", progress=False, data=toy64)
    assert_same_rows(uninterrupted, rows)
    for row in rows:
        last = torch.load(Path(row["run_dir"]) / "last.pt", weights_only=True)
        assert last["epoch"] == row["epochs"] and last["optimizer"]["state"], "the seed's Adam state is in its last.pt"


def test_a_group_killed_while_writing_its_results_trains_nothing_again(toy64, tmp_path, uninterrupted, monkeypatch) -> None:
    """Every seed had finished; one result.json is missing: that seed is rebuilt from its own
    checkpoints and tested again, the others are read back, and nothing trains."""
    Path(uninterrupted[1]["run_dir"], "result.json").unlink()
    monkeypatch.setattr(StackedTrainer, "_train_epoch", lambda self, factors: pytest.fail("a finished seed trained again"))
    again = run_stacked(runs(), out_dir=tmp_path / "whole", progress=False, data=toy64, resume=True)
    assert_same_rows(uninterrupted, again)
    assert again[1]["stacked_seeds"] == 1 and again[0] == json.loads(json.dumps(uninterrupted[0], default=str))
