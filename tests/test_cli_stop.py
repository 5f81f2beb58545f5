"""``msmix train --out`` when its fit is stopped: before the first epoch finishes nothing is
evaluated and no row is appended (a resume then starts afresh); after an epoch the row is appended,
marked interrupted, as before."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

import msmix.train.trainer
from msmix.cli import main
from msmix.experiment import read_results
from msmix.metrics import MOSI_KEYS
from msmix.train import NO_EPOCH_MESSAGE

TRAIN = ["train", "--data", "toy", "--backbone", "lmf", "--mixer", "none", "--epochs", "2", "--quiet", "--threads", "1"]


@pytest.fixture(autouse=True)
def keep_torch_threads() -> Iterator[None]:
    """``msmix train`` sets torch's thread count for the process; the tests after it keep theirs."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def stop_fits(monkeypatch: pytest.MonkeyPatch, event: str, when: Callable[..., bool]) -> None:
    """Make every ``Trainer.fit`` call ``stop()`` on ``event`` once ``when(*args)`` holds."""
    fit = msmix.train.trainer.Trainer.fit

    def stopping_fit(self, resume: bool = False):
        self.add_callback(event, lambda trainer, *args: trainer.stop() if when(*args) else None)
        return fit(self, resume=resume)

    monkeypatch.setattr(msmix.train.trainer.Trainer, "fit", stopping_fit)


def test_a_stop_in_the_first_epoch_appends_no_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture) -> None:
    stop_fits(monkeypatch, "on_batch_end", lambda step, loss: step == 1)
    assert main([*TRAIN, "--out", str(tmp_path)]) == 130
    captured = capsys.readouterr()
    assert captured.err == NO_EPOCH_MESSAGE + "\n" and "Corr" not in captured.out
    assert not (tmp_path / "results.csv").exists()

    monkeypatch.undo()
    assert main([*TRAIN, "--out", str(tmp_path), "--resume"]) == 0
    table = read_results(tmp_path / "results.csv")
    assert len(table) == 1 and table.iloc[0]["epochs"] == 2 and not table.iloc[0]["interrupted"]


def test_a_stop_after_an_epoch_appends_an_interrupted_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stop_fits(monkeypatch, "on_epoch_end", lambda record: record.epoch == 1)
    assert main([*TRAIN, "--out", str(tmp_path)]) == 0
    table = read_results(tmp_path / "results.csv")
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["epochs"], row["best_epoch"], bool(row["interrupted"])) == (1, 1, True)
    assert table[list(MOSI_KEYS)].notna().all(axis=None)
