"""RunSpec hashing, ``run``'s results row and run folder, ``run_seeds`` and ``load_checkpoint``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import msmix
from msmix.metrics import MOSI_KEYS
from msmix.train import RunSpec, TrainConfig, load_checkpoint, run, run_dir_of, run_seeds

AGREED_COLUMNS = [
    "data", "backbone", "mixer", "seed", "train_fraction", *MOSI_KEYS, "epochs", "best_epoch", "train_seconds", "device",
    "cpu_threads", "config_hash", "msmix_version", "torch_version", "timestamp", "run_dir", "mixer_config", "model_config",
    "train_config",
]


def tiny_spec(**changes) -> RunSpec:
    fields = {"data": "tiny", "backbone": "_tiny", "mixer": "msmix", "train": {"max_epochs": 2}}
    return RunSpec(**{**fields, **changes})


def test_config_hash_is_stable_and_covers_every_field():
    spec = RunSpec(mixer_config={"threshold": 0.3, "alpha": 2.0})
    same = RunSpec(mixer_config={"alpha": 2.0, "threshold": 0.3})
    assert spec.config_hash() == same.config_hash() and len(spec.config_hash()) == 12
    variants = [
        RunSpec(data="other.pkl"), RunSpec(backbone="lmf"), RunSpec(mixer="none"), RunSpec(seed=1112),
        RunSpec(model_config={"rank": 4}), RunSpec(mixer_config={"threshold": 0.4}), RunSpec(train={"lr": 1e-4}),
        RunSpec(data_options={"standardize": True}),
    ]
    hashes = {v.config_hash() for v in variants} | {RunSpec().config_hash()}
    assert len(hashes) == len(variants) + 1
    assert RunSpec.from_dict(json.loads(json.dumps(spec.to_dict()))).config_hash() == spec.config_hash()


def test_run_folder_name():
    spec = RunSpec(data="/some/where/aligned_50.pkl", backbone="lmf", mixer="none", seed=1113)
    assert spec.run_name() == f"lmf-none-aligned_50-s1113-{spec.config_hash()}"
    assert run_dir_of(spec, "out") == Path("out", spec.run_name())


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"seed": -1}, "seed"), ({"train": {"seed": 3}}, "RunSpec.seed"), ({"mixer": ""}, "mixer"), ({"train": []}, "dict")],
)
def test_bad_specs_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        RunSpec(**changes)


def test_run_returns_the_agreed_row_and_keeps_a_run_folder(tiny_data, tmp_path):
    spec = tiny_spec(mixer_config={"threshold": 0.3})
    row = run(spec, out_dir=tmp_path, progress=False, data=tiny_data)
    assert list(row)[: len(AGREED_COLUMNS)] == AGREED_COLUMNS
    assert row["mixer.threshold"] == 0.3
    assert (row["data"], row["backbone"], row["mixer"], row["seed"]) == ("tiny", "_tiny", "msmix", 1111)
    assert row["config_hash"] == spec.config_hash() and row["epochs"] == 2 and row["device"] == "cpu"
    assert row["cpu_threads"] == torch.get_num_threads()
    assert row["msmix_version"] == msmix.__version__ and row["torch_version"] == torch.__version__
    train_config = TrainConfig.from_dict(json.loads(row["train_config"]))
    assert train_config == TrainConfig.for_backbone("_tiny", "mosi", max_epochs=2, seed=1111)
    assert json.loads(row["mixer_config"]) == {"threshold": 0.3}
    assert json.loads(row["model_config"]) == {"hidden": 8, "dropout": 0.0, "sequence": "audio", "head_hidden": 0}
    folder = run_dir_of(spec, tmp_path)
    assert row["run_dir"] == str(folder)
    assert {p.name for p in folder.iterdir()} == {"last.pt", "best.pt", "history.json", "spec.json", "result.json"}
    assert RunSpec.from_dict(json.loads((folder / "spec.json").read_text())) == spec
    assert json.loads((folder / "result.json").read_text()) == json.loads(json.dumps(row))
    again = run(spec, out_dir=tmp_path, resume=True, progress=False, data=tiny_data)
    assert again == json.loads(json.dumps(row)), "a finished run is returned, not retrained"


def test_same_spec_same_numbers(tiny_data):
    spec = tiny_spec()
    first = run(spec, progress=False, data=tiny_data)
    second = run(spec, progress=False, data=tiny_data)
    assert {k: first[k] for k in MOSI_KEYS} == {k: second[k] for k in MOSI_KEYS}


def test_load_checkpoint_rebuilds_the_trained_model(tiny_data, tmp_path):
    spec = tiny_spec()
    run(spec, out_dir=tmp_path, progress=False, data=tiny_data)
    folder = run_dir_of(spec, tmp_path)
    loaded = msmix.load_checkpoint(folder)
    assert (loaded.backbone, loaded.mixer_name, loaded.data_source) == ("_tiny", "msmix", "tiny")
    assert loaded.spec == tiny_data.spec and len(loaded.history) == 2
    assert loaded.train_config.max_epochs == 2
    best = torch.load(folder / "best.pt", weights_only=True)
    assert all(torch.equal(v, best["model"][k]) for k, v in loaded.model.state_dict().items())
    assert all(torch.equal(v, best["mixer"][k]) for k, v in loaded.mixer.state_dict().items())
    assert not loaded.model.training
    from_file = load_checkpoint(folder / "best.pt")
    batch = tiny_data.test.all()
    with torch.inference_mode():
        assert torch.equal(loaded.model(batch).pred, from_file.model(batch).pred)
    with pytest.raises(FileNotFoundError, match="holds no checkpoint"):
        load_checkpoint(tmp_path)


def test_run_seeds_adds_mean_and_std_rows(tiny_data):
    table = run_seeds(tiny_spec(train={"max_epochs": 1}), [1, 2, 3], progress=False, data=tiny_data)
    assert list(table.index) == ["1", "2", "3", "mean", "std"]
    runs = table.loc[["1", "2", "3"], "MAE"].astype(float)
    assert table.loc["mean", "MAE"] == pytest.approx(runs.mean())
    assert table.loc["std", "MAE"] == pytest.approx(runs.std(ddof=1))
    assert table.loc["mean", "backbone"] == "_tiny"
    assert table.loc[["1", "2", "3"], "seed"].tolist() == [1, 2, 3]


def test_a_loaded_run_reads_data_the_way_its_training_did(tmp_path):
    data = msmix.data.load("toy", standardize=True, time_average=True)
    spec = tiny_spec(data="toy", data_options={"standardize": True, "time_average": True})
    run(spec, out_dir=tmp_path, progress=False, data=data)
    folder = run_dir_of(spec, tmp_path)
    loaded = load_checkpoint(folder)
    assert loaded.data_args == {"source": "toy", "standardize": True, "time_average": True}
    again = loaded.load_data()
    for split in ("train", "valid", "test"):
        for m in ("text", "audio", "vision"):
            assert torch.equal(getattr(again[split], m), getattr(data[split], m)), (split, m)
    plain = msmix.data.load("toy")
    assert not torch.equal(plain.test.audio, data.test.audio)  # the options matter, so the check can fail
    assert loaded.load_data(standardize=False).test.audio.shape == plain.test.audio.shape[:1] + (1, 5)

    state = torch.load(folder / "best.pt", weights_only=True)  # as written before data arguments were recorded
    del state["meta"]["data_args"]
    torch.save(state, folder / "old.pt")
    old = load_checkpoint(folder / "old.pt")
    assert old.data_args is None
    with pytest.raises(ValueError, match="does not record how its data were loaded"):
        old.load_data()
