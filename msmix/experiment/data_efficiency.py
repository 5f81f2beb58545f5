"""``data_efficiency``: a test metric against the share of the train split, per backbone and mixer.

Mixup is meant to help most where data are scarce; a sweep over ``[train] train_fraction`` measures
that, and this table reads it: per cell of ``summarize`` (data set, backbone, mixer, train
fraction and any swept setting) the mean over seeds, their sample standard deviation, their count
and a t interval of the mean (95 % by default), the band a data-efficiency plot shades.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from msmix.experiment.results import read_results
from msmix.experiment.stats import FRACTION, summarize


def data_efficiency(
    results: pd.DataFrame | str | Path,
    metric: str,
    percent: bool = False,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mean, spread and band over seeds of ``metric`` per data set, backbone, mixer and train fraction.

    Args:
        results: a results table or the path of its CSV; rows without ``train_fraction`` (tables
            of earlier versions) trained on the whole split, 1.0.
        metric: a test metric column, e.g. ``"Has0_acc_2"`` or ``"MAE"``.
        percent: MMSA's convention, the metric x 100 (MAE and Corr too).
        confidence: the level of the band, a t interval of the mean over seeds.

    Returns:
        One row per cell, sorted by data set, backbone, mixer and fraction: the cell's columns
        (``data``, ``backbone``, ``mixer``, ``train_fraction``, then any swept setting), ``n``
        (seeds), ``mean``, ``std`` (sample, ``ddof=1``), ``ci_low`` and ``ci_high``
        (``mean -+ t(confidence, n - 1) * std / sqrt(n)``; NaN for a cell of one seed).

    Raises:
        ValueError: ``metric`` is not in the table, or ``confidence`` is not in (0, 1).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be a number in (0, 1), got {confidence!r}")
    table = results if isinstance(results, pd.DataFrame) else read_results(results)
    summary = summarize(table, metrics=[metric], percent=percent, by_fraction=True)
    out = summary.rename(columns={f"{metric}_mean": "mean", f"{metric}_std": "std"})
    n = out["n"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf(0.5 + confidence / 2, n - 1) * out["std"].to_numpy(float) / np.sqrt(n)
    half = np.where(n > 1, half, np.nan)
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    keys = ["data", "backbone", "mixer", FRACTION]
    return out.sort_values(keys, kind="stable").reset_index(drop=True)
