"""Summaries and paired comparisons, checked against re-derivations by formula on random tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from msmix.experiment import format_summary, paired_comparison, paired_t_test, summarize
from msmix.experiment.results import METRIC_COLUMNS

METRICS = ["Has0_acc_2", "MAE", "Corr"]


def _table(rng: np.random.Generator, seeds=(1, 2, 3, 4, 5), drop=()) -> pd.DataFrame:
    """Random rows: 2 backbones x (none, mixup, msmix at two thresholds) x seeds, minus ``drop``."""
    rows = []
    for backbone in ("tfn", "lmf"):
        for mixer, threshold in (("none", None), ("mixup", None), ("msmix", 0.2), ("msmix", 0.4)):
            for seed in seeds:
                if (backbone, mixer, threshold, seed) in drop:
                    continue
                rows.append({
                    "data": "toy", "backbone": backbone, "mixer": mixer, "seed": seed,
                    **{m: rng.normal(0.6, 0.1) for m in METRICS},
                    "epochs": 3, "config_hash": f"{backbone}-{mixer}-{threshold}-{seed}", "mixer.threshold": threshold,
                })
    table = pd.DataFrame(rows)
    return table.sample(frac=1.0, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)


def _threshold(row: dict) -> float | None:
    return None if pd.isna(row["mixer.threshold"]) else row["mixer.threshold"]


def _cell(table: pd.DataFrame, backbone: str, mixer: str, threshold: float | None) -> pd.DataFrame:
    pick = (table["backbone"] == backbone) & (table["mixer"] == mixer)
    pick &= table["mixer.threshold"].isna() if threshold is None else table["mixer.threshold"] == threshold
    return table[pick]


@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("percent", [False, True])
def test_summary_matches_loops(ddof: int, percent: bool) -> None:
    rng = np.random.default_rng(3)
    table = _table(rng, drop={("lmf", "mixup", None, 2)})
    summary = summarize(table, percent=percent, ddof=ddof)
    assert len(summary) == 8
    scale = 100.0 if percent else 1.0
    for row in summary.to_dict("records"):
        cell = _cell(table, row["backbone"], row["mixer"], _threshold(row))
        assert row["n"] == len(cell)
        for metric in METRICS:
            values = [float(v) * scale for v in cell[metric]]
            mean = sum(values) / len(values)
            std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - ddof))
            assert row[f"{metric}_mean"] == pytest.approx(mean, rel=1e-12)
            assert row[f"{metric}_std"] == pytest.approx(std, rel=1e-12)


def test_summary_columns_and_defaults() -> None:
    table = _table(np.random.default_rng(0))
    summary = summarize(table)
    assert list(summary.columns[:5]) == ["data", "backbone", "mixer", "mixer.threshold", "n"]
    assert [c for c in summary.columns[5:]] == [f"{m}_{s}" for m in METRICS for s in ("mean", "std")]
    assert all(m in METRIC_COLUMNS for m in METRICS)
    only = summarize(table, metrics=["epochs"])
    assert list(only.columns[-2:]) == ["epochs_mean", "epochs_std"] and (only["epochs_mean"] == 3).all()
    with pytest.raises(ValueError, match="not in the results table"):
        summarize(table, metrics=["Mult_acc_3"])


def test_constant_settings_do_not_split_cells_and_repeated_hashes_count_once() -> None:
    table = _table(np.random.default_rng(1))
    table["train.max_epochs"] = 2
    repeat = table.iloc[[0]].assign(MAE=99.0)
    summary = summarize(pd.concat([table, repeat], ignore_index=True))
    assert "train.max_epochs" not in summary and summary["n"].sum() == len(table)
    assert (summary["MAE_mean"] > 5).sum() == 1  # the repeated run's latest row was used


def test_format_summary_writes_mean_plus_minus_std() -> None:
    summary = pd.DataFrame({"mixer": ["none"], "n": [5], "MAE_mean": [0.71234], "MAE_std": [0.0456]})
    assert format_summary(summary, digits=3).to_dict("list") == {"mixer": ["none"], "n": [5], "MAE": ["0.712 ± 0.046"]}


def _by_formula(d: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float, float, float]:
    n = len(d)
    mean = sum(d) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
    se = sd / math.sqrt(n)
    t = mean / se
    p = 2 * stats.t.sf(abs(t), n - 1)
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * se
    return mean, t, p, mean - half, mean + half


@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_paired_comparison_matches_the_formula_and_pairs_by_seed(confidence: float) -> None:
    rng = np.random.default_rng(11)
    # mixup lacks seed 2 on lmf, the baseline lacks seed 5 on tfn: those seeds drop from the pairs
    table = _table(rng, seeds=(1, 2, 3, 4, 5, 6), drop={("lmf", "mixup", None, 2), ("tfn", "none", None, 5)})
    out = paired_comparison(table, confidence=confidence)
    assert len(out) == 2 * 3 * len(METRICS)
    for row in out.to_dict("records"):
        mine = _cell(table, row["backbone"], row["mixer"], _threshold(row)).set_index("seed")[row["metric"]]
        base = _cell(table, row["backbone"], "none", None).set_index("seed")[row["metric"]]
        seeds = sorted(set(mine.index) & set(base.index))
        d = np.array([mine[s] - base[s] for s in seeds], dtype=np.float64)
        mean, t, p, low, high = _by_formula(d, confidence)
        short = row["backbone"] == "tfn" or row["mixer"] == "mixup"
        assert row["n"] == len(seeds) == (5 if short else 6)
        assert row["mixer_mean"] == pytest.approx(mine[seeds].mean())
        assert row["baseline_mean"] == pytest.approx(base[seeds].mean())
        assert row["mean_diff"] == pytest.approx(mean, rel=1e-10)
        assert row["t"] == pytest.approx(t, rel=1e-10)
        assert row["p_value"] == pytest.approx(p, rel=1e-8)
        assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low, rel=1e-10), pytest.approx(high, rel=1e-10))


def test_percent_scales_differences_and_intervals_not_p_values() -> None:
    table = _table(np.random.default_rng(5))
    plain, scaled = paired_comparison(table, metric="MAE"), paired_comparison(table, metric="MAE", percent=True)
    for column in ("mean_diff", "ci_low", "ci_high", "baseline_mean"):
        assert np.allclose(scaled[column], 100 * plain[column])
    assert np.allclose(scaled["p_value"], plain["p_value"]) and np.allclose(scaled["t"], plain["t"])


def test_non_mixer_settings_pair_only_with_the_matching_baseline() -> None:
    rng = np.random.default_rng(2)
    a, b = _table(rng).assign(**{"train.lr": 1e-3}), _table(rng).assign(**{"train.lr": 5e-4})
    b["config_hash"] += "-b"
    both = pd.concat([a, b], ignore_index=True)
    out = paired_comparison(both, metric="MAE")
    assert len(out) == 2 * 2 * 3 and (out["n"] == 5).all()
    for lr, part in ((1e-3, a), (5e-4, b)):
        got = out[(out["train.lr"] == lr) & (out["backbone"] == "tfn") & (out["mixer"] == "mixup")]
        expect = paired_comparison(part, metric="MAE")
        expect = expect[(expect["backbone"] == "tfn") & (expect["mixer"] == "mixup")]
        assert got["mean_diff"].item() == pytest.approx(expect["mean_diff"].item())


def test_wilcoxon_with_five_seeds_cannot_reach_five_percent() -> None:
    table = _table(np.random.default_rng(4))
    better = table["mixer"] == "mixup"
    table.loc[better, "Corr"] = table.loc[better, "Corr"] + 10.0  # mixup wins on every seed
    out = paired_comparison(table, metric="Corr", wilcoxon=True)
    wins = out[out["mixer"] == "mixup"]
    assert wins["wilcoxon_p"].tolist() == pytest.approx([2 / 2**5] * 2)  # the smallest two-sided exact p for n = 5
    assert (wins["p_value"] < 1e-4).all()


def test_edge_cases_of_the_t_test() -> None:
    one = paired_t_test(np.array([0.5]), np.array([0.25]))
    assert one["n"] == 1 and one["mean_diff"] == 0.25 and all(math.isnan(one[k]) for k in ("t", "p_value", "ci_low"))
    shift = paired_t_test(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 2.0]))
    assert shift["mean_diff"] == 1.0 and shift["p_value"] == 0.0 and shift["ci_low"] == shift["ci_high"] == 1.0
    same = paired_t_test(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    assert math.isnan(same["t"]) and math.isnan(same["p_value"])


def test_missing_baseline_or_ambiguous_baseline_is_an_error() -> None:
    table = _table(np.random.default_rng(6))
    with pytest.raises(ValueError, match="no runs of the baseline mixer 'powmix'"):
        paired_comparison(table, baseline="powmix")
    with pytest.raises(ValueError, match="several runs for one seed"):
        paired_comparison(table, baseline="msmix")
    assert set(paired_comparison(table[table["mixer.threshold"] != 0.4], baseline="msmix")["mixer"]) == {"none", "mixup"}


def _fraction_table() -> pd.DataFrame:
    """none and msmix at two train fractions, three seeds, with rows of an earlier version (no
    ``train_fraction`` column: the whole split) among them."""
    rows = []
    for mixer in ("none", "msmix"):
        for fraction in (0.25, 1.0):
            for seed in (1, 2, 3):
                rows.append({"data": "toy", "backbone": "tfn", "mixer": mixer, "seed": seed,
                             "train_fraction": np.nan if fraction == 1.0 and seed == 1 else fraction,
                             "train.train_fraction": fraction if fraction < 1 else np.nan,
                             "MAE": 1.0 + (fraction < 1) + 0.1 * seed + 0.01 * (mixer == "msmix"),
                             "config_hash": f"{mixer}-{fraction}-{seed}"})
    return pd.DataFrame(rows)


def test_runs_on_different_train_fractions_are_never_averaged_together() -> None:
    table = _fraction_table()
    summary = summarize(table, metrics=["MAE"])
    assert list(summary.columns[:5]) == ["data", "backbone", "mixer", "train_fraction", "n"]
    assert "train.train_fraction" not in summary
    assert sorted(zip(summary["mixer"], summary["train_fraction"], summary["n"])) == [
        ("msmix", 0.25, 3), ("msmix", 1.0, 3), ("none", 0.25, 3), ("none", 1.0, 3)]
    for row in summary.to_dict("records"):
        cell = table[(table["mixer"] == row["mixer"]) & (table["config_hash"].str.contains(f"-{row['train_fraction']}-"))]
        assert row["MAE_mean"] == pytest.approx(sum(cell["MAE"]) / 3, rel=1e-12)
    paired = paired_comparison(table, metric="MAE")
    assert sorted(paired["train_fraction"]) == [0.25, 1.0] and (paired["n"] == 3).all()
    assert paired["mean_diff"].to_numpy() == pytest.approx([0.01, 0.01])


def test_tables_without_train_fraction_summarise_as_before() -> None:
    table = _table(np.random.default_rng(2))
    assert "train_fraction" not in summarize(table) and "train_fraction" not in paired_comparison(table)


def test_a_table_of_runs_on_one_share_reads_as_without_the_column() -> None:
    table = _table(np.random.default_rng(2))
    whole = table.assign(train_fraction=1.0)
    pd.testing.assert_frame_equal(summarize(whole), summarize(table))
    pd.testing.assert_frame_equal(paired_comparison(whole), paired_comparison(table))
    assert list(summarize(whole, by_fraction=True).columns[:4]) == ["data", "backbone", "mixer", "train_fraction"]
    assert list(summarize(table, by_fraction=True)["train_fraction"].unique()) == [1.0]
