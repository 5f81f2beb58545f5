"""MMSA-identical regression metrics for MOSI, MOSEI and CH-SIMS.

The field compares numbers produced by MMSA 2.2.1's ``MetricsTop``; these functions give the same
keys and the same values (rounded to 4 decimals, as MMSA does), so a result here can sit next to a
published MMSA table.

MOSI / MOSEI (``pred`` and ``truth`` flattened):

- ``MAE`` and ``Corr`` (Pearson r) on the unclipped values.
- ``Mult_acc_7`` / ``Mult_acc_5``: clip both to [-3, 3] / [-2, 2], then compare
  ``np.round`` (half to even: 2.5 -> 2, -0.5 -> -0).
- ``Has0_acc_2`` / ``Has0_F1_score``: classes ``x >= 0``; accuracy and weighted F1.
- ``Non0_acc_2`` / ``Non0_F1_score``: only samples whose truth is not 0, classes ``x > 0``.

CH-SIMS: both clipped to [-1, 1] first (so ``MAE`` and ``Corr`` see clipped values), then binned
with left-open, right-closed bins: 2 classes split at 0 (0 counts as negative), 3 classes at
-0.1 / 0.1, 5 classes at -0.7 / -0.1 / 0.1 / 0.7; ``F1_score`` is the weighted F1 of the 2 classes.

Cases MMSA leaves undefined are defined here: ``Corr`` is NaN when either side is constant (or
there is one sample; MMSA gives NaN or float noise that rounds to 0 there), and the ``Non0``
metrics are NaN when every truth is 0 (MMSA raises an ``IndexError`` there).

Bin edges and clip bounds are compared in each input's own floating precision, as numpy does in
MMSA: a float32 ``0.1`` is ``float32(0.1) > 0.1``, yet it falls in the (-0.1, 0.1] bin exactly as in
MMSA, whose pipeline always hands float32 tensors to its metrics.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import f1_score

MOSI_KEYS: tuple[str, ...] = (
    "Has0_acc_2",
    "Has0_F1_score",
    "Non0_acc_2",
    "Non0_F1_score",
    "Mult_acc_5",
    "Mult_acc_7",
    "MAE",
    "Corr",
)
SIMS_KEYS: tuple[str, ...] = ("Mult_acc_2", "Mult_acc_3", "Mult_acc_5", "F1_score", "MAE", "Corr")

MMSA_KEYS: dict[str, tuple[str, ...]] = {"mosi": MOSI_KEYS, "mosei": MOSI_KEYS, "sims": SIMS_KEYS}
"""The keys ``regression_metrics`` returns, in MMSA's order, per data-set kind."""

_PRIMARY: dict[str, tuple[str, ...]] = {
    "mosi": ("Has0_acc_2", "Non0_acc_2", "Non0_F1_score", "Mult_acc_7", "MAE", "Corr"),
    "mosei": ("Has0_acc_2", "Non0_acc_2", "Non0_F1_score", "Mult_acc_7", "MAE", "Corr"),
    "sims": ("Mult_acc_2", "F1_score", "Mult_acc_5", "MAE", "Corr"),
}

SIMS_INNER_EDGES: dict[int, tuple[float, ...]] = {
    2: (0.0,),
    3: (-0.1, 0.1),
    5: (-0.7, -0.1, 0.1, 0.7),
}
"""CH-SIMS class boundaries; class k holds values in (edge[k-1], edge[k]] (outer edges +-1.01)."""


def regression_metrics(
    pred: Any, truth: Any, kind: str, decimals: int | None = 4
) -> dict[str, float]:
    """MMSA's regression metrics of ``pred`` against ``truth``.

    Args:
        pred: predictions, a numpy array, torch tensor or sequence of any shape (flattened).
        truth: labels with as many elements as ``pred``.
        kind: ``"mosi"``, ``"mosei"`` or ``"sims"`` (case-insensitive); ``DataSpec.metrics_kind``
            gives it for a loaded data set.
        decimals: round every value to this many decimals, as MMSA does (4); ``None`` keeps full
            precision.

    Returns:
        ``{key: value}`` with the keys of ``MMSA_KEYS[kind]`` in MMSA's order, as Python floats
        (fractions, not percent; see ``to_percent``).

    Raises:
        ValueError: unknown ``kind``, empty or mismatched inputs, non-numeric or non-finite values.
    """
    family = _check_kind(kind)
    p = _as_flat_array(pred, "pred")
    t = _as_flat_array(truth, "truth")
    if p.size != t.size:
        raise ValueError(
            f"pred and truth must hold the same number of values, got {p.size} and {t.size}"
        )
    values = _sims_metrics(p, t) if family == "sims" else _mosi_metrics(p, t)
    if decimals is None:
        return values
    return {k: round(v, decimals) for k, v in values.items()}


def primary_metrics(kind: str) -> tuple[str, ...]:
    """The short list of metric keys that result tables show for ``kind`` (papers' columns)."""
    return _PRIMARY[_check_kind(kind)]


def to_percent(metrics: Mapping[str, float], decimals: int | None = 2) -> dict[str, float]:
    """Every value x 100, MAE and Corr included: the convention of MMSA's results CSV."""
    scaled = {k: float(v) * 100.0 for k, v in metrics.items()}
    if decimals is None:
        return scaled
    return {k: round(v, decimals) for k, v in scaled.items()}


def _check_kind(kind: str) -> str:
    key = kind.lower() if isinstance(kind, str) else kind
    if key not in MMSA_KEYS:
        raise ValueError(f"kind must be one of {sorted(MMSA_KEYS)}, got {kind!r}")
    return key


def _as_flat_array(x: Any, name: str) -> np.ndarray:
    """A 1-D float array; float32 and float64 keep their precision (MMSA compares in it)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.is_floating_point() and x.dtype not in (torch.float32, torch.float64):
            x = x.float()
        x = x.numpy()
    arr = np.asarray(x)
    if arr.dtype not in (np.float32, np.float64):
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
        arr = arr.astype(np.float32 if arr.dtype == np.float16 else np.float64)
    arr = arr.reshape(-1)
    if arr.size == 0:
        raise ValueError(f"{name} is empty; metrics need at least one sample")
    bad = int(np.count_nonzero(~np.isfinite(arr)))
    if bad:
        raise ValueError(f"{name} must be finite, found {bad} NaN or infinite value(s)")
    return arr


def _mosi_metrics(p: np.ndarray, t: np.ndarray) -> dict[str, float]:
    non_zero = t != 0
    if non_zero.any():
        non0_acc, non0_f1 = _binary_scores(p[non_zero] > 0, t[non_zero] > 0)
    else:
        non0_acc, non0_f1 = math.nan, math.nan
    has0_acc, has0_f1 = _binary_scores(p >= 0, t >= 0)
    return {
        "Has0_acc_2": has0_acc,
        "Has0_F1_score": has0_f1,
        "Non0_acc_2": non0_acc,
        "Non0_F1_score": non0_f1,
        "Mult_acc_5": _rounded_accuracy(p, t, 2.0),
        "Mult_acc_7": _rounded_accuracy(p, t, 3.0),
        "MAE": _mae(p, t),
        "Corr": _pearson(p, t),
    }


def _sims_metrics(p: np.ndarray, t: np.ndarray) -> dict[str, float]:
    p = np.clip(p, -1.0, 1.0)
    t = np.clip(t, -1.0, 1.0)
    bins = {n: (_sims_bins(p, n), _sims_bins(t, n)) for n in SIMS_INNER_EDGES}
    p2, t2 = bins[2]
    return {
        "Mult_acc_2": float(np.mean(p2 == t2)),
        "Mult_acc_3": float(np.mean(bins[3][0] == bins[3][1])),
        "Mult_acc_5": float(np.mean(bins[5][0] == bins[5][1])),
        "F1_score": _weighted_f1(t2, p2),
        "MAE": _mae(p, t),
        "Corr": _pearson(p, t),
    }


def _sims_bins(x: np.ndarray, n_classes: int) -> np.ndarray:
    """Class index of each value: the number of inner edges strictly below it."""
    edges = np.asarray(SIMS_INNER_EDGES[n_classes], dtype=x.dtype)
    return np.searchsorted(edges, x, side="left")


def _rounded_accuracy(p: np.ndarray, t: np.ndarray, bound: float) -> float:
    p_cls = np.round(np.clip(p, -bound, bound))
    t_cls = np.round(np.clip(t, -bound, bound))
    return float(np.mean(p_cls == t_cls))


def _binary_scores(p: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    return float(np.mean(p == t)), _weighted_f1(t, p)


def _weighted_f1(t: np.ndarray, p: np.ndarray) -> float:
    """scikit-learn's support-weighted F1, as MMSA calls it (quiet on absent classes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return float(f1_score(t, p, average="weighted"))


def _mae(p: np.ndarray, t: np.ndarray) -> float:
    return float(np.mean(np.abs(p.astype(np.float64) - t.astype(np.float64))))


def _pearson(p: np.ndarray, t: np.ndarray) -> float:
    """Pearson r via ``np.corrcoef`` like MMSA; NaN for a constant side.

    ``np.corrcoef`` alone returns NaN or float noise (~1e-17) for a constant array depending on
    its value, so constants are caught first.
    """
    if np.ptp(p) == 0 or np.ptp(t) == 0:
        return math.nan
    return float(np.corrcoef(p.astype(np.float64), t.astype(np.float64))[0, 1])
