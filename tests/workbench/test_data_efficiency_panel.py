"""Data-efficiency figure and panel: per backbone a subplot, per mixer a mean line and a seed band,
drawn from ``msmix.experiment.data_efficiency``'s numbers in the panels' colours."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msmix.experiment import data_efficiency
from workbench import data_efficiency_figure, data_efficiency_panel
from workbench._style import MIXER_COLOURS

FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def results() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for data in ("toy", "mosi_unaligned_50"):
        for backbone in ("lmf", "tfn"):
            for mixer in ("none", "msmix"):
                for fraction in FRACTIONS:
                    seeds = (1,) if (backbone, mixer, fraction) == ("lmf", "none", 0.1) else (1, 2, 3)
                    for seed in seeds:
                        acc = 0.6 + 0.1 * fraction + 0.02 * (mixer == "msmix") + rng.normal(0, 0.01)
                        rows.append({"data": data, "backbone": backbone, "mixer": mixer, "seed": seed,
                                     "train_fraction": fraction, "Has0_acc_2": acc, "MAE": 1.5 - acc,
                                     "config_hash": f"{data}-{backbone}-{mixer}-{fraction}-{seed}"})
    return pd.DataFrame(rows)


def traces(figure, part: str) -> dict[tuple[str, str], object]:
    found = [t for t in figure.data if t.meta["part"] == part]
    keyed = {(t.meta["backbone"], t.meta["method"]): t for t in found}
    assert len(keyed) == len(found), "one trace per backbone and mixer"
    return keyed


def test_one_line_and_one_band_per_mixer_and_backbone() -> None:
    table = results()
    figure = data_efficiency_figure(table, "Has0_acc_2", data="toy")
    cells = data_efficiency(table[table["data"] == "toy"], "Has0_acc_2")
    means, bands = traces(figure, "mean"), traces(figure, "band")
    expected = {(b, m) for b in ("lmf", "tfn") for m in ("none", "msmix")}
    assert set(means) == set(bands) == expected and len(figure.data) == 8
    axes = {}
    for (backbone, mixer), line in means.items():
        cell = cells[(cells["backbone"] == backbone) & (cells["mixer"] == mixer)].sort_values("train_fraction")
        np.testing.assert_allclose(line.x, [100 * f for f in FRACTIONS])
        np.testing.assert_allclose(line.y, cell["mean"])
        assert line.line.color == MIXER_COLOURS[mixer] and line.mode == "lines+markers"
        band = bands[(backbone, mixer)]
        assert band.xaxis == line.xaxis and band.fill == "toself" and band.showlegend is False
        banded = cell.dropna(subset=["ci_low"])
        np.testing.assert_allclose(band.y, [*banded["ci_high"], *banded["ci_low"][::-1]])
        np.testing.assert_allclose(band.x, [*(100 * banded["train_fraction"]), *(100 * banded["train_fraction"])[::-1]])
        axes.setdefault(backbone, set()).add(line.xaxis)
    assert all(len(a) == 1 for a in axes.values()) and axes["lmf"] != axes["tfn"], "one subplot per backbone"
    assert len(bands[("lmf", "none")].x) == 2 * 3, "the fraction with one seed has no band"
    assert sum(bool(line.showlegend) for line in means.values()) == 2, "each mixer once in the legend"


def test_titles_say_synthetic_for_the_demo_data_and_axes_read_as_percent() -> None:
    toy = data_efficiency_figure(results(), "Has0_acc_2", data="toy")
    assert "SYNTHETIC" in toy.layout.title.text and "Has0_acc_2" in toy.layout.title.text
    assert toy.layout.xaxis.title.text == "LMF: share of the train split"
    assert toy.layout.xaxis2.title.text == "TFN: share of the train split"
    assert toy.layout.xaxis.type == "log" and list(toy.layout.xaxis.ticktext) == ["10 %", "25 %", "50 %", "100 %"]
    real = data_efficiency_figure(results(), "MAE", data="mosi_unaligned_50", percent=True)
    assert "SYNTHETIC" not in real.layout.title.text and real.layout.yaxis.title.text == "MAE (x 100)"
    with pytest.raises(ValueError, match="several data sets"):
        data_efficiency_figure(results(), "Has0_acc_2")
    with pytest.raises(ValueError, match="not in the results table"):
        data_efficiency_figure(results(), "Has0_acc_2", data="mosei")


def test_the_panel_redraws_for_the_chosen_data_and_metric() -> None:
    panel = data_efficiency_panel(results(), metric="Has0_acc_2")
    panel.data_choice.value = "toy"
    assert "SYNTHETIC" in panel.figure.figure.layout.title.text
    assert len(panel.cells) == 16 and (panel.cells["data"] == "toy").all()
    before = panel.figure.revision
    panel.metric.value = "MAE"
    assert panel.figure.revision > before and "MAE" in panel.figure.figure.layout.title.text
    line = traces(panel.figure.figure, "mean")[("tfn", "msmix")]
    cell = panel.cells[(panel.cells["backbone"] == "tfn") & (panel.cells["mixer"] == "msmix")]
    np.testing.assert_allclose(line.y, cell["mean"])
    assert f"{cell['mean'].iloc[0]:.4f}" in panel.table.value
    panel.data_choice.value = "mosi_unaligned_50"
    assert "SYNTHETIC" not in panel.figure.figure.layout.title.text
