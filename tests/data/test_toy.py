"""The synthetic demo set: MMSA format, determinism, labels, quirks, and a fair signal structure."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import RidgeCV

from msmix import MODALITIES
from msmix.data import SPLITS, TOY_SIZES, ToySize, generate_toy, load, toy_mmsa_dict
from msmix.data.toy import CONFLICT_SHARE, TOY_DIMS

MMSA_KEYS = {
    "id", "raw_text", "text", "audio", "vision", "audio_lengths", "vision_lengths",
    "regression_labels", "classification_labels", "annotations",
}  # fmt: skip


@pytest.fixture(scope="module")
def toy():
    return generate_toy(seed=0)


def test_same_seed_same_data_other_seed_other_data() -> None:
    tiny = ToySize(n=(6, 3, 4), seq_lens=(4, 6, 5))
    a, b, c = (toy_mmsa_dict(s, tiny) for s in (3, 3, 4))
    for split in SPLITS:
        for key in MMSA_KEYS:
            np.testing.assert_array_equal(np.asarray(a[split][key]), np.asarray(b[split][key]))
    assert not np.array_equal(a["train"]["text"], c["train"]["text"])


def test_mmsa_keys_shapes_and_types(toy) -> None:
    for split, n in zip(SPLITS, TOY_SIZES["small"].n):
        d = toy.mmsa[split]
        assert set(d) == MMSA_KEYS
        for m, t in zip(MODALITIES, TOY_SIZES["small"].seq_lens):
            assert d[m].shape == (n, t, TOY_DIMS[m]) and d[m].dtype == np.float32
        assert d["regression_labels"].shape == (n,) and d["regression_labels"].dtype == np.float64
        assert len(d["id"]) == len(d["raw_text"]) == len(d["annotations"]) == n
    assert TOY_DIMS == {"text": 768, "audio": 5, "vision": 20}


def test_mosi_sizes_and_lengths() -> None:
    assert TOY_SIZES["mosi"] == ToySize(n=(1284, 229, 686), seq_lens=(50, 375, 500))
    d = toy_mmsa_dict(0, ToySize(n=(3, 2, 2), seq_lens=TOY_SIZES["mosi"].seq_lens))
    assert [d["train"][m].shape for m in MODALITIES] == [(3, 50, 768), (3, 375, 5), (3, 500, 20)]


def test_labels_are_annotator_means_in_range(toy) -> None:
    for split in SPLITS:
        y = toy.mmsa[split]["regression_labels"]
        assert np.abs(y).max() <= 3.0
        np.testing.assert_allclose(y * 5, np.round(y * 5), atol=1e-9)  # means of five integer scores
        assert np.corrcoef(y, toy.sentiment[split])[0, 1] > 0.9
        sign = np.sign(y)
        np.testing.assert_array_equal(toy.mmsa[split]["classification_labels"], sign + 1)
        words = np.array(["Negative", "Neutral", "Positive"])[(sign + 1).astype(int)]
        assert list(toy.mmsa[split]["annotations"]) == list(words)


def test_ids_and_texts_say_synthetic(toy) -> None:
    for split in SPLITS:
        d = toy.mmsa[split]
        assert all(i.startswith(f"toy-{split}-") and "$_$" in i for i in d["id"])
        assert len(set(d["id"])) == len(d["id"])
        for text, y, c in zip(d["raw_text"], d["regression_labels"], toy.conflict[split]):
            assert text.startswith("synthetic sample ")
            assert ("positive" in text) == (y > 0) and ("negative" in text) == (y < 0)
            assert ("conflicts" in text) == (c >= 0) and (c < 0 or MODALITIES[c] in text)


def test_padding_lengths_and_non_finite_quirks(toy) -> None:
    for split in SPLITS:
        d = toy.mmsa[split]
        for m in ("audio", "vision"):
            x, lengths = d[m], d[f"{m}_lengths"]
            t = x.shape[1]
            assert lengths.min() >= max(1, t // 3) and lengths.max() <= t
            valid = np.arange(t) < lengths[:, None]
            assert not x[~valid].any()
            assert (x[valid] != 0).any(axis=-1).all()
        audio_bad = ~np.isfinite(d["audio"])
        assert audio_bad.any() and np.isneginf(d["audio"][audio_bad]).all()
        assert not audio_bad[..., 1:].any()  # only the log-energy channel
        vision_bad = ~np.isfinite(d["vision"])
        assert vision_bad.any() and np.isnan(d["vision"][vision_bad]).all()
        assert np.isfinite(d["text"]).all()


def _time_averaged_fit(ds, m: str) -> tuple[RidgeCV, np.ndarray, np.ndarray]:
    """A ridge regression from one modality's averaged features to the label, fitted on train."""
    train, test = (getattr(ds[s], m).double().mean(1).numpy() for s in ("train", "test"))
    model = RidgeCV(alphas=np.logspace(-2, 4, 13)).fit(train, ds.train.labels.numpy())
    return model, model.predict(test), ds.test.labels.numpy()


def test_every_modality_predicts_the_label_and_text_best() -> None:
    ds = load("toy", time_average=True)
    corr = {}
    for m in MODALITIES:
        _, pred, y = _time_averaged_fit(ds, m)
        corr[m] = np.corrcoef(pred, y)[0, 1]
    assert corr["text"] > corr["audio"] > 0 and corr["text"] > corr["vision"] > 0


def test_conflicting_samples(toy) -> None:
    conflict = np.concatenate([toy.conflict[s] for s in SPLITS])
    n = len(conflict)
    share = (conflict >= 0).mean()
    assert abs(share - CONFLICT_SHARE) < 4 * np.sqrt(CONFLICT_SHARE * (1 - CONFLICT_SHARE) / n)
    assert set(conflict[conflict >= 0]) == {0, 1, 2}
    # A text model reads the sentiment backwards on samples whose text conflicts.
    ds = load("toy", time_average=True)
    model, _, _ = _time_averaged_fit(ds, "text")
    x = ds.test.text.double().mean(1).numpy()
    flipped = toy.conflict["test"] == 0
    y = ds.test.labels.numpy()
    assert np.corrcoef(model.predict(x[flipped]), y[flipped])[0, 1] < 0 < np.corrcoef(
        model.predict(x[~flipped]), y[~flipped]
    )[0, 1]


def test_left_padded_variant_loads_to_the_same_tensors() -> None:
    from msmix.data import dataset_from_mmsa

    tiny = ToySize(n=(8, 4, 4), seq_lens=(4, 9, 7))
    right = dataset_from_mmsa(toy_mmsa_dict(1, tiny, "right"))
    left = dataset_from_mmsa(toy_mmsa_dict(1, tiny, "left"))
    assert left.spec.extra["file_padding"] == {"audio": "left", "vision": "left"}
    for split in SPLITS:
        for m in ("audio", "vision"):  # text carries no lengths in MMSA files, so it stays as written
            assert torch.equal(getattr(left[split], m), getattr(right[split], m))


def test_unknown_size_or_padding() -> None:
    with pytest.raises(ValueError, match="toy size"):
        generate_toy(0, "huge")
    with pytest.raises(ValueError, match="padding"):
        generate_toy(0, "small", "middle")
