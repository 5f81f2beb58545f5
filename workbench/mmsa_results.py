"""MMSA's own results CSV, read for a side-by-side view with ours.

MMSA's runner appends one row per model to ``<res_save_dir>/normal/<dataset>.csv``: a ``Model``
column, then one column per metric whose cells hold ``(mean, std)`` over the seeds, every metric
multiplied by 100 (MAE and Corr too) and the std the population one, each rounded to 2 decimals.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

_PAIR = re.compile(r"^\s*[\(\[]\s*([-+0-9.eEnaNif]+)\s*,\s*([-+0-9.eEnaNif]+)\s*[\)\]]\s*$")


def read_mmsa_results(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """One row per (model, metric): ``model``, ``metric``, ``mean``, ``std``, as MMSA wrote them (x 100).

    Args:
        source: the CSV's path, or the table already read with ``pandas.read_csv``.
    """
    table = source if isinstance(source, pd.DataFrame) else pd.read_csv(source, dtype=str, keep_default_na=False)
    where = "the MMSA results table" if isinstance(source, pd.DataFrame) else f"MMSA results file {source}"
    if "Model" not in table.columns:
        raise ValueError(f"{where} has no 'Model' column (expected MMSA's layout: Model, then one column per metric); "
                         f"found {list(table.columns)}")
    rows = []
    for _, record in table.iterrows():
        for metric in table.columns.drop("Model"):
            cell = str(record[metric])
            match = _PAIR.match(cell)
            if match is None:
                raise ValueError(f"{where}, model {record['Model']!r}, metric {metric!r}: expected a '(mean, std)' "
                                 f"cell, found {cell!r}")
            rows.append({"model": str(record["Model"]), "metric": metric,
                         "mean": float(match.group(1)), "std": float(match.group(2))})
    return pd.DataFrame(rows, columns=["model", "metric", "mean", "std"])


def mmsa_wide(long: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """``read_mmsa_results``'s table as model x metric ``"mean ± std"`` text, in the file's order."""
    text = long.assign(cell=[f"{m:.{digits}f} ± {s:.{digits}f}" for m, s in zip(long["mean"], long["std"])])
    wide = text.pivot(index="model", columns="metric", values="cell")
    return wide.loc[list(dict.fromkeys(long["model"])), list(dict.fromkeys(long["metric"]))]
