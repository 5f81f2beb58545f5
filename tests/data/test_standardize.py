"""Per-feature standardisation: train statistics over valid frames, re-derived in float64."""

from __future__ import annotations

import numpy as np
import pytest
from mmsa_files import SPLITS

from msmix.data import load


def _valid_frames(data: dict, split: str, m: str) -> tuple[np.ndarray, np.ndarray]:
    """(all frames in float64 with non-finite as 0, (N, T) validity) of one split and modality."""
    x = np.where(np.isfinite(data[split][m]), data[split][m], 0).astype(np.float64)
    key = f"{m}_lengths"
    if key not in data[split]:
        return x, np.ones(x.shape[:2], bool)
    return x, np.arange(x.shape[1]) < np.asarray(data[split][key])[:, None]


def _train_stats(data: dict, m: str) -> tuple[np.ndarray, np.ndarray]:
    x, valid = _valid_frames(data, "train", m)
    frames = x[valid]
    return frames.mean(0), frames.std(0)


def test_train_statistics_over_valid_frames_applied_to_every_split(make_mmsa, write_pkl) -> None:
    data = make_mmsa("mosei")
    ds = load(write_pkl(data), standardize=True)
    assert set(ds.spec.extra["standardization"]) == {"audio", "vision"}
    for m in ("audio", "vision"):
        mean, std = _train_stats(data, m)
        stats = ds.spec.extra["standardization"][m]
        np.testing.assert_allclose(stats["mean"], mean, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(stats["std"], std, rtol=1e-9)
        for name in SPLITS:
            x, valid = _valid_frames(data, name, m)
            expected = np.where(valid[..., None], (x - mean) / std, 0.0)
            np.testing.assert_allclose(getattr(ds[name], m).numpy(), expected, rtol=1e-5, atol=1e-5)
        train = getattr(ds.train, m).numpy().astype(np.float64)[_valid_frames(data, "train", m)[1]]
        np.testing.assert_allclose(train.mean(0), 0.0, atol=1e-5)
        np.testing.assert_allclose(train.std(0), 1.0, rtol=1e-4)
    text = np.where(np.isfinite(data["test"]["text"]), data["test"]["text"], 0).astype(np.float32)
    np.testing.assert_array_equal(ds.test.text.numpy(), text)


def test_text_is_included_on_request(make_mmsa, write_pkl) -> None:
    data = make_mmsa("mosi", "aligned")
    ds = load(write_pkl(data), standardize=["text"])
    mean, std = _train_stats(data, "text")
    x, _ = _valid_frames(data, "valid", "text")
    np.testing.assert_allclose(ds.valid.text.numpy(), (x - mean) / std, rtol=1e-4, atol=1e-4)
    assert set(ds.spec.extra["standardization"]) == {"text"}


def test_statistics_from_an_earlier_load_are_reapplied(make_mmsa, write_pkl) -> None:
    fitted = load(write_pkl(make_mmsa(seed=0), "a.pkl"), standardize=True)
    other = make_mmsa(seed=1)
    again = load(write_pkl(other, "b.pkl"), standardize=fitted.spec.extra["standardization"])
    stats = fitted.spec.extra["standardization"]["vision"]
    x, valid = _valid_frames(other, "test", "vision")
    expected = np.where(valid[..., None], (x - stats["mean"]) / np.asarray(stats["std"]), 0.0)
    np.testing.assert_allclose(again.test.vision.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_constant_feature_is_centred_not_scaled(make_mmsa, write_pkl) -> None:
    data = make_mmsa("mosi", "aligned")
    for split in SPLITS:
        data[split]["audio"][..., 2] = 4.0
    ds = load(write_pkl(data), standardize=True)
    assert ds.spec.extra["standardization"]["audio"]["std"][2] == 1.0
    assert not ds.test.audio[..., 2].any()


def test_after_time_averaging_the_averages_are_standardised(make_mmsa, write_pkl) -> None:
    data = make_mmsa("mosi")
    ds = load(write_pkl(data), time_average=True, standardize=True)
    audio = ds.train.audio.numpy().astype(np.float64)[:, 0]
    np.testing.assert_allclose(audio.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(audio.std(0), 1.0, rtol=1e-4)


def test_unknown_modality_or_wrong_statistics_are_refused(make_mmsa, write_pkl) -> None:
    path = write_pkl(make_mmsa())
    with pytest.raises(ValueError, match="unknown modality"):
        load(path, standardize=["speech"])
    with pytest.raises(ValueError, match="5 means and 5 positive stds"):
        load(path, standardize={"audio": {"mean": [0.0] * 4, "std": [1.0] * 4}})
    with pytest.raises(ValueError, match="unknown modality"):
        load(path, standardize={"speech": {"mean": [0.0], "std": [1.0]}})
    with pytest.raises(ValueError, match="positive stds"):
        load(path, standardize={"audio": {"mean": [0.0] * 5, "std": [0.0] * 5}})
