"""A stop before the first epoch finishes evaluates nothing and yields no results row; a stop after
an epoch still tests the best weights and gives a row marked interrupted."""

from __future__ import annotations

import math
from pathlib import Path

from msmix.metrics import MOSI_KEYS
from msmix.train import Callback, RunSpec, finished_no_epoch, run
from msmix.train.checkpoint import LAST
from tiny_setup import make_trainer


class StopAt(Callback):
    """Calls ``trainer.stop()`` at batch ``step`` (counted over the fit) or after epoch ``epoch``."""

    def __init__(self, step: int | None = None, epoch: int | None = None) -> None:
        self.step, self.epoch = step, epoch

    def on_batch_end(self, trainer, step, loss) -> None:
        if step == self.step:
            trainer.stop()

    def on_epoch_end(self, trainer, record) -> None:
        if record.epoch == self.epoch:
            trainer.stop()


def tiny_spec() -> RunSpec:
    return RunSpec(data="tiny", backbone="_tiny", mixer="msmix", train={"max_epochs": 2})


def test_fit_stopped_at_the_first_batch_evaluates_nothing(tiny_data, tmp_path: Path) -> None:
    trainer = make_trainer(tiny_data, run_dir=tmp_path)
    trainer.add_callback("on_batch_end", StopAt(step=1).on_batch_end)

    def no_evaluation(split: str = "test"):
        raise AssertionError(f"evaluated {split} without a finished epoch")

    trainer.evaluate = no_evaluation
    result = trainer.fit()
    assert result.interrupted and (result.epochs, result.best_epoch) == (0, 0) and trainer.step == 1
    assert result.test_metrics == {} and result.valid_metrics == {} and result.history.empty
    assert not (tmp_path / LAST).exists()


def test_fit_stopped_after_an_epoch_tests_its_best_weights(tiny_data) -> None:
    trainer = make_trainer(tiny_data)
    trainer.add_callback("on_epoch_end", StopAt(epoch=1).on_epoch_end)
    result = trainer.fit()
    assert result.interrupted and (result.epochs, result.best_epoch) == (1, 1)
    one_epoch = make_trainer(tiny_data, max_epochs=1).fit()
    assert result.test_metrics == one_epoch.test_metrics and set(result.test_metrics) == set(MOSI_KEYS)


def test_run_stopped_at_the_first_batch_gives_a_row_without_results(tiny_data, tmp_path: Path) -> None:
    spec = tiny_spec()
    row = run(spec, out_dir=tmp_path, progress=False, callbacks=[StopAt(step=1)], data=tiny_data)
    assert finished_no_epoch(row)
    assert row["epochs"] == 0 and row["best_epoch"] == 0 and row["interrupted"] is True
    assert not set(MOSI_KEYS) & set(row)
    folder = Path(row["run_dir"])
    assert not (folder / "result.json").exists() and not (folder / LAST).exists()

    resumed = run(spec, out_dir=tmp_path, resume=True, progress=False, data=tiny_data)  # starts afresh
    whole = run(spec, progress=False, data=tiny_data)
    assert resumed["epochs"] == 2 and not resumed["interrupted"] and not finished_no_epoch(resumed)
    assert {k: resumed[k] for k in MOSI_KEYS} == {k: whole[k] for k in MOSI_KEYS}


def test_run_stopped_after_an_epoch_gives_an_interrupted_row_with_results(tiny_data, tmp_path: Path) -> None:
    row = run(tiny_spec(), out_dir=tmp_path, progress=False, callbacks=[StopAt(epoch=1)], data=tiny_data)
    assert row["epochs"] == 1 and row["best_epoch"] == 1 and row["interrupted"] is True
    assert not finished_no_epoch(row) and all(math.isfinite(row[k]) for k in MOSI_KEYS)
