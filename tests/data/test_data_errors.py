"""Every malformed-file case raises a DataError naming the file, split, key, expectation and finding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from msmix.data import DataError, load


def _error(path: Path, **options) -> DataError:
    with pytest.raises(DataError) as err:
        load(path, **options)
    return err.value


def _names_everything(e: DataError, path: Path, split: str | None, key: str | None) -> None:
    """The error's fields are set and its message shows each of them."""
    text = str(e)
    assert e.path == str(path) and str(path) in text
    assert e.split == split and (split is None or f"split {split!r}" in text)
    assert e.key == key and (key is None or f"key {key!r}" in text)
    assert e.expected and f"expected {e.expected}" in text
    assert e.found and f"found {e.found}" in text


def test_not_a_dict(write_pkl) -> None:
    path = write_pkl([1, 2, 3])
    e = _error(path)
    _names_everything(e, path, None, None)
    assert e.found == "list"


def test_missing_split(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    del data["valid"]
    path = write_pkl(data)
    e = _error(path)
    _names_everything(e, path, "valid", None)
    assert "train, valid, test" in e.expected and "valid" not in e.found.replace("keys ", "").split(", ")


def test_missing_key(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    del data["test"]["audio"]
    path = write_pkl(data)
    e = _error(path)
    _names_everything(e, path, "test", "audio")
    assert "audio" in e.expected and "audio," not in e.found


def test_wrong_rank(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    data["valid"]["vision"] = data["valid"]["vision"][:, 0, :]
    path = write_pkl(data)
    e = _error(path)
    _names_everything(e, path, "valid", "vision")
    assert e.expected == "shape (N, T, D)" and e.found == "shape (6, 20)"


def test_wrong_label_rank(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    data["train"]["regression_labels"] = np.zeros((9, 2))
    path = write_pkl(data)
    _names_everything(_error(path), path, "train", "regression_labels")


def test_sample_counts_differ_across_modalities(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    data["train"]["audio"] = data["train"]["audio"][:-1]
    path = write_pkl(data)
    e = _error(path)
    _names_everything(e, path, "train", "audio")
    assert e.expected.startswith("9 samples") and e.found == "8"


def test_sample_counts_of_lengths_and_ids(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    data["test"]["vision_lengths"] = data["test"]["vision_lengths"][:3]
    path = write_pkl(data)
    _names_everything(_error(path), path, "test", "vision_lengths")
    data = make_mmsa()
    data["test"]["id"] = data["test"]["id"][:3]
    path = write_pkl(data)
    _names_everything(_error(path), path, "test", "id")


def test_length_longer_than_padded_axis(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    data["valid"]["audio_lengths"][2] = 376
    path = write_pkl(data)
    e = _error(path)
    _names_everything(e, path, "valid", "audio_lengths")
    assert e.expected == "lengths in [0, 375] (the padded axis)" and e.found == "length 376"


def test_negative_length(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    data["valid"]["vision_lengths"][0] = -1
    path = write_pkl(data)
    assert _error(path).found == "length -1"


def test_fractional_length(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    data["valid"]["vision_lengths"] = data["valid"]["vision_lengths"] + 0.5
    path = write_pkl(data)
    _names_everything(_error(path), path, "valid", "vision_lengths")


def test_label_outside_range(make_mmsa, write_pkl) -> None:
    data = make_mmsa("mosi")
    data["test"]["regression_labels"][5] = 3.2
    path = write_pkl(data)
    e = _error(path)
    _names_everything(e, path, "test", "regression_labels")
    assert e.expected == "labels in [-3, 3]" and e.found.startswith("3.2 (sample vid2")


def test_sims_modality_label_outside_range(make_mmsa, write_pkl) -> None:
    data = make_mmsa("sims")
    data["valid"]["regression_labels_A"][1] = -1.4
    path = write_pkl(data)
    e = _error(path)
    _names_everything(e, path, "valid", "regression_labels_A")
    assert e.expected == "labels in [-1, 1]"


def test_sims_without_modality_labels(make_mmsa, write_pkl) -> None:
    data = make_mmsa("sims")
    for split in ("train", "valid", "test"):
        for part in "TAV":
            del data[split][f"regression_labels_{part}"]
    path = write_pkl(data)
    _names_everything(_error(path), path, "train", "regression_labels_T")


def test_non_finite_label(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    data["train"]["regression_labels"][3] = np.nan
    path = write_pkl(data)
    e = _error(path)
    _names_everything(e, path, "train", "regression_labels")
    assert e.found == "1 non-finite"


def test_non_numeric_features(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    data["test"]["text"] = np.full((7, 50, 768), "word")
    path = write_pkl(data)
    e = _error(path)
    _names_everything(e, path, "test", "text")
    assert e.expected == "a numeric array" and e.found == "dtype <U4"


def test_ragged_features(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    data["test"]["audio"] = [np.zeros((3, 5)), np.zeros((4, 5))]
    path = write_pkl(data)
    _names_everything(_error(path), path, "test", "audio")


def test_shapes_differ_across_splits(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    data["test"]["vision"] = data["test"]["vision"][:, :400]
    data["test"]["vision_lengths"] = np.minimum(data["test"]["vision_lengths"], 400)
    path = write_pkl(data)
    e = _error(path)
    _names_everything(e, path, "test", "vision")
    assert e.expected == "(N, 500, 20) as in train" and e.found == "(7, 400, 20)"


def test_lengths_present_in_train_only(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    del data["valid"]["audio_lengths"]
    path = write_pkl(data)
    e = _error(path)
    _names_everything(e, path, "valid", "audio_lengths")
    assert (e.expected, e.found) == ("present, as in train", "absent")


def test_modality_labels_present_in_some_splits_only(make_mmsa, write_pkl) -> None:
    data = make_mmsa("sims")
    del data["train"]["regression_labels_V"]
    path = write_pkl(data)
    e = _error(path)
    _names_everything(e, path, "valid", "regression_labels_V")
    assert (e.expected, e.found) == ("absent, as in train", "present")


def test_strict_non_finite(make_mmsa, write_pkl) -> None:
    path = write_pkl(make_mmsa())
    e = _error(path, strict=True)
    _names_everything(e, path, "train", "audio")


def test_dims_of_no_known_data_set(make_mmsa, write_pkl) -> None:
    data = make_mmsa("custom")
    del data["config"]
    path = write_pkl(data)
    e = _error(path)
    _names_everything(e, path, None, "audio/vision")
    assert "mosi 5/20" in e.expected and e.found == "25/49" and "kind=" in str(e)


def test_a_csv_given_as_features(tmp_path: Path) -> None:
    path = tmp_path / "label.csv"
    path.write_text("id,text,label,mode\n")
    e = _error(path)
    assert e.path == str(path) and "read_label_csv" in str(e)


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_an_empty_split_is_refused(make_mmsa, write_pkl, split: str) -> None:
    data = make_mmsa()
    data[split] = {key: value[:0] for key, value in data[split].items()}
    path = write_pkl(data)
    e = _error(path)
    _names_everything(e, path, split, "regression_labels")
    assert (e.expected, e.found) == ("at least one sample", "0 samples")


@pytest.mark.parametrize("modality", ["text", "audio", "vision"])
def test_sequences_without_frames_are_refused(make_mmsa, write_pkl, modality: str) -> None:
    data = make_mmsa("mosi", "aligned")
    for split in ("train", "valid", "test"):
        data[split][modality] = data[split][modality][:, :0]
    path = write_pkl(data)
    e = _error(path)
    _names_everything(e, path, "train", modality)
    assert e.expected.startswith("at least one frame") and e.found.startswith("shape (9, 0, ")


def test_frames_without_features_are_refused(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    data["valid"]["audio"] = data["valid"]["audio"][:, :, :0]
    path = write_pkl(data)
    e = _error(path)
    _names_everything(e, path, "valid", "audio")
    assert e.found == "shape (6, 375, 0)"


@pytest.mark.parametrize(
    ("ids", "found"),
    [("abcdefghi", "a str of length 9"), (b"abcdefghi", "a bytes of length 9"), (None, "None"), (7, "a int"),
     (["a"] * 8 + [None], "a NoneType at position 8")],
)
def test_ids_must_be_a_list_of_strings(make_mmsa, write_pkl, ids: object, found: str) -> None:
    data = make_mmsa()
    data["train"]["id"] = ids
    path = write_pkl(data)
    e = _error(path)
    _names_everything(e, path, "train", "id")
    assert e.expected == "a list or 1-D array of 9 strings, one per sample" and e.found == found


@pytest.mark.parametrize(
    ("labels", "message"),
    [([10**400] + [0] * 8, "too large for a float"), ([1e300] + [0.0] * 8, "labels too large"), (["1"] + [0] * 8, "not numeric")],
)
def test_labels_beyond_float32_or_not_numbers_are_refused(make_mmsa, write_pkl, labels: list, message: str) -> None:
    data = make_mmsa("custom")
    data["train"]["regression_labels"] = labels
    path = write_pkl(data)
    e = _error(path)
    _names_everything(e, path, "train", "regression_labels")
    assert message in str(e)
