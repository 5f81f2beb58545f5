"""``format_summary`` of cells with one run: the mean alone, never ``± nan`` (nor ``± 0`` with ddof 0)."""

from __future__ import annotations

import pandas as pd
import pytest

from msmix.experiment import format_summary, summarize


def _table() -> pd.DataFrame:
    rows = [("none", 1, 0.80), ("msmix", 1, 0.815), ("msmix", 2, 0.825)]
    return pd.DataFrame([{"data": "toy", "backbone": "tfn", "mixer": m, "seed": s, "MAE": v, "config_hash": f"{m}{s}"}
                         for m, s, v in rows])


@pytest.mark.parametrize("ddof", [0, 1])
def test_one_run_shows_the_mean_alone(ddof: int) -> None:
    shown = format_summary(summarize(_table(), ddof=ddof), digits=3).set_index("mixer")
    assert shown.loc["none", "MAE"] == "0.800" and shown.loc["none", "n"] == 1
    assert shown.loc["msmix", "MAE"].startswith("0.820 ± ")


def test_a_missing_std_shows_the_mean_alone_without_a_run_count() -> None:
    summary = pd.DataFrame({"mixer": ["none"], "MAE_mean": [0.5], "MAE_std": [float("nan")]})
    assert format_summary(summary, digits=2)["MAE"].tolist() == ["0.50"]
