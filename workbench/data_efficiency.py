"""Data efficiency: a test metric against the share of the train split it was trained on, one line
per mixer with a shaded band over seeds, one subplot per backbone.

Where mixing pays off shows as a gap between a mixer's line and ``none``'s that widens to the left.
The numbers come from ``msmix.experiment.data_efficiency``; this module only draws them, in the
panels' colours (one per mixer) and with the data set named in the title (SYNTHETIC for the demo
data). ``data_efficiency_figure`` returns the plotly figure; ``data_efficiency_panel`` shows it
with a data set, metric and percent choice and the table beside it.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from msmix.experiment import data_efficiency, read_results
from msmix.experiment.results import METRIC_COLUMNS
from workbench._panel import Panel, row, scrolling
from workbench._style import method_lines, method_names, source_label, table_html
from workbench.figures import base_figure
from workbench.live_figure import LiveFigure

PER_ROW = 3  # subplots side by side before the next backbone starts a new row
BAND_OPACITY = 0.10  # light: several methods' bands overlap
_CELL_COLUMNS = ("data", "backbone", "mixer", "train_fraction", "n", "mean", "std", "ci_low", "ci_high")


def data_efficiency_figure(
    results: pd.DataFrame | str | Path,
    metric: str = "Has0_acc_2",
    data: str | None = None,
    percent: bool = False,
    confidence: float = 0.95,
) -> go.Figure:
    """``metric`` against the train fraction: per backbone a subplot, per mixer a line of the mean
    over seeds with its ``confidence`` band (a t interval of the mean) shaded.

    Args:
        results: a results table (``msmix sweep`` with ``[train] train_fraction = [...]``) or its CSV.
        metric: the test metric on the y axis.
        data: the data set to show; may be left out when the table holds one.
        percent: the metric x 100 (MMSA's convention).
        confidence: the band's level.

    Each (mixer, backbone) has two traces, told apart by ``trace.meta``: ``{"part": "band", ...}``
    (a filled outline; empty where no fraction has two seeds) and then ``{"part": "mean", ...}``.
    """
    table = _table(results)
    data = _chosen_data(table, data)
    rows = table[table["data"].astype(str) == data]
    cells = data_efficiency(rows, metric, percent=percent, confidence=confidence)
    return efficiency_figure(cells, metric, source_label(data), percent, confidence)


def efficiency_figure(cells: pd.DataFrame, metric: str, label: str, percent: bool = False,
                      confidence: float = 0.95) -> go.Figure:
    """The figure of ``data_efficiency``'s table ``cells`` (one data set), titled with ``label``."""
    backbones = list(dict.fromkeys(cells["backbone"]))
    methods = method_names(cells, [c for c in cells.columns if c not in _CELL_COLUMNS])
    lines = dict(zip(dict.fromkeys(methods), method_lines(list(dict.fromkeys(methods)))))
    n_rows = max(1, math.ceil(len(backbones) / PER_ROW))
    figure = base_figure(f"{metric} against the share of the train split", spec=label, height=140 + 300 * n_rows)
    # each subplot names its backbone in its x-axis title (subplot titles would run into the figure's)
    make_subplots(rows=n_rows, cols=max(1, min(len(backbones), PER_ROW)), shared_yaxes=True,
                  horizontal_spacing=0.06, vertical_spacing=0.18, figure=figure)
    fractions = sorted(cells["train_fraction"].astype(float).unique())
    level = f"{confidence * 100:g} %"
    in_legend: set[str] = set()
    for position, backbone in enumerate(backbones):
        where = {"row": position // PER_ROW + 1, "col": position % PER_ROW + 1}
        for method, line in lines.items():
            part = cells[(cells["backbone"] == backbone) & (methods == method)].sort_values("train_fraction")
            if part.empty:
                continue
            x = (part["train_fraction"].astype(float) * 100).tolist()
            meta = {"backbone": backbone, "method": method}
            banded = part.dropna(subset=["ci_low", "ci_high"])
            band_x = (banded["train_fraction"].astype(float) * 100).tolist()
            figure.add_scatter(
                x=band_x + band_x[::-1], y=banded["ci_high"].tolist() + banded["ci_low"].tolist()[::-1],
                fill="toself", fillcolor=_translucent(line["color"], BAND_OPACITY), line={"width": 0},
                mode="lines", hoverinfo="skip", showlegend=False, legendgroup=method,
                name=f"{method} ({level} band)", meta={**meta, "part": "band"}, **where,
            )
            figure.add_scatter(
                x=x, y=part["mean"].tolist(), mode="lines+markers", name=method, legendgroup=method,
                showlegend=method not in in_legend, line=line, meta={**meta, "part": "mean"},
                customdata=part[["n", "std", "ci_low", "ci_high"]].to_numpy(float),
                hovertemplate=(f"{html.escape(method)} on {html.escape(str(backbone))}<br>%{{x:g}} % of the train split"
                               f"<br>{metric} %{{y:.4f}} ± %{{customdata[1]:.4f}} (std, n %{{customdata[0]}})"
                               f"<br>{level} band [%{{customdata[2]:.4f}}, %{{customdata[3]:.4f}}]<extra></extra>"),
                **where,
            )
            in_legend.add(method)
    ticks = [f * 100 for f in fractions]
    figure.update_xaxes(type="log", tickvals=ticks, ticktext=[f"{t:g} %" for t in ticks])
    for position, backbone in enumerate(backbones):
        figure.update_xaxes(title_text=f"{str(backbone).upper()}: share of the train split",
                            row=position // PER_ROW + 1, col=position % PER_ROW + 1)
    figure.update_yaxes(title_text=f"{metric}{' (x 100)' if percent else ''}", col=1)
    return figure


class DataEfficiencyPanel(Panel):
    """The data-efficiency widget.

    Attributes:
        data_choice, metric: Dropdowns of the data sets and metrics in the table; percent:
        Checkbox, MMSA's x 100 convention; figure: LiveFigure of ``data_efficiency_figure``;
        table: HTML of ``cells``, the ``data_efficiency`` table shown.
    """

    css_name = "efficiency"

    def __init__(self, results: pd.DataFrame, metric: str, percent: bool) -> None:
        super().__init__()
        self.results = results
        metrics = [m for m in METRIC_COLUMNS if m in results and results[m].notna().any()]
        if metric not in metrics:
            raise ValueError(f"metric {metric!r} is not in the results table; metrics there: {metrics}")
        self.data_choice = widgets.Dropdown(options=sorted(results["data"].astype(str).unique()), description="data")
        self.metric = widgets.Dropdown(options=metrics, value=metric, description="metric")
        self.percent = widgets.Checkbox(value=percent, description="x 100 (MMSA)", indent=False)
        self.figure = LiveFigure(go.Figure())
        self.table = widgets.HTML()
        self.cells = pd.DataFrame()
        for control in (self.data_choice, self.metric, self.percent):
            control.observe(lambda _: self.refresh(), names="value")
        self._arrange(None, "", "", [
            row(self.data_choice, self.metric, self.percent), self.figure,
            widgets.HTML("<b>Mean, std and 95 % band over seeds</b> (t interval of the mean)"), scrolling(self.table),
        ])
        self.refresh()

    def refresh(self) -> None:
        data, metric = self.data_choice.value, self.metric.value
        rows = self.results[self.results["data"].astype(str) == data]
        self.cells = data_efficiency(rows, metric, percent=self.percent.value)
        drawn = efficiency_figure(self.cells, metric, source_label(data), self.percent.value)
        with self.figure.batch_update() as figure:
            figure.data = ()
            figure.layout = drawn.layout
            figure.add_traces(drawn.data)
        shown = self.cells.drop(columns=["data"])
        self.table.value = f"<b>{html.escape(source_label(data))}</b>" + table_html(shown.style.format(precision=4, na_rep="-"))


def data_efficiency_panel(
    results: pd.DataFrame | str | Path, *, metric: str = "Has0_acc_2", percent: bool = True
) -> DataEfficiencyPanel:
    """Where mixing pays off: ``workbench.data_efficiency_panel("sweeps/fractions/results.csv")``.

    Args:
        results: a results table (a sweep with ``[train] train_fraction = [0.1, 0.25, 0.5, 1.0]``) or its CSV.
        metric: the test metric shown first.
        percent: show the metric x 100, as MMSA does.
    """
    return DataEfficiencyPanel(_table(results), metric, percent)


def _table(results: pd.DataFrame | str | Path) -> pd.DataFrame:
    table = results if isinstance(results, pd.DataFrame) else read_results(results)
    if table.empty:
        raise ValueError("the results table is empty: train or sweep first")
    return table


def _chosen_data(table: pd.DataFrame, data: str | None) -> str:
    names = sorted(table["data"].astype(str).unique())
    if data is None:
        if len(names) > 1:
            raise ValueError(f"the results table holds several data sets {names}; choose one with data=...")
        return names[0]
    if data not in names:
        raise ValueError(f"data {data!r} is not in the results table; data sets there: {names}")
    return data


def _translucent(colour: str, opacity: float) -> str:
    """``#RRGGBB`` as an ``rgba(...)`` fill of the given opacity."""
    red, green, blue = (int(colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red},{green},{blue},{opacity})"
