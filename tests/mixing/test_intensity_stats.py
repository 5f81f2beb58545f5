"""intensity_stats against numpy float64 re-derivations, on random inputs and on edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from msmix.mixing.intensity_stats import STATS, intensity_stats


def _reference(i: np.ndarray, y: np.ndarray, label_range: float, saturation: float = 0.01) -> dict[str, float]:
    def r(a, b):
        return float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else math.nan

    return {
        "corr": r(i, y),
        "abs_corr": r(np.abs(i), np.abs(y)),
        "saturated": float(np.mean([abs(v) >= (1 - saturation) * label_range for v in i])),
        "mean": float(i.mean()),
        "std": float(i.std()),
    }


@pytest.mark.parametrize(("n", "label_range", "seed"), [(50, 3.0, 0), (7, 1.0, 1), (2, 3.0, 2), (300, 3.0, 3)])
def test_matches_numpy_on_random_inputs(n, label_range, seed):
    rng = np.random.default_rng(seed)
    y = rng.uniform(-label_range, label_range, n)
    values = {"text": np.tanh(rng.normal(size=n) * 3) * label_range, "audio": rng.uniform(-label_range, label_range, n)}
    got = intensity_stats({m: torch.tensor(v, dtype=torch.float32) for m, v in values.items()},
                          torch.tensor(y, dtype=torch.float32), label_range)
    assert set(got) == {f"{m}_{s}" for m in values for s in STATS}
    for m, v in values.items():
        want = _reference(v.astype(np.float32).astype(np.float64), y.astype(np.float32).astype(np.float64), label_range)
        for stat, value in want.items():
            assert got[f"{m}_{stat}"] == pytest.approx(value, rel=1e-9, abs=1e-12), (m, stat)


def test_a_collapsed_predictor_has_no_correlation_and_counts_as_saturated():
    y = torch.linspace(-3, 3, 11)
    got = intensity_stats({"vision": torch.full((11,), 2.999), "audio": torch.full((11,), -2.5)}, y, 3.0)
    assert math.isnan(got["vision_corr"]) and math.isnan(got["vision_abs_corr"])
    assert got["vision_saturated"] == 1.0 and got["audio_saturated"] == 0.0
    assert got["vision_std"] == 0.0 and got["audio_mean"] == pytest.approx(-2.5)


def test_saturation_boundary_and_a_perfect_predictor():
    y = torch.tensor([-3.0, -1.0, 0.5, 2.0])
    exact = intensity_stats({"text": y.clone()}, y, 3.0)
    assert exact["text_corr"] == pytest.approx(1.0) and exact["text_abs_corr"] == pytest.approx(1.0)
    assert exact["text_saturated"] == 0.25  # -3 sits on the range end
    flipped = intensity_stats({"text": -y}, y, 3.0)
    assert flipped["text_corr"] == pytest.approx(-1.0) and flipped["text_abs_corr"] == pytest.approx(1.0)
    inside = intensity_stats({"text": torch.tensor([2.96, -2.97, 0.0, 1.0])}, y, 3.0)
    assert inside["text_saturated"] == 0.25  # 2.96 < 0.99 * 3 = 2.97 <= |-2.97|


def test_one_sample_gives_nan_correlations_and_a_shape_mismatch_is_named():
    got = intensity_stats({"text": torch.tensor([1.0])}, torch.tensor([2.0]), 3.0)
    assert math.isnan(got["text_corr"]) and got["text_std"] == 0.0
    with pytest.raises(ValueError, match="'audio'.*one per label"):
        intensity_stats({"audio": torch.zeros(3)}, torch.zeros(4), 3.0)
