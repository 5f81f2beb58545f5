"""The demo set's expressiveness: per-sample, per-modality intensities where asked for, the same
numbers as before where not."""

from __future__ import annotations

import numpy as np
import pytest

from msmix import MODALITIES
from msmix.data import load
from msmix.data.toy import SIGNAL, TOY_DIMS, generate_toy


def _text_gain(toy, seed: int) -> np.ndarray:
    """Each train sample's text drive over its sentiment: its frames' mean, mapped back through the
    text look (replayed from the generator's seed) and projected on the sentiment direction."""
    rng = np.random.default_rng(seed)
    looks = {}
    for m, d in TOY_DIMS.items():  # the order and draws of generate_toy's looks
        unit = lambda v: v / np.linalg.norm(v)  # noqa: E731
        looks[m] = (unit(rng.standard_normal(d)), unit(rng.standard_normal(d)),
                    np.exp(rng.normal(0.0, 0.5, d)), rng.normal(0.0, 0.5, d))
    direction, _, scale, offset = looks["text"]
    x = toy.mmsa["train"]["text"]
    valid = np.abs(x).sum(axis=2) > 0
    mean = (x * valid[..., None]).sum(axis=1) / valid.sum(axis=1, keepdims=True)
    drive = ((mean - offset) / scale) @ direction / SIGNAL["text"]
    s = toy.sentiment["train"]
    keep = (toy.conflict["train"] < 0) & (np.abs(s) > 1.0)
    return drive[keep] / s[keep]


def test_default_data_are_unchanged_by_the_option():
    plain, zero = generate_toy(3), generate_toy(3, expressiveness=0.0)
    for split in ("train", "valid", "test"):
        for key in (*MODALITIES, "regression_labels"):
            np.testing.assert_array_equal(plain.mmsa[split][key], zero.mmsa[split][key])


def test_expressive_data_give_each_sample_its_own_intensity_per_modality():
    """Without expressiveness a sample's text drive is its sentiment (gain 1, up to noise); with it
    the gain varies from sample to sample with about the spread asked for."""
    flat = np.log(np.abs(_text_gain(generate_toy(0), 0)))
    spread = np.log(np.abs(_text_gain(generate_toy(0, expressiveness=0.8), 0)))
    assert abs(np.median(flat)) < 0.1 and flat.std() < 0.4  # measured noise alone: about 0.3
    assert 0.7 < spread.std() < 1.3 and spread.std() > 2 * flat.std()


def test_load_records_the_option_and_refuses_it_for_files(tmp_path):
    ds = load("toy", expressiveness=0.5)
    assert ds.load_args["expressiveness"] == 0.5 and ds.spec.extra["expressiveness"] == 0.5
    assert "expressiveness 0.5" in ds.source and ds.spec.synthetic
    assert "expressiveness" not in load("toy").spec.extra
    with pytest.raises(ValueError, match="expressiveness only applies to the toy data"):
        load(tmp_path / "x.pkl", expressiveness=0.5)
    with pytest.raises(ValueError, match=r"expressiveness must be a number in \[0, 2\]"):
        generate_toy(0, expressiveness=-1)
    assert SIGNAL["text"] > SIGNAL["audio"]  # the fixed strengths stay
