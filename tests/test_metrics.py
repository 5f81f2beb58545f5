"""msmix.metrics against an independent, loop-based re-derivation of MMSA's definitions.

The reference below uses plain Python per sample: built-in ``round`` (half to even), ``min/max``
clipping, bins found by walking the edge list, Pearson r from sums, and weighted F1 from
confusion counts, so it shares no code path with the numpy / scikit-learn implementation.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from msmix.metrics import (
    MMSA_KEYS,
    primary_metrics,
    regression_metrics,
    to_percent,
)

# ---------------------------------------------------------------- reference (loops, no numpy)

SIMS_EDGES_REF = {2: [-1.01, 0.0, 1.01], 3: [-1.01, -0.1, 0.1, 1.01], 5: [-1.01, -0.7, -0.1, 0.1, 0.7, 1.01]}


def ref_clip(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def ref_weighted_f1(truth: list, pred: list) -> float:
    """Per-class F1 = 2tp / (2tp + fp + fn), weighted by the class's count in truth."""
    total = 0.0
    for c in set(truth):
        tp = sum(1 for t, p in zip(truth, pred) if t == c and p == c)
        fp = sum(1 for t, p in zip(truth, pred) if t != c and p == c)
        fn = sum(1 for t, p in zip(truth, pred) if t == c and p != c)
        support = sum(1 for t in truth if t == c)
        total += support / len(truth) * (2 * tp / (2 * tp + fp + fn))
    return total


def ref_accuracy(a: list, b: list) -> float:
    return sum(1 for x, y in zip(a, b) if x == y) / len(a)


def ref_pearson(x: list[float], y: list[float]) -> float:
    if len(set(x)) == 1 or len(set(y)) == 1:
        return math.nan
    n = len(x)
    mx, my = math.fsum(x) / n, math.fsum(y) / n
    sxy = math.fsum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = math.fsum((a - mx) ** 2 for a in x)
    syy = math.fsum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy)


def ref_mae(x: list[float], y: list[float]) -> float:
    return math.fsum(abs(a - b) for a, b in zip(x, y)) / len(x)


def ref_mosi(pred: list[float], truth: list[float]) -> dict[str, float]:
    has0_p = [p >= 0 for p in pred]
    has0_t = [t >= 0 for t in truth]
    kept = [i for i, t in enumerate(truth) if t != 0]
    non0_p = [pred[i] > 0 for i in kept]
    non0_t = [truth[i] > 0 for i in kept]
    out = {
        "Has0_acc_2": ref_accuracy(has0_p, has0_t),
        "Has0_F1_score": ref_weighted_f1(has0_t, has0_p),
        "Non0_acc_2": ref_accuracy(non0_p, non0_t) if kept else math.nan,
        "Non0_F1_score": ref_weighted_f1(non0_t, non0_p) if kept else math.nan,
    }
    for name, bound in (("Mult_acc_5", 2.0), ("Mult_acc_7", 3.0)):
        hits = sum(
            1
            for p, t in zip(pred, truth)
            if round(ref_clip(p, -bound, bound)) == round(ref_clip(t, -bound, bound))
        )
        out[name] = hits / len(pred)
    out["MAE"] = ref_mae(pred, truth)
    out["Corr"] = ref_pearson(pred, truth)
    return out


def ref_sims_class(x: float, n_classes: int, edge_precision: type) -> int:
    """Walk the bins (lo, hi]; edges rounded to the input's precision, as numpy compares."""
    edges = [float(edge_precision(e)) for e in SIMS_EDGES_REF[n_classes]]
    for k in range(n_classes):
        if edges[k] < x <= edges[k + 1]:
            return k
    raise AssertionError(f"{x} fell outside every SIMS bin")


def ref_sims(pred: list[float], truth: list[float], p_prec: type, t_prec: type) -> dict[str, float]:
    p = [ref_clip(v, -1.0, 1.0) for v in pred]
    t = [ref_clip(v, -1.0, 1.0) for v in truth]
    out = {}
    for n in (2, 3, 5):
        pc = [ref_sims_class(v, n, p_prec) for v in p]
        tc = [ref_sims_class(v, n, t_prec) for v in t]
        out[f"Mult_acc_{n}"] = ref_accuracy(pc, tc)
        if n == 2:
            out["F1_score"] = ref_weighted_f1(tc, pc)
    out["MAE"] = ref_mae(p, t)
    out["Corr"] = ref_pearson(p, t)
    return out


def precision_of(x: np.ndarray) -> type:
    return np.float32 if x.dtype == np.float32 else np.float64


def reference(pred: np.ndarray, truth: np.ndarray, kind: str) -> dict[str, float]:
    p = [float(v) for v in pred.reshape(-1)]
    t = [float(v) for v in truth.reshape(-1)]
    if kind == "sims":
        return ref_sims(p, t, precision_of(pred), precision_of(truth))
    return ref_mosi(p, t)


def assert_close(got: dict[str, float], want: dict[str, float], tol: float) -> None:
    assert set(got) == set(want)
    for k, w in want.items():
        g = got[k]
        if math.isnan(w):
            assert math.isnan(g), f"{k}: expected NaN, got {g}"
        else:
            assert abs(g - w) <= tol, f"{k}: got {g}, reference {w}"


def check_against_reference(pred: np.ndarray, truth: np.ndarray, kind: str) -> None:
    want = reference(pred, truth, kind)
    assert_close(regression_metrics(pred, truth, kind, decimals=None), want, 1e-9)
    assert_close(regression_metrics(pred, truth, kind), want, 5e-5 + 1e-12)


# ---------------------------------------------------------------- random inputs

def mosi_sample(rng: np.random.Generator, n: int, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """Truth on MOSI-like grids (thirds, fifths, halves, zeros); predictions continuous, on
    half-integers, at zero and beyond the clip range."""
    grids = np.concatenate([np.arange(-9, 10) / 3, np.arange(-15, 16) / 5, np.arange(-6, 7) / 2, [0.0] * 8])
    truth = rng.choice(grids, size=n)
    pred = rng.normal(0, 2, size=n)
    special = rng.random(n)
    pred[special < 0.15] = rng.choice(np.arange(-9, 10) / 2, size=int((special < 0.15).sum()))
    pred[(special >= 0.15) & (special < 0.2)] = 0.0
    pred[(special >= 0.2) & (special < 0.25)] = rng.choice([-5.0, 4.2, 3.5, -3.5, 2.5, -2.5])
    return pred.astype(dtype), truth.astype(dtype)


def sims_sample(rng: np.random.Generator, n: int, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """Truth on CH-SIMS's 0.2 grid plus bin edges; predictions continuous, on edges, and outside [-1, 1]."""
    edges = [-1.0, -0.7, -0.1, 0.0, 0.1, 0.7, 1.0]
    truth = rng.choice(np.concatenate([np.round(np.arange(-5, 6) * 0.2, 10), edges]), size=n)
    pred = rng.uniform(-1.3, 1.3, size=n)
    on_edge = rng.random(n) < 0.3
    pred[on_edge] = rng.choice(edges, size=int(on_edge.sum()))
    return pred.astype(dtype), truth.astype(dtype)


@pytest.mark.parametrize("kind", ["mosi", "mosei", "sims"])
@pytest.mark.parametrize("seed", range(25))
def test_random_inputs_match_reference(kind: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 80))
    dtype = (np.float32, np.float64)[seed % 2]
    make = sims_sample if kind == "sims" else mosi_sample
    pred, truth = make(rng, n, dtype)
    check_against_reference(pred, truth, kind)


@pytest.mark.parametrize("seed", range(5))
def test_mixed_precision_inputs_match_reference(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    pred, truth = sims_sample(rng, 60, np.float32)
    check_against_reference(pred, truth.astype(np.float64), "sims")
    pred, truth = mosi_sample(rng, 60, np.float64)
    check_against_reference(pred.astype(np.float32), truth, "mosi")


# ---------------------------------------------------------------- hand-computed cases

def test_mosi_hand_case_perfect_signs() -> None:
    pred = [1.0, -1.0, 0.0, 2.5]
    truth = [2.0, -0.5, 0.0, 3.0]
    got = regression_metrics(pred, truth, "mosi", decimals=None)
    assert got["Has0_acc_2"] == 1.0 and got["Has0_F1_score"] == 1.0
    assert got["Non0_acc_2"] == 1.0 and got["Non0_F1_score"] == 1.0
    # rounded classes: pred (1, -1, 0, 2) vs truth (2, -0, 0, 3) for Acc-7; truth (2, -0, 0, 2) for Acc-5
    assert got["Mult_acc_7"] == 0.25
    assert got["Mult_acc_5"] == 0.5
    assert got["MAE"] == pytest.approx(0.5)
    # deviations (.375, -1.625, -.625, 1.875) and (.875, -1.625, -1.125, 1.875)
    assert got["Corr"] == pytest.approx(7.1875 / math.sqrt(6.6875 * 8.1875))


def test_mosi_hand_case_weighted_f1_and_zero_truth() -> None:
    pred = [0.5, -0.2, 1.0, -1.0]
    truth = [1.0, 0.0, 2.0, -3.0]
    got = regression_metrics(pred, truth, "mosi", decimals=None)
    # Has0: truth >= 0 is (T, T, T, F), pred >= 0 is (T, F, T, F): zero truth counts as positive
    assert got["Has0_acc_2"] == 0.75
    # class T: tp 2, fn 1 -> F1 4/5 (weight 3/4); class F: tp 1, fp 1 -> F1 2/3 (weight 1/4)
    assert got["Has0_F1_score"] == pytest.approx(0.75 * 0.8 + 0.25 * 2 / 3)
    # Non0 drops the zero-truth sample; the rest agree in sign
    assert got["Non0_acc_2"] == 1.0 and got["Non0_F1_score"] == 1.0
    # 0.5 rounds to 0 (half to even), -0.2 to -0 which equals truth 0
    assert got["Mult_acc_7"] == 0.25 and got["Mult_acc_5"] == 0.25
    assert got["MAE"] == pytest.approx(0.925)


def test_sims_hand_case() -> None:
    pred = [-1.5, -0.1, 0.1, 0.7, 0.05, 0.9]
    truth = [-0.8, -0.2, 0.2, 0.8, 0.0, 1.2]
    for dtype in (np.float64, np.float32):
        got = regression_metrics(np.array(pred, dtype), np.array(truth, dtype), "sims", decimals=None)
        # 2 bins: pred (0,0,1,1,1,1) vs truth (0,0,1,1,0,1); 0 counts as negative
        assert got["Mult_acc_2"] == pytest.approx(5 / 6)
        # 3 bins: pred (0,0,1,2,1,2) vs truth (0,0,2,2,1,2)
        assert got["Mult_acc_3"] == pytest.approx(5 / 6)
        # 5 bins: pred (0,1,2,3,2,4) vs truth (0,1,3,4,2,4)
        assert got["Mult_acc_5"] == pytest.approx(4 / 6)
        # class 0: tp 2, fn 1 -> 4/5; class 1: tp 3, fp 1 -> 6/7; equal supports
        assert got["F1_score"] == pytest.approx(0.5 * 0.8 + 0.5 * 6 / 7)
        # on clipped values: |-1+.8| + .1 + .1 + .1 + .05 + |.9-1|
        assert got["MAE"] == pytest.approx(0.65 / 6, abs=1e-7)


# ---------------------------------------------------------------- edge cases

@pytest.mark.parametrize(
    ("p", "t", "acc7"),
    [
        (2.5, 2.0, 1.0),  # half to even: 2.5 -> 2
        (-0.5, 0.0, 1.0),  # -0.5 -> -0 == 0
        (0.5, 1.0, 0.0),  # 0.5 -> 0
        (1.5, 2.0, 1.0),  # 1.5 -> 2
        (-2.5, -3.0, 0.0),  # -2.5 -> -2
        (3.5, 3.0, 1.0),  # clipped to 3 first
        (-9.0, -3.0, 1.0),  # beyond the clip range
    ],
)
def test_half_boundaries_and_clipping(p: float, t: float, acc7: float) -> None:
    got = regression_metrics([p], [t], "mosi", decimals=None)
    assert got["Mult_acc_7"] == acc7
    assert got["MAE"] == pytest.approx(abs(p - t))  # unclipped


def test_mosi_mae_and_corr_are_unclipped_sims_are_clipped() -> None:
    pred = np.array([10.0, -10.0, 0.0])
    truth = np.array([3.0, -3.0, 1.0])
    mosi = regression_metrics(pred, truth, "mosi", decimals=None)
    assert mosi["MAE"] == pytest.approx((7 + 7 + 1) / 3)
    assert mosi["Mult_acc_5"] == pytest.approx(2 / 3)  # both clipped to +-2
    sims = regression_metrics(pred, truth, "sims", decimals=None)
    assert sims["MAE"] == pytest.approx(1 / 3)  # all clipped to [-1, 1] first
    check_against_reference(pred, truth, "mosi")
    check_against_reference(pred, truth, "sims")


@pytest.mark.parametrize("kind", ["mosi", "sims"])
@pytest.mark.parametrize("value", [0.0, 0.1, 1.0 / 3.0, 2.9])
def test_constant_predictions_give_nan_corr_without_warnings(kind: str, value: float) -> None:
    rng = np.random.default_rng(0)
    truth = rng.uniform(-1, 1, size=50)
    for dtype in (np.float32, np.float64):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = regression_metrics(np.full(50, value, dtype), truth, kind)
        assert math.isnan(got["Corr"])
        check_against_reference(np.full(50, value, dtype), truth, kind)


def test_all_zero_truth_gives_nan_non0_metrics() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = regression_metrics([0.3, -0.4, 0.0], [0.0, 0.0, 0.0], "mosi")
    assert math.isnan(got["Non0_acc_2"]) and math.isnan(got["Non0_F1_score"])
    assert got["Has0_acc_2"] == pytest.approx(2 / 3, abs=1e-4)
    assert math.isnan(got["Corr"])


def test_single_class_everywhere() -> None:
    got = regression_metrics([0.5, 1.2, 2.0], [1.0, 2.0, 0.4], "mosi", decimals=None)
    assert got["Has0_acc_2"] == 1.0 and got["Has0_F1_score"] == 1.0
    assert got["Non0_F1_score"] == 1.0


def test_single_truth_class_all_predictions_wrong() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = regression_metrics([-0.5, -1.2], [1.0, 2.0], "mosi", decimals=None)
    assert got["Has0_acc_2"] == 0.0 and got["Has0_F1_score"] == 0.0
    check_against_reference(np.array([-0.5, -1.2]), np.array([1.0, 2.0]), "mosi")


def test_single_sample() -> None:
    got = regression_metrics([0.3], [-0.2], "sims")
    assert got["Mult_acc_2"] == 0.0 and math.isnan(got["Corr"])


@pytest.mark.parametrize(
    ("value", "bins"),
    [
        (-0.7, (0, 0, 0)),
        (-0.1, (0, 0, 1)),
        (0.0, (0, 1, 2)),
        (0.1, (1, 1, 2)),
        (0.7, (1, 2, 3)),
        (1.0, (1, 2, 4)),
        (-1.0, (0, 0, 0)),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sims_values_on_bin_edges(value: float, bins: tuple[int, int, int], dtype: type) -> None:
    """A value on an edge belongs to the bin it closes: (lo, hi]."""
    class_values = {
        2: [-0.5, 0.5],
        3: [-0.5, 0.0, 0.5],
        5: [-0.9, -0.4, 0.0, 0.4, 0.9],
    }
    pred = np.array([value], dtype)
    for n, expected in zip((2, 3, 5), bins):
        for k, centre in enumerate(class_values[n]):
            got = regression_metrics(pred, np.array([centre], dtype), "sims", decimals=None)
            assert got[f"Mult_acc_{n}"] == float(k == expected), (value, n, k)


def test_sims_edges_compare_in_the_input_precision() -> None:
    """float32(0.1) sits in (-0.1, 0.1] when compared in float32 (as MMSA does with its float32
    tensors), but above 0.1 once widened to float64."""
    as32 = np.array([np.float32(0.1)], np.float32)
    widened = as32.astype(np.float64)
    centre_of_middle_bin = np.array([0.0])
    assert regression_metrics(as32, centre_of_middle_bin, "sims")["Mult_acc_3"] == 1.0
    assert regression_metrics(torch.tensor([0.1]), centre_of_middle_bin, "sims")["Mult_acc_3"] == 1.0
    assert regression_metrics(widened, centre_of_middle_bin, "sims")["Mult_acc_3"] == 0.0


# ---------------------------------------------------------------- input forms and API

def test_torch_numpy_lists_and_shapes_agree() -> None:
    rng = np.random.default_rng(3)
    pred, truth = mosi_sample(rng, 40, np.float32)
    want = regression_metrics(pred, truth, "mosi")
    assert regression_metrics(torch.from_numpy(pred).view(-1, 1), torch.from_numpy(truth), "mosi") == want
    assert regression_metrics(pred.reshape(8, 5), truth.reshape(5, 8), "MOSI") == want
    needs_grad = torch.from_numpy(pred).requires_grad_()
    assert regression_metrics(needs_grad, truth, "mosi") == want
    half = regression_metrics(torch.from_numpy(pred).bfloat16(), truth, "mosi")
    assert set(half) == set(want)
    ints = regression_metrics([1, -2, 0, 3], [1, -1, 0, 2], "mosi", decimals=None)
    assert ints["Has0_acc_2"] == 1.0


@pytest.mark.parametrize("kind", ["mosi", "mosei", "sims"])
def test_keys_in_mmsa_order_and_rounding(kind: str) -> None:
    rng = np.random.default_rng(7)
    pred, truth = (sims_sample if kind == "sims" else mosi_sample)(rng, 30, np.float64)
    got = regression_metrics(pred, truth, kind)
    assert tuple(got) == MMSA_KEYS[kind]
    assert all(isinstance(v, float) for v in got.values())
    assert all(v == round(v, 4) for v in got.values())
    assert set(primary_metrics(kind)) <= set(MMSA_KEYS[kind])


def test_to_percent_scales_every_metric() -> None:
    metrics = {"Has0_acc_2": 0.8123, "MAE": 0.7129, "Corr": 0.6, "Non0_F1_score": math.nan}
    got = to_percent(metrics)
    assert got["Has0_acc_2"] == 81.23 and got["MAE"] == 71.29 and got["Corr"] == 60.0
    assert math.isnan(got["Non0_F1_score"])
    assert to_percent({"MAE": 0.123456}, decimals=None)["MAE"] == pytest.approx(12.3456)


@pytest.mark.parametrize(
    ("pred", "truth", "kind", "message"),
    [
        ([1.0, 2.0], [1.0], "mosi", "same number of values"),
        ([], [], "mosi", "empty"),
        ([1.0, float("nan")], [1.0, 2.0], "mosi", "finite"),
        ([1.0, 2.0], [1.0, float("inf")], "sims", "finite"),
        (["a", "b"], [1.0, 2.0], "mosi", "numeric"),
        ([1.0], [1.0], "iemocap", "kind must be one of"),
    ],
)
def test_bad_input_raises_clear_errors(pred: list, truth: list, kind: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        regression_metrics(pred, truth, kind)


def test_primary_metrics_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        primary_metrics("custom")
