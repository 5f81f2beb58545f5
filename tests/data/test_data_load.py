"""``load``: the demo set through the real reader, toy files on disk, and bad sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from msmix import MODALITIES
from msmix.data import SPLITS, DataError, load, toy_mmsa_dict, write_toy_pickle


def test_toy_goes_through_the_reader_and_says_synthetic() -> None:
    ds = load("toy", seed=2)
    source = toy_mmsa_dict(2)
    assert ds.spec.synthetic and ds.synthetic and ds.spec.name == "toy (synthetic)"
    assert "synthetic" in ds.source and "SYNTHETIC" in ds.summary()
    assert ds.spec.kind == "mosi" and ds.spec.label_range == 3.0
    assert ds.spec.dims == {"text": 768, "audio": 5, "vision": 20}
    assert ds.spec.seq_lens == {"text": 8, "audio": 20, "vision": 20}
    assert ds.spec.extra["seed"] == 2 and ds.spec.extra["size"] == "small"
    for split in SPLITS:
        for m in MODALITIES:
            x = source[split][m]
            assert ds.cleaned[f"{split}/{m}"] == int((~np.isfinite(x)).sum())
            np.testing.assert_array_equal(getattr(ds[split], m).numpy(), np.where(np.isfinite(x), x, 0))
        np.testing.assert_array_equal(ds[split].audio_lengths.numpy(), source[split]["audio_lengths"])


def test_toy_default_seed_is_zero() -> None:
    assert torch.equal(load("toy").train.audio, load("toy", seed=0).train.audio)
    assert not torch.equal(load("toy").train.audio, load("toy", seed=1).train.audio)


def test_written_toy_file_loads_the_same_and_still_says_synthetic(tmp_path: Path) -> None:
    path = write_toy_pickle(tmp_path / "sub" / "toy.pkl", seed=5)
    from_file, generated = load(path), load("toy", seed=5)
    assert from_file.spec.synthetic and from_file.spec.name == "toy (synthetic)"
    for split in SPLITS:
        for m in MODALITIES:
            assert torch.equal(getattr(from_file[split], m), getattr(generated[split], m))
        assert from_file[split].ids == generated[split].ids


def test_options_reach_the_toy() -> None:
    ds = load("toy", time_average=True, dtype=torch.float64)
    assert ds.train.audio.shape == (400, 1, 5) and ds.train.text.dtype == torch.float64


@pytest.mark.parametrize(
    "source,options,match",
    [
        ("toy:huge", {}, "unknown toy size"),
        ("toy", {"kind": "sims"}, "imitate MOSI"),
    ],
)
def test_bad_toy_requests(source: str, options: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        load(source, **options)


def test_seed_with_a_file_is_refused(tmp_path: Path) -> None:
    path = write_toy_pickle(tmp_path / "toy.pkl")
    with pytest.raises(ValueError, match="seed only applies"):
        load(path, seed=1)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file") as err:
        load(tmp_path / "nothing.pkl")
    assert err.value.path == str(tmp_path / "nothing.pkl")


def test_load_records_the_arguments_that_shape_the_values(tmp_path: Path) -> None:
    toy = load("toy", time_average=True, standardize=True, device="cpu", dtype=torch.float32)
    assert toy.load_args == {"source": "toy", "time_average": True, "standardize": True}
    assert load("toy:mosi", seed=3).load_args == {"source": "toy:mosi", "seed": 3}
    path = write_toy_pickle(tmp_path / "toy.pkl")
    from_file = load(path, kind="mosi", padding="right")
    assert from_file.load_args == {"source": str(path), "kind": "mosi", "padding": "right"}
    assert load(**from_file.load_args).load_args == from_file.load_args
