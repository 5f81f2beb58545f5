"""Heat maps with gaps stay valid JSON, so widget messages carry no NaN."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go

from workbench.figures import with_gaps


def test_nan_becomes_none_and_numbers_stay() -> None:
    values = np.array([[1.5, np.nan], [np.nan, -2.0]])
    out = with_gaps(values)
    assert out == [[1.5, None], [None, -2.0]]
    np.testing.assert_array_equal(np.asarray(out, dtype=float), values)


def test_a_figure_widget_with_gaps_serialises_without_nan() -> None:
    z = np.arange(9.0).reshape(3, 3)
    np.fill_diagonal(z, np.nan)
    figure = go.FigureWidget()
    figure.add_heatmap(z=with_gaps(z))
    json.dumps(figure.to_plotly_json(), allow_nan=False)
