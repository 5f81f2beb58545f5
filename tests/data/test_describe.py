"""describe and inspect_problems: the numbers against NumPy, the problems a loaded file shows."""

from __future__ import annotations

import numpy as np
import pytest
from mmsa_files import SPLITS

from msmix.data import describe, inspect_problems, load


def test_describe_matches_numpy(make_mmsa, write_pkl) -> None:
    data = make_mmsa("sims")
    ds = load(write_pkl(data))
    table = describe(ds)
    assert list(table.index) == list(SPLITS)
    for split in SPLITS:
        y = data[split]["regression_labels"].astype(np.float32).astype(np.float64)
        row = table.loc[split]
        assert row["data"] == "sims unaligned_39" and row["n"] == len(y)
        assert row["label_mean"] == pytest.approx(y.mean())
        assert row["label_std"] == pytest.approx(y.std(ddof=1))
        assert (row["label_min"], row["label_max"]) == (y.min(), y.max())
        assert row["share_positive"] == pytest.approx((y > 0).mean())
        assert row["share_negative"] == pytest.approx((y < 0).mean())
        assert row["share_zero"] == pytest.approx((y == 0).mean())
        assert row["vision_shape"] == (len(y), 55, 709)


def test_describe_names_the_synthetic_set() -> None:
    assert set(describe(load("toy"))["data"]) == {"toy (synthetic)"}


def test_problems_list_cleaning_empty_sequences_and_repeated_ids(make_mmsa, write_pkl) -> None:
    data = make_mmsa()
    data["valid"]["audio_lengths"][2] = 0
    data["valid"]["audio"][2] = 0
    data["test"]["id"][1] = data["test"]["id"][0]
    data["test"]["id"][2] = data["train"]["id"][4]
    ds = load(write_pkl(data))
    problems = inspect_problems(ds)
    for split in SPLITS:
        n = ds.cleaned[f"{split}/audio"]
        assert f"{split}/audio: {n} non-finite values set to 0" in problems
    assert "valid/audio: 1 sample(s) have no valid frames" in problems
    assert "test: 1 repeated id(s)" in problems
    assert f"test: 1 id(s) also in train, e.g. {data['train']['id'][4]}" in problems
    assert not any("text" in p for p in problems)


def test_loading_notes_are_problems(make_mmsa, write_pkl) -> None:
    ds = load(write_pkl(make_mmsa("mosei", "aligned")), kind="mosi")
    assert ds.notes and set(ds.notes) <= set(inspect_problems(ds))
