"""``checkpoint_seconds``: the run folder is written at most that often (and at the run's end),
and a run killed between two writes still resumes to the run it would have been."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest
import torch

import msmix.train.trainer
from msmix.train.checkpoint import LAST
from msmix.train.errors import NonFiniteLossError
from msmix.train.resume import RunCheckpoints
from tiny_setup import make_trainer, without_timing


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    """Each checkpoint write: (epoch of last.pt, whether best.pt was written with it)."""
    seen: list[tuple[int, bool]] = []
    save = RunCheckpoints.save_epoch

    def counted(self, epoch, weights, state, best) -> None:
        seen.append((epoch, best is not None))
        save(self, epoch, weights, state, best)

    monkeypatch.setattr(RunCheckpoints, "save_epoch", counted)
    return seen


def written_when(monkeypatch: pytest.MonkeyPatch, epochs: set[int]) -> None:
    """The interval runs out exactly after the given epochs (no clock involved)."""
    save_epoch = msmix.train.trainer.Trainer._save_epoch
    done = [0]

    def counting(self, record) -> None:
        done[0] = record.epoch
        save_epoch(self, record)

    monkeypatch.setattr(msmix.train.trainer.Trainer, "_save_epoch", counting)
    monkeypatch.setattr(msmix.train.trainer._Written, "due", lambda self, interval: done[0] in epochs)


def test_by_default_every_epoch_is_written(tiny_data, tmp_path, writes) -> None:
    result = make_trainer(tiny_data, run_dir=tmp_path, max_epochs=4, patience=10).fit()
    assert [epoch for epoch, _ in writes] == [1, 2, 3, 4]
    assert [best for _, best in writes] == result.history["best"].tolist()


def test_a_long_interval_writes_once_at_the_end_with_the_best_weights(tiny_data, tmp_path, writes) -> None:
    plain = make_trainer(tiny_data, max_epochs=4, patience=10).fit()
    spaced = make_trainer(tiny_data, run_dir=tmp_path, max_epochs=4, patience=10, checkpoint_seconds=1e9)
    result = spaced.fit()
    assert writes == [(4, True)]
    pd.testing.assert_frame_equal(without_timing(plain.history), without_timing(result.history))
    last = torch.load(tmp_path / LAST, weights_only=True)
    assert last["epoch"] == 4 and len(last["history"]) == 4


def test_a_run_killed_between_writes_resumes_from_the_last_write_to_the_same_run(tiny_data, tmp_path, monkeypatch, writes) -> None:
    full = make_trainer(tiny_data, max_epochs=5, patience=10).fit()
    with monkeypatch.context() as m:
        written_when(m, {2})

        def crash(trainer, record) -> None:
            if record.epoch == 4:
                raise KeyboardInterrupt

        killed = make_trainer(tiny_data, run_dir=tmp_path, max_epochs=5, patience=10, checkpoint_seconds=60)
        killed.add_callback("on_epoch_end", crash)
        with pytest.raises(KeyboardInterrupt):
            killed.fit()
    assert [epoch for epoch, _ in writes] == [2], "epochs 3 and 4 were held back"
    resumed = make_trainer(tiny_data, run_dir=tmp_path, max_epochs=5, patience=10, checkpoint_seconds=60).fit(resume=True)
    pd.testing.assert_frame_equal(without_timing(full.history), without_timing(resumed.history))
    assert resumed.test_metrics == full.test_metrics and resumed.best_epoch == full.best_epoch


def test_a_stopped_run_writes_the_epochs_held_back(tiny_data, tmp_path, writes) -> None:
    trainer = make_trainer(tiny_data, run_dir=tmp_path, max_epochs=5, patience=10, checkpoint_seconds=1e9)
    trainer.add_callback("on_epoch_end", lambda t, record: t.stop() if record.epoch == 2 else None)
    assert trainer.fit().interrupted
    assert [epoch for epoch, _ in writes] == [2]


def test_a_non_finite_loss_names_the_checkpoint_actually_kept(tiny_data, tmp_path, monkeypatch) -> None:
    written_when(monkeypatch, {1})
    real, calls = msmix.train.trainer.training_loss, [0]

    def poisoned(*args, **kwargs):  # NaN from the first batch of epoch 3 on
        parts = real(*args, **kwargs)
        calls[0] += 1
        return dataclasses.replace(parts, total=parts.total * float("nan")) if calls[0] > 2 * batches else parts

    monkeypatch.setattr(msmix.train.trainer, "training_loss", poisoned)
    trainer = make_trainer(tiny_data, run_dir=tmp_path, max_epochs=5, patience=10, checkpoint_seconds=60)
    batches = math.ceil(len(tiny_data.train) / trainer.config.batch_size)
    with pytest.raises(NonFiniteLossError, match=r"epoch 3, .*the checkpoint of epoch 1, the last written \(checkpoint_seconds\)"):
        trainer.fit()
    assert torch.load(tmp_path / LAST, weights_only=True)["epoch"] == 1


def test_the_interval_must_be_a_finite_number_at_least_zero() -> None:
    from msmix.train import TrainConfig

    for bad in (-1, float("nan"), float("inf"), "60"):
        with pytest.raises(ValueError, match="checkpoint_seconds"):
            TrainConfig(checkpoint_seconds=bad)
