"""Time averaging (MMSA's need_normalized), over valid frames only, against a brute-force loop."""

from __future__ import annotations

import numpy as np
import pytest
from mmsa_files import SPLITS

from msmix.data import load
from msmix.data.time_average import time_average


def _clean(x: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(x), x, 0).astype(np.float64)


@pytest.mark.parametrize("padding", ["right", "left"])
def test_mean_over_valid_frames_matches_a_loop(make_mmsa, write_pkl, padding: str) -> None:
    data = make_mmsa("sims", padding=padding)
    data["test"]["vision_lengths"][3] = 0
    data["test"]["vision"][3] = 0
    ds = load(write_pkl(data), time_average=True)
    for name in SPLITS:
        split = ds[name]
        assert split.lengths == {}
        for m in ("audio", "vision"):
            x, lengths = _clean(data[name][m]), np.asarray(data[name][f"{m}_lengths"])
            t = x.shape[1]
            expected = np.zeros((x.shape[0], 1, x.shape[2]))
            for i, n in enumerate(lengths):
                frames = x[i, :n] if padding == "right" else x[i, t - n :]
                for f in frames:
                    expected[i, 0] += f / n
            got = getattr(split, m).numpy()
            assert got.shape == expected.shape
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(split.text.numpy(), _clean(data[name]["text"]).astype(np.float32))
    assert not ds.test.vision[3].any()
    assert ds.spec.seq_lens == {"text": 39, "audio": 1, "vision": 1}
    assert ds.spec.extra["file_seq_lens"] == {"text": 39, "audio": 400, "vision": 55}
    assert ds.spec.extra["time_average"] is True and not ds.spec.aligned


def test_aligned_files_average_every_frame(make_mmsa, write_pkl) -> None:
    data = make_mmsa("mosei", "aligned")
    ds = load(write_pkl(data), time_average=True)
    x = _clean(data["valid"]["audio"])
    expected = np.array([[sum(x[i, t] for t in range(x.shape[1])) / x.shape[1]] for i in range(len(x))])
    np.testing.assert_allclose(ds.valid.audio.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_without_lengths_is_the_plain_mean() -> None:
    x = np.random.default_rng(1).normal(size=(4, 6, 3)).astype(np.float32)
    np.testing.assert_allclose(time_average(x), x.astype(np.float64).mean(1, keepdims=True), rtol=1e-6)
