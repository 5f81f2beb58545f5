"""Comparison panel: tables, radar, paired test and exports against pandas / scipy re-derivations."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench import comparison_panel
from workbench._style import MIXER_COLOURS
from workbench.radar import normalised_scores

SEEDS = [1111, 1112, 1113, 1114, 1115]
BACKBONES = ["lmf", "tfn"]
MIXERS = ["none", "mixup", "msmix"]


def make_results() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for data, shift in (("toy", 0.0), ("mosi_unaligned_50", 0.05)):
        for b_i, backbone in enumerate(BACKBONES):
            for m_i, mixer in enumerate(MIXERS):
                for seed in SEEDS:
                    acc = 0.70 + 0.02 * m_i + 0.03 * b_i + shift + rng.normal(0, 0.01)
                    rows.append({
                        "data": data, "backbone": backbone, "mixer": mixer, "seed": seed,
                        "Has0_acc_2": acc, "Has0_F1_score": acc - 0.01, "Non0_acc_2": acc + 0.01,
                        "Non0_F1_score": acc, "Mult_acc_5": acc / 2, "Mult_acc_7": acc / 2.5,
                        "MAE": 1.2 - 0.05 * m_i + rng.normal(0, 0.02), "Corr": 0.5 + 0.03 * m_i + rng.normal(0, 0.02),
                        "config_hash": f"{data}-{backbone}-{mixer}-{seed}",
                    })
    return pd.DataFrame(rows)


@pytest.fixture
def results() -> pd.DataFrame:
    return make_results()


@pytest.fixture
def panel(results):
    panel = comparison_panel(results, metric="Has0_acc_2")
    panel.data_choice.value = "toy"
    return panel


def toy(results: pd.DataFrame) -> pd.DataFrame:
    return results[results["data"] == "toy"]


def test_summary_table_is_mean_and_std_per_cell(panel, results) -> None:
    rows = toy(results)
    expected = rows.groupby(["backbone", "mixer"])["Has0_acc_2"].agg(["mean", "std"]) * 100
    for (backbone, mixer), (mean, std) in expected.iterrows():
        row = panel.summary[(panel.summary["backbone"] == backbone) & (panel.summary["mixer"] == mixer)]
        assert row["Has0_acc_2_mean"].item() == pytest.approx(mean)
        assert row["Has0_acc_2_std"].item() == pytest.approx(std)
        assert f"{mean:.2f} ± {std:.2f}" in panel.summary_table.value
    panel.percent.value = False
    mean = rows[(rows.backbone == "tfn") & (rows.mixer == "none")]["Has0_acc_2"].mean()
    assert f"{mean:.2f} ±" in panel.summary_table.value
    assert "SYNTHETIC" in panel.banner.value and "SYNTHETIC" in panel.radar.figure.layout.title.text


def test_data_choice_filters_the_table(panel, results) -> None:
    panel.data_choice.value = "mosi_unaligned_50"
    assert set(panel.summary["data"]) == {"mosi_unaligned_50"}
    assert "SYNTHETIC" not in panel.banner.value


def test_radar_shows_normalised_means(panel, results) -> None:
    assert panel.radar_axes.value == "metrics"  # two backbones make no polygon
    panel.radar_axes.value = "backbones"
    rows = toy(results)
    means = rows.groupby(["mixer", "backbone"])["Has0_acc_2"].mean().unstack() * 100
    low, high = means.min(axis=0), means.max(axis=0)
    expected = (means - low) / (high - low)
    for trace in panel.radar.figure.data:
        assert list(trace.theta) == BACKBONES + BACKBONES[:1]
        np.testing.assert_allclose(trace.r[:-1], expected.loc[trace.name, BACKBONES].to_numpy(), atol=1e-9)
    panel.scale.value = "best"
    best = means / means.max(axis=0)
    for trace in panel.radar.figure.data:
        np.testing.assert_allclose(trace.r[:-1], best.loc[trace.name, BACKBONES].to_numpy(), atol=1e-9)


def test_radar_over_metrics_flips_mae(panel, results) -> None:
    panel.radar_axes.value = "metrics"
    panel.radar_backbone.value = "tfn"
    rows = toy(results)
    mae = rows[rows.backbone == "tfn"].groupby("mixer")["MAE"].mean()
    expected = (mae.max() - mae) / (mae.max() - mae.min())
    for trace in panel.radar.figure.data:
        axis = list(trace.theta).index("MAE")
        assert trace.r[axis] == pytest.approx(expected[trace.name])


def test_normalised_scores_edge_cases() -> None:
    means = pd.DataFrame({"a": [2.0, 2.0], "b": [1.0, 3.0]}, index=["x", "y"])
    out = normalised_scores(means, {"b": True})
    assert list(out["a"]) == [1.0, 1.0] and list(out["b"]) == [1.0, 0.0]
    with pytest.raises(ValueError, match="positive"):
        normalised_scores(pd.DataFrame({"Corr": [-0.1, 0.2]}), {}, scale="best")
    with pytest.raises(ValueError, match="scale"):
        normalised_scores(means, {}, scale="rank")


def test_paired_test_against_none(panel, results) -> None:
    rows = toy(results)
    for backbone in BACKBONES:
        base = rows[(rows.backbone == backbone) & (rows.mixer == "none")].set_index("seed")["Has0_acc_2"] * 100
        mix = rows[(rows.backbone == backbone) & (rows.mixer == "msmix")].set_index("seed")["Has0_acc_2"] * 100
        row = panel.paired[(panel.paired.backbone == backbone) & (panel.paired.mixer == "msmix")]
        assert row["mean_diff"].item() == pytest.approx((mix - base).mean())
        assert row["p_value"].item() == pytest.approx(stats.ttest_rel(mix, base).pvalue)
        assert row["n"].item() == 5
    assert set(panel.paired["mixer"]) == {"mixup", "msmix"}
    panel.metric.value = "MAE"
    assert set(panel.paired["metric"]) == {"MAE"}
    panel.baseline.value = "mixup"
    assert set(panel.paired["mixer"]) == {"none", "msmix"}


def test_mmsa_results_side_by_side(results, tmp_path) -> None:
    mmsa = pd.DataFrame(columns=["Model", "Has0_acc_2", "MAE"])
    mmsa.loc[0] = ["tfn", (77.34, 0.52), (95.1, 1.03)]  # the way MMSA's runner fills the file
    mmsa.loc[1] = ["lmf", (76.0, 1.2), (96.5, 0.4)]
    path = tmp_path / "mosi.csv"
    mmsa.to_csv(path, index=None)
    panel = comparison_panel(results, mmsa=path)
    assert panel.mmsa.set_index(["model", "metric"]).loc[("tfn", "MAE"), "std"] == 1.03
    assert "77.34 ± 0.52" in panel.mmsa_table.value and "76.00 ± 1.20" in panel.mmsa_table.value
    bad = pd.DataFrame({"Model": ["tfn"], "MAE": ["0.95"]})
    with pytest.raises(ValueError, match="mean, std"):
        comparison_panel(results, mmsa=bad)


def test_latex_export(panel, tmp_path) -> None:
    text = panel.to_latex(tmp_path / "table.tex", metrics=["Has0_acc_2", "MAE"])
    assert (tmp_path / "table.tex").read_text() == text
    assert "\\begin{tabular}" in text and "\\toprule" in text and "Has0\\_acc\\_2" in text
    summary = panel.summary
    for _, row in summary.iterrows():
        cell = f"{row['Has0_acc_2_mean']:.2f} $\\pm$ {row['Has0_acc_2_std']:.2f}"
        assert cell in text
    best = summary.loc[summary[summary.backbone == "tfn"]["MAE_mean"].idxmin()]
    assert f"\\textbf{{{best['MAE_mean']:.2f} $\\pm$ {best['MAE_std']:.2f}}}" in text
    assert "SYNTHETIC" in text


def test_static_figures_and_export_button(panel, results, tmp_path) -> None:
    figures = panel.static_figures()
    bars = figures["bars"].axes[0]
    heights = sorted(p.get_height() for p in bars.patches if p.get_height() > 0)
    expected = sorted(toy(results).groupby(["backbone", "mixer"])["Has0_acc_2"].mean() * 100)
    np.testing.assert_allclose(heights, expected)
    panel.export_dir.value = str(tmp_path / "out")
    panel.export_button.click()
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["toy-Has0_acc_2-bars.pdf", "toy-Has0_acc_2-bars.png", "toy-Has0_acc_2-radar.pdf",
                       "toy-Has0_acc_2-radar.png", "toy-Has0_acc_2-table.tex"]
    assert all((tmp_path / "out" / name).stat().st_size > 0 for name in written)
    assert "Wrote" in panel.export_status.value


def test_swept_settings_become_methods(results) -> None:
    swept = results.copy()
    swept["mixer.threshold"] = np.where(swept["mixer"] == "msmix", np.where(swept["seed"] % 2 == 0, 0.2, 0.4), np.nan)
    swept.loc[swept["mixer"] == "msmix", "config_hash"] += swept["mixer.threshold"].astype(str)
    panel = comparison_panel(swept)
    names = {t.name for t in panel.radar.figure.data}
    assert "none" in names and any(n.startswith("msmix (mixer.threshold=0.2") for n in names)
    styles = {t.name: (t.line.color, t.line.dash) for t in panel.radar.figure.data}
    msmix_styles = [style for name, style in styles.items() if name.startswith("msmix")]
    assert {colour for colour, _ in msmix_styles} == {MIXER_COLOURS["msmix"]}, "one colour per mixer"
    assert len(set(msmix_styles)) == len(msmix_styles), "each setting its own dash"
    assert styles["none"][0] == MIXER_COLOURS["none"]


def test_a_setting_some_runs_left_unset_reads_default_not_nan(results) -> None:
    preset = results.copy()
    preset["mixer.preset"] = ((preset["mixer"] == "msmix") & (preset["seed"] % 2 == 0)).map({True: "anchored", False: None})
    panel = comparison_panel(preset)
    panel.data_choice.value = "toy"
    for table in (panel.summary_table.value, panel.paired_table.value):
        cells = re.findall(r"<td[^>]*>\s*([^<]*?)\s*</td>", table)
        assert "anchored" in cells and "default" in cells
        assert not {"nan", "NaN", "n/a"} & set(cells)


def test_paired_table_rounds_and_explains_its_highlight(panel) -> None:
    table = panel.paired_table.value
    assert "p &lt; 0.05</span> is marked" in table
    for number in re.findall(r">\s*(-?\d+\.\d+)\s*<", table):
        assert len(number.split(".")[1]) <= 4, f"{number} is printed with raw precision"


def test_bad_tables_are_named(results) -> None:
    with pytest.raises(ValueError, match="empty"):
        comparison_panel(pd.DataFrame())
    with pytest.raises(ValueError, match="metric 'Acc'"):
        comparison_panel(results, metric="Acc")
