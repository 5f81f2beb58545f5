"""Reading MMSA feature pickles of every data set: each loaded value against the source arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mmsa_files import LABEL_RANGES, MODALITIES, REAL_SHAPES, SPLITS

from msmix.data import DataError, load

CASES = sorted(REAL_SHAPES)


def _expected_features(x: np.ndarray) -> np.ndarray:
    """What the loader must give: non-finite values as 0, in float32."""
    return np.where(np.isfinite(x), x, 0).astype(np.float32)


@pytest.mark.parametrize("kind,layout", CASES)
def test_every_value_matches_the_source(make_mmsa, write_pkl, kind: str, layout: str) -> None:
    data = make_mmsa(kind, layout)
    path = write_pkl(data)
    ds = load(path)
    seq_lens, dims = REAL_SHAPES[(kind, layout)]
    for name in SPLITS:
        src, split = data[name], ds[name]
        assert len(split) == len(src["regression_labels"])
        for m in MODALITIES:
            loaded = getattr(split, m)
            assert loaded.dtype == torch.float32
            np.testing.assert_array_equal(loaded.numpy(), _expected_features(src[m]))
            assert ds.cleaned[f"{name}/{m}"] == int((~np.isfinite(src[m])).sum())
            if layout == "unaligned" and m != "text":
                lengths = getattr(split, f"{m}_lengths")
                assert lengths.dtype == torch.int64
                np.testing.assert_array_equal(lengths.numpy(), np.asarray(src[f"{m}_lengths"]))
        np.testing.assert_array_equal(split.labels.numpy(), src["regression_labels"].astype(np.float32))
        assert split.labels.dtype == torch.float32
        assert split.ids == [str(i) for i in src["id"]] and all("$_$" in i for i in split.ids)
        assert split.raw_text == list(src["raw_text"])
    if layout == "aligned":
        assert ds.train.lengths == {}
    assert ds.spec.kind == kind
    assert ds.spec.dims == dict(zip(MODALITIES, dims))
    assert ds.spec.seq_lens == dict(zip(MODALITIES, seq_lens))
    assert ds.spec.label_range == LABEL_RANGES[kind]
    assert ds.spec.aligned == (layout == "aligned")
    assert not ds.spec.synthetic and ds.source == str(path)


def test_audio_inf_and_vision_nan_are_counted_per_split_and_modality(make_mmsa, write_pkl) -> None:
    data = make_mmsa("mosi", "unaligned")
    ds = load(write_pkl(data))
    assert ds.cleaned["train/audio"] == int(np.isneginf(data["train"]["audio"]).sum()) > 0
    assert ds.cleaned["test/vision"] == int(np.isnan(data["test"]["vision"]).sum()) > 0
    assert ds.cleaned["valid/text"] == 0
    assert all(torch.isfinite(getattr(ds[s], m)).all() for s in SPLITS for m in MODALITIES)


def test_sims_per_modality_labels(make_mmsa, write_pkl) -> None:
    data = make_mmsa("sims", "unaligned")
    ds = load(write_pkl(data))
    for name in SPLITS:
        assert set(ds[name].modality_labels) == {"T", "A", "V"}
        for part in ("T", "A", "V"):
            expected = data[name][f"regression_labels_{part}"].astype(np.float32)
            np.testing.assert_array_equal(getattr(ds[name], f"labels_{part}").numpy(), expected)
    assert ds.spec.metrics_kind == "sims"


def test_mmsa_fet_output_is_custom_with_range_from_labels(make_mmsa, write_pkl) -> None:
    data = make_mmsa("custom", "unaligned")
    ds = load(write_pkl(data, "feature.pkl"))
    assert ds.spec.kind == "custom" and ds.spec.name == "custom (feature.pkl)"
    largest = max(np.abs(data[s]["regression_labels"]).max() for s in SPLITS)
    assert ds.spec.label_range == 1.0 >= largest


def test_custom_label_range_beyond_conventional_ones_is_the_largest_label(make_mmsa, write_pkl) -> None:
    data = make_mmsa("custom", "unaligned")
    data["valid"]["regression_labels"][4] = -4.5
    assert load(write_pkl(data), kind="custom").spec.label_range == 4.5
    data["valid"]["regression_labels"][4] = 2.0
    assert load(write_pkl(data), kind="custom").spec.label_range == 3.0


def test_custom_label_range_can_be_given(make_mmsa, write_pkl) -> None:
    ds = load(write_pkl(make_mmsa("custom", "unaligned")), label_range=5.0)
    assert ds.spec.label_range == 5.0


def test_known_kind_with_other_dims_loads_with_a_note(make_mmsa, write_pkl) -> None:
    ds = load(write_pkl(make_mmsa("mosei", "aligned")), kind="mosi")
    assert ds.spec.kind == "mosi"
    assert any("audio features have 74 dims where CMU-MOSI files have 5" in n for n in ds.notes)


def test_unknown_kind_name_is_refused(make_mmsa, write_pkl) -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        load(write_pkl(make_mmsa()), kind="iemocap")


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16, "float16"])
def test_dtype_option(make_mmsa, write_pkl, dtype) -> None:
    data = make_mmsa("custom", "unaligned")  # float64 source, so float64 must keep every digit
    ds = load(write_pkl(data), dtype=dtype)
    want = getattr(torch, dtype) if isinstance(dtype, str) else dtype
    assert ds.train.audio.dtype == want and ds.train.labels.dtype == torch.float32
    expected = torch.from_numpy(np.where(np.isfinite(data["train"]["audio"]), data["train"]["audio"], 0)).to(want)
    assert torch.equal(ds.train.audio, expected)


def test_integer_dtype_is_refused(make_mmsa, write_pkl) -> None:
    with pytest.raises(ValueError, match="floating torch dtype"):
        load(write_pkl(make_mmsa()), dtype=torch.int32)


def test_device_option_places_every_tensor(make_mmsa, write_pkl) -> None:
    ds = load(write_pkl(make_mmsa()), device="meta" if not torch.cuda.is_available() else "cuda")
    for name in SPLITS:
        split = ds[name]
        tensors = [split.text, split.audio, split.vision, split.labels, *split.lengths.values()]
        assert all(t.device == split.device for t in tensors)
        assert split.device.type != "cpu"


def test_labels_of_shape_n_by_1_and_lengths_as_floats_are_accepted(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    expected = data["train"]["regression_labels"].astype(np.float32)
    data["train"]["regression_labels"] = data["train"]["regression_labels"][:, None]
    data["valid"]["audio_lengths"] = data["valid"]["audio_lengths"].astype(np.float64)
    ds = load(write_pkl(data))
    np.testing.assert_array_equal(ds.train.labels.numpy(), expected)
    assert ds.valid.audio_lengths.dtype == torch.int64


def test_torch_tensors_in_the_file_are_read(make_mmsa, write_pkl) -> None:
    data = make_mmsa("custom", "unaligned")
    expected = _expected_features(data["test"]["vision"])
    for split in SPLITS:
        for m in MODALITIES:
            data[split][m] = torch.from_numpy(data[split][m])
    ds = load(write_pkl(data, protocol=5))
    np.testing.assert_array_equal(ds.test.vision.numpy(), expected)


def test_a_dict_given_directly_is_left_untouched(make_mmsa) -> None:
    from msmix.data import dataset_from_mmsa

    data = make_mmsa()
    before = data["train"]["audio"].copy()
    dataset_from_mmsa(data, kind="mosi")
    np.testing.assert_array_equal(data["train"]["audio"], before)  # NaN-aware, -inf kept


def test_extra_keys_are_ignored(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    data["train"]["something_new"] = "a key MMSA does not write"
    data["train"]["annotations_extra"] = np.zeros((9, 3, 50))
    assert len(load(write_pkl(data)).train) == 9


def test_strict_refuses_non_finite_features(make_mmsa, write_pkl) -> None:
    path = write_pkl(make_mmsa())
    with pytest.raises(DataError) as err:
        load(path, strict=True)
    e = err.value
    assert (e.path, e.split, e.key) == (str(path), "train", "audio")
    assert e.expected == "finite values" and "-inf" in e.found


def test_strict_loads_clean_files(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    for split in SPLITS:
        for m in MODALITIES:
            data[split][m] = np.nan_to_num(data[split][m], nan=0.0, neginf=0.0, posinf=0.0)
    ds = load(write_pkl(data), strict=True)
    assert sum(ds.cleaned.values()) == 0
