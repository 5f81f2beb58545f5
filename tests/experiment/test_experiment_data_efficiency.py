"""``data_efficiency``: mean, std, n and a 95 % band over seeds per backbone, mixer and train fraction,
against a float64 re-derivation on a small table written out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msmix.experiment import data_efficiency



def t_quantile_df2(p: float) -> float:
    """Student's t quantile with 2 degrees of freedom, in closed form: (2p - 1) / sqrt(2 p (1 - p))."""
    return (2 * p - 1) / np.sqrt(2 * p * (1 - p))


T_975_DF2 = t_quantile_df2(0.975)  # 4.3027...

VALUES = {  # (backbone, mixer, fraction) -> Has0_acc_2 of seeds 1, 2, 3
    ("tfn", "none", 0.25): [0.60, 0.64, 0.68],
    ("tfn", "none", 1.0): [0.70, 0.71, 0.75],
    ("tfn", "msmix", 0.25): [0.66, 0.69, 0.66],
    ("tfn", "msmix", 1.0): [0.72, 0.74, 0.73],
    ("lmf", "none", 0.25): [0.55],
}


def results() -> pd.DataFrame:
    rows = [
        {"data": "toy", "backbone": b, "mixer": m, "seed": seed, "train_fraction": f, "Has0_acc_2": value,
         "MAE": 1.0, "config_hash": f"{b}-{m}-{f}-{seed}"}
        for (b, m, f), values in VALUES.items() for seed, value in enumerate(values, start=1)
    ]
    return pd.DataFrame(rows).sample(frac=1.0, random_state=0)  # the order of rows must not matter


def expected(values: list[float]) -> dict[str, float]:
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    mean = x.sum() / n
    std = np.sqrt(((x - mean) ** 2).sum() / (n - 1)) if n > 1 else np.nan
    half = T_975_DF2 * std / np.sqrt(n) if n == 3 else np.nan
    return {"n": n, "mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half}


def test_each_cell_matches_the_hand_derivation() -> None:
    table = data_efficiency(results(), "Has0_acc_2")
    assert list(table.columns) == ["data", "backbone", "mixer", "train_fraction", "n", "mean", "std", "ci_low", "ci_high"]
    assert len(table) == len(VALUES)
    keys = list(zip(table["backbone"], table["mixer"], table["train_fraction"]))
    assert keys == sorted(VALUES), "sorted by backbone, mixer, fraction"
    for row in table.to_dict("records"):
        want = expected(VALUES[(row["backbone"], row["mixer"], row["train_fraction"])])
        assert row["n"] == want["n"]
        for column in ("mean", "std", "ci_low", "ci_high"):
            if np.isnan(want[column]):
                assert np.isnan(row[column]), column
            else:
                assert row[column] == pytest.approx(want[column], rel=1e-12, abs=1e-15), column
    none = table[(table["backbone"] == "tfn") & (table["mixer"] == "none") & (table["train_fraction"] == 0.25)].iloc[0]
    assert none["mean"] == pytest.approx(0.64) and none["std"] == pytest.approx(0.04)  # by hand: deviations -0.04, 0, 0.04
    assert none["ci_high"] - none["mean"] == pytest.approx(T_975_DF2 * 0.04 / np.sqrt(3))


def test_percent_and_confidence() -> None:
    base = data_efficiency(results(), "Has0_acc_2")
    scaled = data_efficiency(results(), "Has0_acc_2", percent=True, confidence=0.5)
    np.testing.assert_allclose(scaled["mean"], base["mean"] * 100)
    np.testing.assert_allclose(scaled["std"], base["std"] * 100)
    narrow = (scaled["ci_high"] - scaled["mean"]).dropna()
    np.testing.assert_allclose(narrow, (t_quantile_df2(0.75) * scaled["std"] / np.sqrt(3)).dropna())
    with pytest.raises(ValueError, match=r"confidence must be a number in \(0, 1\)"):
        data_efficiency(results(), "Has0_acc_2", confidence=95)
    with pytest.raises(ValueError, match="not in the results table"):
        data_efficiency(results(), "Mult_acc_3")


def test_rows_without_a_train_fraction_trained_on_the_whole_split() -> None:
    old = results().drop(columns=["train_fraction"])
    table = data_efficiency(old, "Has0_acc_2")
    assert set(table["train_fraction"]) == {1.0}
    assert table.loc[(table["backbone"] == "tfn") & (table["mixer"] == "none"), "n"].item() == 6
