"""Faults during training: a non-finite loss, a full disk, an unwritable output, a kill at several moments.

A non-finite loss stops the run at its first bad batch and keeps the last good checkpoint; a full
disk while a checkpoint is written keeps the previous file and leaves no temporary one; a process
killed (SIGKILL) after an epoch, during a checkpoint write or before its first checkpoint resumes
to exactly the results of a run never killed; a changed number of epochs continues the killed run.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import msmix.train.checkpoint
import msmix.train.output
import msmix.train.trainer
from msmix.cli import main
from msmix.experiment import read_results
from msmix.metrics import MOSI_KEYS
from msmix.testing import TINY_RECIPE, TinyBackbone, tiny_dataset
from msmix.train import TrainConfig, Trainer
from msmix.train.checkpoint import BEST, HISTORY, LAST
from msmix.train.errors import NonFiniteLossError, OutputError

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ["train", "--data", "toy", "--backbone", "lmf", "--mixer", "none", "--quiet", "--threads", "1"]
BATCHES_PER_EPOCH = 4  # tiny_dataset(n=64): 64 training samples in batches of 16


@pytest.fixture(autouse=True)
def keep_torch_threads() -> Iterator[None]:
    """``msmix train`` sets torch's thread count for the process; the tests after it keep theirs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_trainer(run_dir: Path | None, trainer_class: type[Trainer] = Trainer, **settings: Any) -> Trainer:
    """A Trainer of the tiny backbone with MS-Mix on tiny data (the same weights on every call)."""
    import msmix.mixing

    data = tiny_dataset(n=64, seed=0)
    torch.manual_seed(0)
    model = TinyBackbone(data.spec, dropout=0.0)
    mixer = msmix.mixing.create("msmix", dims=model.latent_dims, label_range=data.spec.label_range)
    config = TrainConfig.from_dict({**TINY_RECIPE, "device": "cpu", "patience": 10, **settings})
    meta = {"backbone": "_tiny", "model_config": {"hidden": 8, "dropout": 0.0}}
    return trainer_class(model, mixer, data, config, run_dir=run_dir, progress=False, meta=meta)


def poison_batch(monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    """Make the loss of training step ``step`` (counted over the fit, from 1) NaN."""
    real = msmix.train.trainer.training_loss
    calls = {"n": 0}

    def loss(*args: Any, **kwargs: Any):
        parts = real(*args, **kwargs)
        calls["n"] += 1
        return dataclasses.replace(parts, total=parts.total * float("nan")) if calls["n"] == step else parts

    monkeypatch.setattr(msmix.train.trainer, "training_loss", loss)


# -- a non-finite loss ----------------------------------------------------------------------------


def test_a_nan_loss_stops_at_its_epoch_and_batch_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trainer = tiny_trainer(tmp_path, max_epochs=3)
    epochs_seen: list[int] = []
    kept: dict[str, bytes] = {}

    def remember(t: Trainer, record: Any) -> None:
        epochs_seen.append(record.epoch)
        kept.update({name: (tmp_path / name).read_bytes() for name in (LAST, BEST)})

    trainer.add_callback("on_epoch_end", remember)
    poison_batch(monkeypatch, BATCHES_PER_EPOCH + 2)  # epoch 2, batch 2
    with pytest.raises(NonFiniteLossError) as error:
        trainer.fit()
    assert (error.value.epoch, error.value.batch) == (2, 2)
    assert epochs_seen == [1]
    assert str(error.value) == (
        f"training diverged: the training loss of epoch 2, batch 2 is NaN or infinite; the checkpoint of epoch 1, "
        f"the last good one, is kept in {tmp_path}; lower the learning rate (train.lr) or check the features for "
        "huge or non-finite values"
    )
    assert {n: (tmp_path / n).read_bytes() for n in (LAST, BEST)} == kept, "the last good checkpoints are untouched"
    assert torch.load(tmp_path / LAST, weights_only=True)["epoch"] == 1


def test_a_nan_loss_in_the_first_epoch_says_that_no_checkpoint_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    poison_batch(monkeypatch, 1)
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, batch 1 is NaN .*no epoch had finished, so .* holds no checkpoint"):
        tiny_trainer(tmp_path).fit()
    assert not (tmp_path / LAST).exists()


def test_predictions_that_diverge_after_the_last_step_stop_the_run(tmp_path: Path) -> None:
    class DivergesInEpoch2(Trainer):
        def _predict(self, source):
            pred = super()._predict(source)
            return pred * float("nan") if len(self.records) == 1 else pred

    trainer = tiny_trainer(tmp_path, DivergesInEpoch2)
    with pytest.raises(NonFiniteLossError, match="the validation predictions after epoch 2 are NaN or infinite; "
                       "the checkpoint of epoch 1, the last good one, is kept"):
        trainer.fit()


@pytest.mark.parametrize("lr", ["1e30", "1e38"])
def test_a_huge_learning_rate_stops_the_cli_run_with_one_line(lr: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([*TRAIN, "--epochs", "2", "--set", f"train.lr={lr}", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("msmix train: error: training diverged: the training loss of epoch 1, batch ")
    assert "lower the learning rate (train.lr)" in err and not (tmp_path / "results.csv").exists()


# -- disk and output ----------------------------------------------------------------------------


class FullDisk:
    """A file that takes ``room`` bytes, then fails as a full disk does."""

    def __init__(self, file: Any, room: int) -> None:
        self.file, self.room = file, room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.file.write(data)

    def flush(self) -> None:
        self.file.flush()


def fill_the_disk_at_epoch(monkeypatch: pytest.MonkeyPatch, epoch: int) -> None:
    """torch.save of the checkpoints of ``epoch`` meets a full disk after 1000 bytes (torch reports it its way)."""
    real = torch.save

    def save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        full = isinstance(obj, dict) and obj.get("epoch") == epoch
        real(obj, FullDisk(f, 1000) if full else f, *args, **kwargs)

    monkeypatch.setattr(msmix.train.checkpoint.torch, "save", save)


def test_a_full_disk_during_a_checkpoint_write_keeps_the_previous_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trainer = tiny_trainer(tmp_path, max_epochs=3)
    fill_the_disk_at_epoch(monkeypatch, 2)
    with pytest.raises(OutputError) as error:
        trainer.fit()
    assert str(error.value) == f"cannot write {tmp_path / LAST}: no space left on the device; the previous last.pt is kept"
    monkeypatch.undo()
    assert torch.load(tmp_path / LAST, weights_only=True)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([LAST, BEST, HISTORY]), "no temporary file is left"


def test_a_full_disk_in_the_cli_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture) -> None:
    fill_the_disk_at_epoch(monkeypatch, 1)
    assert main([*TRAIN, "--epochs", "1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"msmix train: error: cannot write {tmp_path}/lmf-none-toy-s1111-")
    assert err.endswith("/last.pt: no space left on the device\n")
    assert not list(tmp_path.glob("*/.*.tmp"))


def test_too_little_free_disk_is_refused_before_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture) -> None:
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(msmix.train.output.shutil, "disk_usage", lambda path: usage._replace(free=1000))
    steps: list[int] = []
    monkeypatch.setattr(Trainer, "_run_epoch", lambda self: steps.append(1))
    assert main([*TRAIN, "--epochs", "1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and steps == []
    assert re.fullmatch(rf"msmix train: error: the disk of {re.escape(str(tmp_path))}/lmf-none-toy-s1111-\w+ has 1000 bytes "
                        r"free, but this run's checkpoints need about \d+\.\d MiB; free some space or write elsewhere\n", err)


def test_a_read_only_file_system_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture) -> None:
    def read_only(*args: Any, **kwargs: Any):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(msmix.train.output.tempfile, "mkstemp", read_only)
    assert main([*TRAIN, "--epochs", "1", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        f"msmix train: error: cannot write in the output folder {tmp_path / 'out'}: Read-only file system\n"
    )


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="file modes do not stop root from writing")
def test_a_read_only_output_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o500)
    try:
        assert main([*TRAIN, "--epochs", "1", "--out", str(out)]) == 2
    finally:
        out.chmod(0o700)
    assert capsys.readouterr().err == f"msmix train: error: cannot write in the output folder {out}: Permission denied\n"


# -- killed and resumed -------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import io, os, signal, sys
    import torch
    import msmix.train.trainer as trainer
    from msmix.cli import main

    moment, epoch, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    die = lambda: os.kill(os.getpid(), signal.SIGKILL)
    if moment == "after_epoch":  # right after the epoch's checkpoints are written
        save_epoch = trainer.Trainer._save_epoch
        def save_then_die(self, record):
            save_epoch(self, record)
            if record.epoch == epoch:
                die()
        trainer.Trainer._save_epoch = save_then_die
    elif moment == "in_epoch":  # at the epoch's second batch, before its checkpoint
        fit = trainer.Trainer.fit
        def fit_then_die(self, resume=False):
            self.add_callback("on_batch_end", lambda t, step, loss: die() if len(t.records) + 1 == epoch and step > 1 else None)
            return fit(self, resume=resume)
        trainer.Trainer.fit = fit_then_die
    elif moment == "in_stacked_epoch":  # at the start of a stacked group's pass over the epoch
        import msmix.train.stacked as stacked
        train_epoch = stacked.StackedTrainer._train_epoch
        def train_then_die(self, factors):
            if len(self.members[0].records) + 1 == epoch:
                die()
            return train_epoch(self, factors)
        stacked.StackedTrainer._train_epoch = train_then_die
    else:  # "writing_last" / "writing_best": half of that checkpoint of the epoch is on disk
        save = torch.save
        def save_half_then_die(obj, f, *args, **kwargs):
            target = "writing_last" if "optimizer" in obj else "writing_best"
            if obj.get("epoch") != epoch or target != moment:
                return save(obj, f, *args, **kwargs)
            buffer = io.BytesIO()
            save(obj, buffer, *args, **kwargs)
            f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
            f.flush()
            die()
        torch.save = save_half_then_die
    sys.exit(main(argv))
""")


def killed(moment: str, epoch: int, out: Path, tmp_path: Path, epochs: int = 3, argv: list[str] | None = None) -> None:
    """Run ``msmix train --out out`` (or the msmix command ``argv``) in a child process that
    SIGKILLs itself at ``moment`` of ``epoch``."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    argv = argv or [*TRAIN, "--epochs", str(epochs), "--out", str(out)]
    child = subprocess.run([sys.executable, str(script), moment, str(epoch), *argv], env=env, capture_output=True,
                           text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, f"the child was not killed at {moment} {epoch}:\n{child.stderr[-2000:]}"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The row of the 3-epoch run never killed."""
    out = tmp_path_factory.mktemp("uninterrupted")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    assert main([*TRAIN, "--epochs", "3", "--out", str(out)]) == 0
    torch.set_num_threads(threads)
    return read_results(out / "results.csv").iloc[0].to_dict()


def assert_same_result(out: Path, expected: dict[str, Any]) -> None:
    table = read_results(out / "results.csv")
    assert len(table) == 1, "one row: nothing trained twice"
    row = table.iloc[0]
    assert (row["epochs"], row["best_epoch"], row["config_hash"]) == (expected["epochs"], expected["best_epoch"],
                                                                      expected["config_hash"])
    assert {k: row[k] for k in MOSI_KEYS} == {k: expected[k] for k in MOSI_KEYS}


@pytest.mark.slow
@pytest.mark.parametrize(("moment", "epoch"), [("in_epoch", 1), ("after_epoch", 1), ("writing_best", 1),
                                                ("writing_last", 2), ("in_epoch", 3)])
def test_a_run_killed_then_resumed_ends_as_one_never_killed(
    moment: str, epoch: int, tmp_path: Path, uninterrupted: dict[str, Any], capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out"
    killed(moment, epoch, out, tmp_path)
    (run_folder,) = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]  # not .claims
    leftovers = list(run_folder.glob(".*.tmp"))
    assert bool(leftovers) == moment.startswith("writing"), "a kill mid-write leaves its temporary file"
    assert main([*TRAIN, "--epochs", "3", "--out", str(out), "--resume"]) == 0
    assert_same_result(out, uninterrupted)
    assert not list(run_folder.glob(".*.tmp")), "the resumed run removed what the killed writer left"


def test_more_epochs_after_a_kill_continue_the_killed_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          uninterrupted: dict[str, Any], capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    save_epoch = msmix.train.trainer.Trainer._save_epoch

    def save_then_stop(self, record) -> None:  # killed right after the first epoch's checkpoint
        save_epoch(self, record)
        raise KeyboardInterrupt

    monkeypatch.setattr(msmix.train.trainer.Trainer, "_save_epoch", save_then_stop)
    assert main([*TRAIN, "--epochs", "2", "--out", str(out)]) == 130
    monkeypatch.undo()
    (killed_folder,) = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]  # not .claims
    capsys.readouterr()
    assert main([*TRAIN, "--epochs", "3", "--out", str(out), "--resume"]) == 0
    err = capsys.readouterr().err
    assert f"note: continuing the unfinished run {killed_folder.name} with train.max_epochs 2 -> 3; its folder is now" in err
    assert not killed_folder.exists()
    assert_same_result(out, uninterrupted)


def test_resume_with_nothing_to_resume_says_it_starts_from_the_beginning(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([*TRAIN, "--epochs", "1", "--out", str(tmp_path), "--resume"]) == 0
    assert (f"note: {tmp_path} holds no unfinished run of this configuration; training it from the start"
            in capsys.readouterr().err)


def test_leftovers_of_a_live_writer_are_kept(tmp_path: Path) -> None:
    mine = tmp_path / f".last.pt.{os.getpid()}.abc.tmp"
    dead = tmp_path / ".last.pt.999999999.abc.tmp"
    parent = tmp_path / f".best.pt.{os.getppid()}.abc.tmp"
    for path in (mine, dead, parent):
        path.write_bytes(b"half")
    assert sorted(msmix.train.checkpoint.remove_leftovers(tmp_path)) == sorted([mine, dead])
    assert parent.exists()


def test_a_failed_write_of_another_kind_still_raises_and_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        msmix.train.checkpoint.atomic_write(tmp_path / "x.json", lambda f: f.write("text, not bytes"))
    assert list(tmp_path.iterdir()) == []


def test_a_checkpoint_that_is_a_full_disk_victim_is_named(tmp_path: Path) -> None:
    """What torch.save leaves to a writer on a full disk: a RuntimeError whose context is the OSError."""
    with pytest.raises(OutputError, match=r"cannot write .*a\.pt: no space left on the device$"):
        msmix.train.checkpoint.atomic_write(tmp_path / "a.pt", lambda f: torch.save({"w": torch.zeros(10_000)},
                                                                                    FullDisk(f, 100)))
    assert list(tmp_path.iterdir()) == []


STACKED_SWEEP = 'data = "toy"\nbackbones = ["tfn"]\nmixers = ["msmix"]\nseeds = [1, 2, 3]\n[train]\nmax_epochs = 3\ntrain_fraction = 0.2\n'


@pytest.mark.slow
@pytest.mark.parametrize(("moment", "epoch", "level"), [("writing_last", 2, True), ("in_stacked_epoch", 3, True),
                                                         ("after_epoch", 2, False)])
def test_a_stacked_sweep_killed_mid_group_resumes_the_group(moment: str, epoch: int, level: bool, tmp_path: Path) -> None:
    """Killed while the first seed's last.pt of epoch 2 is half written, or in the group's pass over
    epoch 3, every seed stands at one epoch: with TFN's published dropout on, the resumed group ends
    exactly as a never-killed one (every generator is in the checkpoints). Killed right after the
    first seed kept epoch 2, the others train that epoch alone first (other dropout masks), so the
    rows agree in kind only; either way the epochs kept before the kill stand as they were."""
    config = tmp_path / "sweep.toml"
    config.write_text(STACKED_SWEEP)

    def sweep(out: Path) -> list[str]:
        return ["sweep", str(config), "--out", str(out), "--stack-seeds", "--quiet"]

    out = tmp_path / "killed"
    killed(moment, epoch, out, tmp_path, argv=sweep(out))
    histories = {d.name: json.loads((d / HISTORY).read_text()) for d in out.iterdir() if (d / HISTORY).is_file()}
    assert sorted(len(h) for h in histories.values()) == ([epoch - 1] * 3 if level else [1, 1, 2])
    assert main(sweep(out)) == 0
    table = read_results(out / "results.csv")
    assert table["seed"].tolist() == [1, 2, 3] and (table["stacked_seeds"] == 3).all()
    for name, before in histories.items():
        assert json.loads((out / name / HISTORY).read_text())[: len(before)] == before, "resumed, not retrained"
    if level:
        assert main(sweep(tmp_path / "whole")) == 0
        expected = read_results(tmp_path / "whole" / "results.csv")
        for column in [*MOSI_KEYS, "epochs", "best_epoch"]:
            assert table[column].tolist() == expected[column].tolist(), column
