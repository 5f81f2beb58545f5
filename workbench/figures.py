"""Small builders for the panels' live plotly figures, so they all share one look."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from msmix.data.spec import DataSpec
from workbench._style import data_label, template


def live_figure(
    title: str,
    x_title: str = "",
    y_title: str = "",
    spec: DataSpec | str | None = None,
    height: int = 380,
    width: int | None = None,
) -> go.FigureWidget:
    """An empty FigureWidget with a title (naming the data set, SYNTHETIC where it is) and axis labels."""
    figure = go.FigureWidget(layout={"template": template()})
    figure.update_layout(
        title={"text": titled(title, spec), "x": 0.02, "xanchor": "left", "font": {"size": 15}},
        height=height,
        width=width,
        margin={"l": 60, "r": 20, "t": 60, "b": 100},
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "left", "x": 0.0,
                "traceorder": "normal"},
    )
    figure.update_xaxes(title_text=x_title)
    figure.update_yaxes(title_text=y_title)
    return figure


def titled(title: str, spec: DataSpec | str | None) -> str:
    """The title followed by the data set's name (with SYNTHETIC where it applies) in small type.

    ``spec`` is a DataSpec, or already the label to show (see ``_style.source_label``).
    """
    if spec is None:
        return title
    label = spec if isinstance(spec, str) else data_label(spec)
    return f"{title}<br><sup>{label}</sup>"


def set_title(figure: go.FigureWidget, title: str, spec: DataSpec | str | None = None) -> None:
    figure.layout.title.text = titled(title, spec)


def with_gaps(values: np.ndarray) -> list:
    """``values`` as nested lists with None where they are NaN.

    Plotly leaves a gap at None just as at NaN, but NaN is not valid JSON: a FigureWidget holding it
    makes jupyter_client warn on every update (and newer versions refuse the message).
    """
    values = np.asarray(values, dtype=float)
    return np.where(np.isnan(values), None, values).tolist()
