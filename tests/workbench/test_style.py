"""One colour per modality and per mixer, everywhere: the tables behind them and the figures using them."""

from __future__ import annotations

import pandas as pd

import msmix.mixing
from msmix import MODALITIES
from workbench._style import MIXER_COLOURS, MODALITY_COLOURS, PARENT_COLOURS, method_lines, mixer_colour
from workbench.export import bar_figure
from workbench.radar import radar_figure


def test_every_mixer_and_modality_has_its_own_colour() -> None:
    assert set(msmix.mixing.available()) <= set(MIXER_COLOURS)
    assert set(MODALITIES) == set(MODALITY_COLOURS)
    assert len(set(MIXER_COLOURS.values())) == len(MIXER_COLOURS)
    assert len(set(MODALITY_COLOURS.values())) == len(MODALITY_COLOURS)
    assert not set(PARENT_COLOURS.values()) & set(MODALITY_COLOURS.values()), "parents a / b must not look like modalities"


def test_methods_of_one_mixer_share_its_colour_and_differ_by_dash() -> None:
    methods = ["none", "msmix", "msmix (sal_scale=1)", "msmix (sal_scale=0)", "someone_elses_mixer"]
    lines = method_lines(methods)
    assert [line["color"] for line in lines[:4]] == [MIXER_COLOURS["none"], *[MIXER_COLOURS["msmix"]] * 3]
    assert len({(line["color"], line["dash"]) for line in lines}) == len(methods)
    assert lines[4]["color"] not in MIXER_COLOURS.values()
    assert mixer_colour("msmix (threshold=0.4)") == MIXER_COLOURS["msmix"]


def test_exported_figures_use_the_mixer_colours() -> None:
    rows = pd.DataFrame({"backbone": ["tfn"] * 4, "mixer": ["none", "none", "msmix", "msmix"],
                         "Corr": [0.5, 0.6, 0.55, 0.65]})
    bars = bar_figure(rows, "Corr", "Corr")
    legend = {t.get_text(): h.get_facecolor() for t, h in zip(bars.axes[0].get_legend().texts,
                                                                bars.axes[0].get_legend().legend_handles)}
    from matplotlib.colors import to_hex

    assert {k: to_hex(v) for k, v in legend.items()} == {"msmix": MIXER_COLOURS["msmix"].lower(),
                                                          "none": MIXER_COLOURS["none"].lower()}
    scores = pd.DataFrame({"a": [1.0, 0.0], "b": [0.5, 1.0], "c": [0.0, 1.0]}, index=["none", "msmix"])
    radar = radar_figure(scores, "radar")
    drawn = {line.get_label(): to_hex(line.get_color()) for line in radar.axes[0].get_lines()}
    assert drawn == {"none": MIXER_COLOURS["none"].lower(), "msmix": MIXER_COLOURS["msmix"].lower()}
