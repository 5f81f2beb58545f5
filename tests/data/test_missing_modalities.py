"""Files whose modalities are missing (every length 0), files whose text padding is zeroed, and the
kind of a file whose text width is not its data set's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from msmix.data import DataWarning, load
from msmix.data.padding import zeroed_tail_share


def _drop(data: dict, modality: str) -> dict:
    for split in ("train", "valid", "test"):
        d = data[split]
        d[modality] = np.zeros_like(d[modality][:, :1])
        d[f"{modality}_lengths"] = np.zeros(len(d["regression_labels"]), dtype=np.int64)
    return data


def test_a_modality_no_sample_holds_is_marked_missing_without_a_padding_guess(make_mmsa, write_pkl) -> None:
    data = _drop(make_mmsa("mosi", "unaligned"), "vision")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        ds = load(write_pkl(data))
    assert ds.spec.missing == ("vision",) and ds.spec.seq_lens["vision"] == 1
    assert any("no sample holds vision" in note for note in ds.notes)
    assert ds.spec.extra["file_padding"]["vision"] == "right"


def test_standardizing_skips_a_missing_modality(make_mmsa, write_pkl) -> None:
    ds = load(write_pkl(_drop(make_mmsa("mosi", "unaligned"), "audio")), standardize=True)
    assert "audio" not in ds.spec.extra["standardization"]
    assert not ds.train.audio.any() and ds.spec.missing == ("audio",)


def test_a_modality_some_samples_lack_is_not_missing(make_mmsa, write_pkl) -> None:
    data = make_mmsa("mosi", "unaligned")
    data["train"]["audio_lengths"] = np.asarray(data["train"]["audio_lengths"])
    data["train"]["audio_lengths"][2] = 0
    data["train"]["audio"][2] = 0
    assert load(write_pkl(data)).spec.missing == ()


def test_a_known_data_sets_sizes_with_another_text_width_read_as_custom(make_mmsa, write_pkl) -> None:
    data = make_mmsa("mosi", "unaligned")
    for split in ("train", "valid", "test"):
        data[split]["text"] = data[split]["text"][:, :, :384].copy()
    ds = load(write_pkl(data))
    assert ds.spec.kind == "custom" and ds.spec.dims["text"] == 384
    assert any("text features have 384 dims where CMU-MOSI files have 768" in n for n in ds.notes)
    assert load(write_pkl(data), kind="mosi").spec.kind == "mosi"
    assert load(write_pkl(make_mmsa("mosi", "unaligned"))).spec.kind == "mosi"


def test_zeroed_text_padding_is_never_silent(make_mmsa, write_pkl) -> None:
    data = make_mmsa("mosi", "aligned")
    rng = np.random.default_rng(0)
    for split in ("train", "valid", "test"):
        text = data[split]["text"]
        for i, n in enumerate(rng.integers(3, text.shape[1] - 1, len(text))):
            text[i, n:] = 0
    with pytest.warns(DataWarning, match="end in all-zero text frames") as caught:
        ds = load(write_pkl(data))
    assert "100% of the train transcripts" in str(caught[0].message)
    assert any("use_text_lengths" in n for n in ds.notes)


def test_full_text_features_raise_no_padding_warning(make_mmsa, write_pkl) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        load(write_pkl(make_mmsa("mosi", "aligned")))


@pytest.mark.parametrize("seed", range(4))
def test_zeroed_tail_share_against_a_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(40, 7, 3)).astype(np.float32)
    for i in range(40):
        cut = rng.integers(0, 8)
        x[i, cut:] = 0
        if rng.random() < 0.2:
            x[i] = 0  # an empty sequence counts in neither the share nor its base
    used = [i for i in range(40) if np.any(x[i] != 0)]
    expected = np.mean([not np.any(x[i, -1] != 0) for i in used])
    assert zeroed_tail_share(x) == pytest.approx(expected)
    assert zeroed_tail_share(np.zeros((3, 4, 2))) == 0.0
