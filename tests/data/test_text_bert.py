"""MMSA's ``text_bert`` tokens: read as int64 where every split has them, cut into batches with the
features, refused with the file, split and key when malformed, dropped (with a warning) when partial."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from msmix.data import load
from msmix.data.errors import DataError, DataWarning


def test_tokens_load_as_integers_and_follow_the_batch(make_mmsa, write_pkl) -> None:
    data = make_mmsa("mosi", "unaligned")
    ds = load(write_pkl(data))
    tokens = ds.train.text_bert
    assert tokens.dtype == torch.int64 and tokens.shape == (len(ds.train), 3, 50)
    np.testing.assert_array_equal(tokens.numpy(), data["train"]["text_bert"].astype(np.int64))
    index = torch.tensor([3, 0, 5])
    batch = ds.train.batch(index)
    torch.testing.assert_close(batch.text_bert, tokens[index])
    assert ds.valid.to("cpu").text_bert is not None


def test_files_without_tokens_load_without_them(make_mmsa, write_pkl) -> None:
    assert load(write_pkl(make_mmsa("custom", "unaligned"))).train.text_bert is None


def test_tokens_in_one_split_only_are_dropped_with_a_warning(make_mmsa, write_pkl) -> None:
    data = make_mmsa("mosi", "unaligned")
    del data["valid"]["text_bert"]
    with pytest.warns(DataWarning, match="'text_bert' is in split\\(s\\) train, test only"):
        ds = load(write_pkl(data))
    assert all(ds[s].text_bert is None for s in ("train", "valid", "test"))


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda t: t[:, :2], "wrong shape"),
        (lambda t: t + 0.5, "whole numbers"),
        (lambda t: -t, "must not be negative"),
        (lambda t: np.concatenate([t[:, :1], t[:, 1:2] * 2, t[:, 2:]], axis=1), "attention mask must be 0 or 1"),
    ],
)
def test_malformed_tokens_name_file_split_and_key(make_mmsa, write_pkl, corrupt, message) -> None:
    data = make_mmsa("mosi", "unaligned")
    data["test"]["text_bert"] = corrupt(data["test"]["text_bert"])
    path = write_pkl(data)
    with pytest.raises(DataError, match=message) as err:
        load(path)
    assert (err.value.path, err.value.split, err.value.key) == (str(path), "test", "text_bert")


def test_a_token_length_that_differs_from_train_is_refused(make_mmsa, write_pkl) -> None:
    data = make_mmsa("mosi", "unaligned")
    data["valid"]["text_bert"] = data["valid"]["text_bert"][:, :, :40]
    with pytest.raises(DataError, match="shape differs from train") as err:
        load(write_pkl(data))
    assert (err.value.split, err.value.key) == ("valid", "text_bert")
