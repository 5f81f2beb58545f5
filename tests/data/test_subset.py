"""``train_subset``: a seeded, stratified share of the train split, valid and test untouched."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import pytest
import torch

import msmix.data
from msmix.data import Dataset, train_subset
from msmix.data.spec import DataSpec
from msmix.data.subset import sentiment_classes, subset_size
from msmix.testing import tiny_dataset


@pytest.fixture(scope="module")
def toy() -> Dataset:
    return msmix.data.load("toy")


def mosi_class(y: float) -> int:
    """MOSI's seven classes, written out: round half to even of the label clipped to [-3, 3]."""
    return round(min(3.0, max(-3.0, y)))


def class_counts(labels: list[float]) -> Counter:
    return Counter(mosi_class(y) for y in labels)


def positions(subset: Dataset, full: Dataset) -> list[int]:
    """Where each subset sample sits in the full train split (ids are unique in the toy data)."""
    where = {sample_id: i for i, sample_id in enumerate(full.train.ids)}
    return [where[sample_id] for sample_id in subset.train.ids]


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5])
def test_each_class_keeps_its_share_within_one_sample(toy: Dataset, fraction: float) -> None:
    subset = train_subset(toy, fraction, seed=3)
    assert len(subset.train) == round(fraction * len(toy.train))
    full, kept = class_counts(toy.train.labels.tolist()), class_counts(subset.train.labels.tolist())
    assert len(full) == 7
    for cls, count in full.items():
        assert abs(kept[cls] - fraction * count) < 1, (cls, count, kept[cls])


@pytest.mark.parametrize(("n", "fraction"), [(9, 0.28), (23, 0.1), (40, 0.33), (64, 0.9), (5, 0.01)])
def test_odd_sizes_keep_each_class_within_one_of_its_share_of_the_subset(n: int, fraction: float) -> None:
    data = tiny_dataset(n=n, seed=n)
    subset = train_subset(data, fraction, seed=1)
    k = len(subset.train)
    assert k == max(1, math.floor(fraction * n + 0.5)) == subset_size(n, fraction)
    full, kept = class_counts(data.train.labels.tolist()), class_counts(subset.train.labels.tolist())
    for cls, count in full.items():
        assert abs(kept[cls] - count * k / n) < 1, (cls, count, kept[cls])


def test_the_subset_is_the_chosen_samples_in_their_original_order(toy: Dataset) -> None:
    subset = train_subset(toy, 0.25, seed=5)
    where = positions(subset, toy)
    assert where == sorted(where) and len(set(where)) == len(where)
    index = torch.tensor(where)
    for name in ("text", "audio", "vision", "labels"):
        assert torch.equal(getattr(subset.train, name), getattr(toy.train, name)[index]), name
    for name, lengths in toy.train.lengths.items():
        assert torch.equal(subset.train.lengths[name], lengths[index]), name
    assert subset.train.raw_text == [toy.train.raw_text[i] for i in where]


def test_the_same_seed_gives_the_same_subset_and_another_seed_another(toy: Dataset) -> None:
    first = positions(train_subset(toy, 0.25, seed=11), toy)
    assert positions(train_subset(toy, 0.25, seed=11), toy) == first
    assert positions(train_subset(toy, 0.25, seed=12), toy) != first
    assert positions(train_subset(toy, 0.25, seed=2**62 + 1), toy) != first  # derived seeds are 63-bit


def test_valid_test_and_the_description_are_kept(toy: Dataset) -> None:
    subset = train_subset(toy, 0.5, seed=0)
    assert subset.valid is toy.valid and subset.test is toy.test
    assert subset.spec == toy.spec and subset.source == toy.source and subset.load_args == toy.load_args
    assert subset.synthetic and subset.train_fraction == 0.5 and toy.train_fraction == 1.0
    assert len(toy.train) == 400, "the data set it came from is not changed"
    train_line = subset.summary().splitlines()[1]
    assert "n=   200" in train_line and "50 % stratified subset" in train_line
    assert "stratified subset" not in toy.summary()


def test_fraction_one_returns_the_data_unchanged(toy: Dataset) -> None:
    assert train_subset(toy, 1.0, seed=4) is toy
    assert train_subset(toy, 1, seed=4) is toy


@pytest.mark.parametrize("fraction", [0, 0.0, -0.25, 1.5, float("nan"), "0.5", None, True])
def test_fractions_outside_zero_to_one_are_refused_by_name(toy: Dataset, fraction: object) -> None:
    with pytest.raises(ValueError, match=r"train_fraction must be a number in \(0, 1\]") as error:
        train_subset(toy, fraction, seed=0)  # type: ignore[arg-type]
    assert repr(fraction) in str(error.value)


def test_single_member_classes_and_tiny_fractions_do_not_fail() -> None:
    data = tiny_dataset(n=12, seed=0)
    labels = torch.tensor([-3.0, 3.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])  # -3 and 3: one sample each
    data = replace(data, train=replace(data.train, labels=labels))
    for fraction, expected in ((0.5, 6), (0.1, 1), (1e-6, 1)):
        subset = train_subset(data, fraction, seed=2)
        assert len(subset.train) == expected
        kept = class_counts(subset.train.labels.tolist())
        assert kept[-3] <= 1 and kept[3] <= 1
    half = class_counts(train_subset(data, 0.5, seed=2).train.labels.tolist())
    assert half[0] == 3 and half[1] == 2, half  # 6 * 6 / 12 and 4 * 6 / 12 exactly


def test_sims_labels_are_stratified_on_mmsa_five_classes() -> None:
    spec = DataSpec(kind="sims", dims={"text": 1, "audio": 1, "vision": 1}, seq_lens={"text": 1, "audio": 1, "vision": 1},
                    label_range=1.0)
    labels = torch.tensor([-1.0, -0.8, -0.7, -0.6, -0.1, 0.0, 0.1, 0.2, 0.7, 0.8, 1.2])
    # (-inf, -0.7] -> 0, (-0.7, -0.1] -> 1, (-0.1, 0.1] -> 2, (0.1, 0.7] -> 3, (0.7, inf) -> 4, in float32 as MMSA
    assert sentiment_classes(labels, spec).tolist() == [0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    mosi = replace(spec, kind="mosi", label_range=3.0)
    assert sentiment_classes(torch.tensor([-3.4, -2.5, 0.5, 1.5, 2.6]), mosi).tolist() == [-3, -2, 0, 2, 3]


def test_the_subset_stays_on_the_data_device(toy: Dataset) -> None:
    subset = train_subset(toy, 0.1, seed=0)
    assert subset.train.device == toy.train.device
    assert subset.train.batch(torch.arange(3)).labels.shape == (3,)
