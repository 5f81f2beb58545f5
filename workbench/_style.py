"""One look for every panel: colours for label sign, modality, mixer and the parents of a pair, and
the data-set banner.

Colours come from a colour-blind-safe palette (Okabe-Ito) so negative / positive / mixed stay
distinguishable for every reader. Each modality and each mixer has one colour, the same in every
panel, exported figure and notebook.
"""

from __future__ import annotations

import html
import re

import pandas as pd
import plotly.graph_objects as go
from pandas.io.formats.style import Styler

from msmix.data.spec import DataSpec

NEGATIVE = "#D55E00"   # vermillion
POSITIVE = "#0072B2"   # blue
NEUTRAL = "#999999"    # grey: label exactly 0
MIXED = "#009E73"      # bluish green
MODALITY_COLOURS = {"text": "#E69F00", "audio": "#56B4E9", "vision": "#CC79A7"}
PARENT_COLOURS = {"a": "#333333", "b": "#BBBBBB"}  # the two parents of a mixed pair: dark and light grey
# One colour per mixer in every panel, figure and notebook (the baseline grey, MS-Mix the loudest).
MIXER_COLOURS = {
    "none": "#999999", "mixup": "#E69F00", "manifold": "#56B4E9", "multimix": "#CC79A7",
    "powmix": "#000000", "msmix": "#D55E00",
}
SPARE_COLOURS = ("#0072B2", "#009E73", "#F0E442")  # for mixers registered outside msmix
SIGN_NAMES = {-1: "negative", 0: "neutral", 1: "positive"}
SIGN_COLOURS = {-1: NEGATIVE, 0: NEUTRAL, 1: POSITIVE}
COLOURWAY = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
HEATMAP_SCALE = "Viridis"
DIVERGING_SCALE = "RdBu"


def mixer_colour(name: str, position: int = 0) -> str:
    """A mixer's colour (a method with settings in brackets, ``msmix (sal_scale=1)``, takes its
    mixer's); a mixer msmix does not know takes a spare colour by its position."""
    base = name.split(" (")[0]
    return MIXER_COLOURS.get(base, SPARE_COLOURS[position % len(SPARE_COLOURS)])


DASHES = ("solid", "dash", "dot", "dashdot", "longdash")


def method_names(table: pd.DataFrame, settings: list[str]) -> pd.Series:
    """A name per row of a summary table: its mixer, with those of the ``settings`` columns whose
    value differs between rows in brackets (``msmix (mixer.preset=anchored)``)."""
    varying = [c for c in settings if table[c].astype(str).nunique() > 1]
    names = []
    for _, cell in table.iterrows():
        given = ", ".join(f"{k}={cell[k]}" for k in varying if pd.notna(cell[k]))
        names.append(f"{cell['mixer']} ({given})" if given else str(cell["mixer"]))
    return pd.Series(names, index=table.index)


def method_lines(methods: list[str]) -> list[dict[str, str]]:
    """A line style per method: its mixer's colour, and a different dash for each further method of
    the same mixer (``msmix (sal_scale=1)`` beside ``msmix``)."""
    seen: dict[str, int] = {}
    lines = []
    for position, method in enumerate(methods):
        base = str(method).split(" (")[0]
        count = seen[base] = seen.get(base, -1) + 1
        lines.append({"color": mixer_colour(base, position), "dash": DASHES[count % len(DASHES)]})
    return lines


TABLE_STYLES = [{"selector": "th, td", "props": "white-space: nowrap; padding: 2px 10px;"}]


def table_html(table: pd.DataFrame | Styler, index: bool = False) -> str:
    """A table as HTML with the panels' look: every cell on one line (a panel puts wide tables in
    a box that scrolls sideways, so nothing wraps into two-line numbers)."""
    styler = table if isinstance(table, Styler) else table.style
    if not index:
        styler = styler.hide(axis="index")
    return styler.set_table_styles(TABLE_STYLES, overwrite=False).to_html()


def template() -> go.layout.Template:
    """A small white plotly template (plotly's own ones take a tenth of a second per figure to apply)."""
    axis = {"gridcolor": "#e5e5e5", "zerolinecolor": "#bbbbbb", "linecolor": "#444444", "ticks": "outside"}
    return go.layout.Template(layout={
        "font": {"family": "Helvetica, Arial, sans-serif", "size": 12, "color": "#222222"},
        "paper_bgcolor": "white", "plot_bgcolor": "white", "colorway": COLOURWAY,
        "xaxis": axis, "yaxis": axis, "polar": {"bgcolor": "white"},
        "hoverlabel": {"align": "left"},
    })


def data_label(spec: DataSpec) -> str:
    """A short name for titles; says SYNTHETIC for the generated demo data."""
    name = spec.name or spec.kind
    if not spec.synthetic:
        return name
    base = re.sub(r"\s*\(synthetic\)", "", name, flags=re.IGNORECASE).strip() or spec.kind
    return f"{base} (SYNTHETIC demo data)"


def source_label(data: str) -> str:
    """A results table's ``data`` value for titles; the demo set's name says SYNTHETIC."""
    from msmix.data.load import TOY

    synthetic = data == TOY or data.startswith(TOY + ":")
    return f"{data} (SYNTHETIC demo data)" if synthetic else data


def data_banner(spec: DataSpec, source: str = "") -> str:
    """An HTML line naming the data set and its missing modalities; a loud warning when it is the
    synthetic demo set."""
    where = f" from <code>{html.escape(source)}</code>" if source else ""
    missing = (f"; <b>{' and '.join(spec.missing)} missing</b> (no sample holds them: the model reads the rest, "
               "MS-Mix skips them)") if spec.missing else ""
    if spec.synthetic:
        return (
            f'<div style="background:#fff3cd;border-left:4px solid {NEGATIVE};padding:4px 8px">'
            f"<b>SYNTHETIC demo data</b> ({html.escape(spec.name or spec.kind)}){where}: generated, "
            "not real recordings; numbers here say how the method behaves, not how well it does on "
            f"CMU-MOSI{missing}.</div>"
        )
    return f"<div style='padding:4px 8px'><b>{html.escape(spec.name or spec.kind)}</b>{where}{missing}</div>"


def sign_of(label: float) -> int:
    """-1, 0 or 1: the sign a label's colour is chosen by."""
    return (label > 0) - (label < 0)


def shorten(text: str, width: int = 70) -> str:
    """Text cut to ``width`` characters for hover boxes, HTML-escaped."""
    text = " ".join(str(text).split())
    return html.escape(text if len(text) <= width else text[: width - 1] + "…")
