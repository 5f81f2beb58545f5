"""Small builders for the panels' plotly figures, so they all share one look.

A panel builds a ``go.Figure`` with ``base_figure``, adds its traces, and shows it as a
``LiveFigure``; later edits go through ``LiveFigure.batch_update``.
"""

from __future__ import annotations

import plotly.graph_objects as go

from msmix.data.spec import DataSpec
from workbench._style import data_label, template
from workbench.live_figure import LiveFigure

TITLE_BAND = 90  # px above the plot area: the toolbar's row, then two title lines
TITLE_LINE = 18  # px more for each further title line
LEGEND_BAND = 84  # px below the plot area: tick labels, the axis title, then the legend


def base_figure(
    title: str,
    x_title: str = "",
    y_title: str = "",
    spec: DataSpec | str | None = None,
    height: int = 380,
) -> go.Figure:
    """An empty figure with a title (naming the data set, SYNTHETIC where it is) and axis labels.

    Its width follows the page (the view resizes it with its container); the title sits under the
    toolbar's row, so the two never overlap; the legend sits at the very bottom, under the x axis
    title.
    """
    text = titled(title, spec)
    figure = go.Figure(layout={"template": template()})
    figure.update_layout(
        title={"text": text, "x": 0.0, "xref": "paper", "xanchor": "left",
               "y": 1.0, "yref": "paper", "yanchor": "bottom", "pad": {"b": 16}, "font": {"size": 15}},
        height=height,
        autosize=True,
        margin={"l": 64, "r": 24, "t": TITLE_BAND + TITLE_LINE * (text.count("<br>") - 1), "b": LEGEND_BAND},
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0.0, "xanchor": "left",
                "x": 0.0, "traceorder": "normal"},
        uirevision="keep",  # zoom and legend choices survive updates
    )
    figure.update_xaxes(title_text=x_title, automargin=True)
    figure.update_yaxes(title_text=y_title, automargin=True)
    return figure


def live_figure(*args, **kwargs) -> LiveFigure:
    """``base_figure(...)`` shown as a LiveFigure (for figures whose traces are added later)."""
    return LiveFigure(base_figure(*args, **kwargs))


def titled(title: str, spec: DataSpec | str | None) -> str:
    """The title followed by the data set's name (with SYNTHETIC where it applies) in small type.

    ``spec`` is a DataSpec, or already the label to show (see ``_style.source_label``).
    """
    if spec is None:
        return title
    label = spec if isinstance(spec, str) else data_label(spec)
    return f"{title}<br><sup>{label}</sup>"


def set_title(figure: go.Figure, title: str, spec: DataSpec | str | None = None) -> None:
    figure.layout.title.text = titled(title, spec)
