"""``train_fraction``: every run trains on its seeded, stratified share of the train split, its row
says which share, and runs and checkpoints from before the setting keep their hash and resume."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch

import msmix.data
from msmix.data import Dataset, train_subset
from msmix.metrics import MOSI_KEYS
from msmix.train import Callback, RunSpec, assemble, load_checkpoint, resolve, run, run_dir_of
from msmix.train.assemble import SUBSET_STREAM
from msmix.train.rng import derived_seed
from old_layout import Epochs


class Watch(Callback):
    """Keeps the trainer and counts the training batches of a fit."""

    def __init__(self) -> None:
        self.trainer: Any = None
        self.batches = 0

    def on_batch_end(self, trainer: Any, step: int, loss: Any) -> None:
        self.trainer, self.batches = trainer, self.batches + 1


def tiny_spec(**train: Any) -> RunSpec:
    return RunSpec(data="tiny", backbone="_tiny", mixer="msmix", train={"max_epochs": 3, "patience": 10, **train})


def test_a_run_on_the_demo_data_trains_on_a_quarter_of_its_train_split() -> None:
    spec = RunSpec(data="toy", backbone="tfn", mixer="msmix", train={"max_epochs": 1, "train_fraction": 0.25})
    watch = Watch()
    row = run(spec, progress=False, callbacks=[watch])
    full = msmix.data.load("toy", time_average=True)
    trained_on = watch.trainer.data
    assert len(full.train) == 400 and len(trained_on.train) == 100
    assert watch.batches == math.ceil(100 / watch.trainer.config.batch_size) == 4
    expected = train_subset(full, 0.25, derived_seed(spec.seed, SUBSET_STREAM))
    assert trained_on.train.ids == expected.train.ids, "the subset is drawn from the run's own seed stream"
    assert len(trained_on.valid) == len(full.valid) and len(trained_on.test) == len(full.test)
    assert row["train_fraction"] == 0.25 and list(row).index("train_fraction") == list(row).index("seed") + 1
    assert json.loads(row["train_config"])["train_fraction"] == 0.25
    assert all(key in row for key in MOSI_KEYS)


def test_the_subset_follows_the_run_seed_and_the_default_trains_on_everything(tiny_data: Dataset) -> None:
    def trained_ids(spec: RunSpec) -> list[str]:
        return list(assemble(resolve(spec, tiny_data.spec), tiny_data, progress=False).data.train.ids)

    half = tiny_spec(train_fraction=0.5)
    assert trained_ids(half) == trained_ids(half) and len(trained_ids(half)) == 32
    assert trained_ids(RunSpec(**{**half.to_dict(), "seed": 7})) != trained_ids(half)
    assert trained_ids(tiny_spec()) == tiny_data.train.ids
    whole = assemble(resolve(tiny_spec(), tiny_data.spec), tiny_data, progress=False).data
    assert torch.equal(whole.train.labels, tiny_data.train.labels) and whole.train_fraction == 1.0


def test_specs_that_do_not_set_it_keep_their_config_hash() -> None:
    # hashes of the same specs before train_fraction existed: RunSpec hashes its override dicts only
    assert RunSpec().config_hash() == "4d85a9c77fb2"
    earlier = RunSpec(data="toy", backbone="tfn", mixer="none", seed=1112, train={"max_epochs": 5})
    assert earlier.config_hash() == "493eeae3be98"
    assert RunSpec(train={"train_fraction": 0.25}).config_hash() != RunSpec().config_hash()


def _without_fraction(path: Path) -> None:
    """Rewrite a checkpoint as versions before ``train_fraction`` wrote it."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    del state["meta"]["train_config"]["train_fraction"]
    torch.save(state, path)


def test_a_checkpoint_written_before_the_setting_loads_and_resumes(tiny_data: Dataset, tmp_path: Path) -> None:
    spec = tiny_spec()
    whole = run(spec, progress=False, data=tiny_data)
    with pytest.raises(KeyboardInterrupt):
        run(spec, out_dir=tmp_path, progress=False, callbacks=[Epochs(crash_after=1)], data=tiny_data)
    folder = run_dir_of(spec, tmp_path)
    for name in ("last.pt", "best.pt"):
        _without_fraction(folder / name)
        assert "train_fraction" not in torch.load(folder / name, weights_only=True)["meta"]["train_config"]

    assert load_checkpoint(folder).train_config.train_fraction == 1.0
    watched = Epochs()
    row = run(spec, out_dir=tmp_path, resume=True, progress=False, callbacks=[watched], data=tiny_data)
    assert watched.epochs == [2, 3], "epoch 1 came from the old checkpoint"
    assert {k: row[k] for k in MOSI_KEYS} == {k: whole[k] for k in MOSI_KEYS}
    assert row["train_fraction"] == 1.0


def test_a_checkpoint_of_another_fraction_is_not_resumed(tiny_data: Dataset, tmp_path: Path) -> None:
    """The share changes what the run computes, so resuming with another one is refused."""
    from msmix.train.resume import check_compatible

    half = tiny_spec(train_fraction=0.5)
    with pytest.raises(KeyboardInterrupt):
        run(half, out_dir=tmp_path, progress=False, callbacks=[Epochs(crash_after=1)], data=tiny_data)
    last = torch.load(run_dir_of(half, tmp_path) / "last.pt", weights_only=True)
    now = resolve(tiny_spec(), tiny_data.spec)
    meta = {"backbone": "_tiny", "mixer": "msmix"}
    with pytest.raises(ValueError, match=r"train_fraction: 0.5 -> 1.0"):
        check_compatible(last["meta"], meta, now.train, Path("last.pt"))
