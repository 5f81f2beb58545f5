"""Summaries of a results table: mean ± std per cell, and each mixer paired with a baseline by seed.

A cell is one configuration apart from its seed: data set, backbone, mixer, the share of the train
split trained on (``train_fraction``, where it varies in the table) and every override column
(``mixer.threshold``, ``train.lr``, ...) that varies in the table. Rows that repeat a config hash
(the same run trained twice) count once, the latest.

``std`` is the sample standard deviation (``ddof=1``) by default, the usual estimate of the
seed-to-seed spread; MMSA's tables use the population one (``ddof=0``), which is smaller by a
factor sqrt((n - 1) / n). ``percent=True`` multiplies every MMSA metric by 100, MAE and Corr too,
as MMSA's results CSV does.

The paired comparison uses a paired t-test on the per-seed differences (mixer minus baseline): with
five seeds a signed-rank test cannot go below p = 0.0625, so it can never reach 0.05 and is only an
optional extra column.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from msmix.experiment.results import METRIC_COLUMNS, read_results
from msmix.experiment.settings import is_setting_column

_MISSING = "-"
"""Stands for an override a cell does not set, so such cells group and pair like any other."""
FRACTION = "train_fraction"
"""The results column of the share of the train split a run trained on (``TrainConfig.train_fraction``)."""
_FRACTION_SETTING = f"train.{FRACTION}"


def summarize(
    results: pd.DataFrame | str | Path,
    metrics: Sequence[str] | None = None,
    percent: bool = False,
    ddof: int = 1,
    by_fraction: bool = False,
) -> pd.DataFrame:
    """Mean and standard deviation of each metric per cell.

    Args:
        results: a results table or the path of its CSV.
        metrics: columns to summarise; by default every MMSA metric present.
        percent: MMSA's convention, every MMSA metric x 100.
        ddof: 1 for the sample standard deviation (default), 0 for MMSA's population one.
        by_fraction: always keep ``train_fraction`` as a cell column (1.0 where a table lacks it),
            not only where it varies.

    Returns:
        One row per cell: the cell's columns, ``n`` (runs), then ``<metric>_mean`` and
        ``<metric>_std`` for each metric.
    """
    table = _prepared(results)
    if by_fraction and FRACTION not in table:
        table = table.assign(**{FRACTION: 1.0})
    metrics = _metrics(table, metrics)
    values = _scaled(table, metrics, percent)
    fraction = [FRACTION] if by_fraction else _fraction(table)
    keys = ["data", "backbone", "mixer", *fraction, *_varying_settings(table)]
    grouped = values.groupby(keys, sort=False)
    out = grouped.size().rename("n").to_frame()
    for metric in metrics:
        out[f"{metric}_mean"] = grouped[metric].mean()
        out[f"{metric}_std"] = grouped[metric].std(ddof=ddof)
    return _restore_missing(out.reset_index())


def format_summary(summary: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """``summarize``'s table with each metric as one ``"mean ± std"`` text column.

    A cell of one run has no spread to estimate (its sample std is NaN, its population std a
    meaningless 0): it shows the mean alone, and the ``n`` column says why.
    """
    metrics = [c[: -len("_mean")] for c in summary.columns if c.endswith("_mean")]
    out = summary.drop(columns=[f"{m}_{s}" for m in metrics for s in ("mean", "std")])
    single = summary["n"] < 2 if "n" in summary else pd.Series(False, index=summary.index)
    for metric in metrics:
        mean, std = summary[f"{metric}_mean"], summary[f"{metric}_std"]
        out[metric] = [f"{m:.{digits}f}" if one or pd.isna(s) else f"{m:.{digits}f} ± {s:.{digits}f}"
                       for m, s, one in zip(mean, std, single)]
    return out


def paired_comparison(
    results: pd.DataFrame | str | Path,
    baseline: str = "none",
    metric: str | Sequence[str] | None = None,
    percent: bool = False,
    confidence: float = 0.95,
    wilcoxon: bool = False,
) -> pd.DataFrame:
    """Each mixer against ``baseline`` on the same seeds, data set, backbone and non-mixer settings.

    Args:
        results: a results table or the path of its CSV.
        baseline: the mixer every other one is compared with.
        metric: one metric, several, or None for every MMSA metric present.
        percent: MMSA's convention, every MMSA metric x 100.
        confidence: level of the confidence interval of the mean difference.
        wilcoxon: add ``wilcoxon_p``, the two-sided signed-rank p-value (exact for small n).

    Returns:
        One row per (cell, metric): the cell's columns, ``metric``, ``n`` (paired seeds),
        ``baseline_mean``, ``mixer_mean``, ``mean_diff`` (mixer minus baseline: positive is better
        except for MAE), ``ci_low``/``ci_high`` (t interval), ``t`` and ``p_value`` (paired t-test,
        two-sided). With n < 2 the interval and test are NaN.
    """
    table = _prepared(results)
    metrics = _metrics(table, [metric] if isinstance(metric, str) else metric)
    values = _scaled(table, metrics, percent)
    settings = _varying_settings(table)
    context = ["data", "backbone", *_fraction(table), *[c for c in settings if not c.startswith("mixer.")]]
    mixer_cell = ["mixer", *[c for c in settings if c.startswith("mixer.")]]

    base = values[values["mixer"] == baseline]
    if base.empty:
        raise ValueError(f"no runs of the baseline mixer {baseline!r}; mixers in the table: {sorted(table['mixer'].unique())}")
    repeated = base.duplicated([*context, "seed"])
    if repeated.any():
        raise ValueError(
            f"the baseline {baseline!r} has several runs for one seed in a cell (differing in mixer settings); "
            "select one setting of the baseline first"
        )
    pairs = values[values["mixer"] != baseline].merge(
        base[[*context, "seed", *metrics]], on=[*context, "seed"], suffixes=("", "__baseline")
    )
    rows = []
    for cell, group in pairs.groupby([*context, *mixer_cell], sort=False):
        for name in metrics:
            both = group[[name, f"{name}__baseline"]].dropna()
            test = paired_t_test(both[name].to_numpy(float), both[f"{name}__baseline"].to_numpy(float), confidence)
            row = {**dict(zip([*context, *mixer_cell], cell)), "metric": name, **test}
            if wilcoxon:
                row["wilcoxon_p"] = _wilcoxon_p(both[name].to_numpy(float) - both[f"{name}__baseline"].to_numpy(float))
            rows.append(row)
    columns = [*context, *mixer_cell, "metric", "n", "baseline_mean", "mixer_mean", "mean_diff", "ci_low", "ci_high", "t", "p_value"]
    return _restore_missing(pd.DataFrame(rows, columns=columns + (["wilcoxon_p"] if wilcoxon else [])))


def paired_t_test(x: np.ndarray, y: np.ndarray, confidence: float = 0.95) -> dict[str, float]:
    """Paired t-test of ``x`` against ``y``: n, both means, mean difference, its t interval, t, p.

    A constant non-zero difference gives t = ±inf and p = 0; all-zero differences give NaN.
    """
    n = len(x)
    out = {"n": n, "baseline_mean": float(np.mean(y)) if n else np.nan, "mixer_mean": float(np.mean(x)) if n else np.nan}
    out["mean_diff"] = float(np.mean(x - y)) if n else np.nan
    if n < 2:
        return {**out, "ci_low": np.nan, "ci_high": np.nan, "t": np.nan, "p_value": np.nan}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # zero spread: scipy warns, returns inf / NaN
        result = stats.ttest_rel(x, y)
        interval = result.confidence_interval(confidence)
    return {**out, "ci_low": float(interval.low), "ci_high": float(interval.high),
            "t": float(result.statistic), "p_value": float(result.pvalue)}


def _wilcoxon_p(differences: np.ndarray) -> float:
    if len(differences) == 0 or not np.any(differences):
        return np.nan
    return float(stats.wilcoxon(differences).pvalue)


def _prepared(results: pd.DataFrame | str | Path) -> pd.DataFrame:
    """The table with each config hash once, one ``train_fraction`` column (``_with_fraction``) and
    missing overrides spelled ``_MISSING``."""
    table = results if isinstance(results, pd.DataFrame) else read_results(results)
    for column in ("data", "backbone", "mixer", "seed"):
        if column not in table:
            raise ValueError(f"a results table needs the column {column!r}; found {list(table.columns)}")
    if "config_hash" in table:
        table = table.drop_duplicates("config_hash", keep="last")
    table = _with_fraction(table.copy())
    for column in table.columns:
        if is_setting_column(column):
            table[column] = table[column].astype(object).where(table[column].notna(), _MISSING)
    return table


def _with_fraction(table: pd.DataFrame) -> pd.DataFrame:
    """``train_fraction`` as a number in every row (1.0 in rows written before it existed, the
    ``train.train_fraction`` override where only that is given), in place of that override column,
    so runs on different shares never share a cell and an explicit 1.0 groups with the default."""
    if FRACTION not in table and _FRACTION_SETTING not in table:
        return table
    fraction = pd.Series(np.nan, index=table.index, dtype=float)
    for column in (FRACTION, _FRACTION_SETTING):
        if column in table:
            fraction = fraction.fillna(pd.to_numeric(table[column], errors="coerce"))
    table[FRACTION] = fraction.fillna(1.0)
    return table.drop(columns=[_FRACTION_SETTING], errors="ignore")


def _fraction(table: pd.DataFrame) -> list[str]:
    """``[FRACTION]`` where its value varies in the table, else nothing: a table of runs on one share
    (all on the whole split, or tables of earlier versions) reads as it did without the column."""
    return [FRACTION] if FRACTION in table and table[FRACTION].nunique() > 1 else []


def _metrics(table: pd.DataFrame, metrics: Sequence[str] | None) -> list[str]:
    if metrics is None:
        return [c for c in METRIC_COLUMNS if c in table and table[c].notna().any()]
    missing = [m for m in metrics if m not in table]
    if missing:
        raise ValueError(f"metrics {missing} are not in the results table; its columns: {list(table.columns)}")
    return list(metrics)


def _scaled(table: pd.DataFrame, metrics: list[str], percent: bool) -> pd.DataFrame:
    values = table.copy()
    for metric in metrics:
        values[metric] = pd.to_numeric(values[metric], errors="raise") * (100.0 if percent and metric in METRIC_COLUMNS else 1.0)
    return values


def _varying_settings(table: pd.DataFrame) -> list[str]:
    """Override columns whose value differs between rows (constant ones split no cells)."""
    return sorted(c for c in table.columns if is_setting_column(c) and table[c].astype(str).nunique() > 1)


def _restore_missing(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        if is_setting_column(column):
            frame[column] = frame[column].where(frame[column] != _MISSING, np.nan)
    return frame
