"""LiveFigure: its synced state is always the figure, whatever edited it, as strict JSON.

The browser draws only what the state holds, so these tests compare the synced traces and layout
with ``figure.to_dict()`` after every kind of edit plotly offers.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from synced_state import decode, strict_json, synced_layout, synced_traces
from workbench.live_figure import ESM, LiveFigure, PlotlyLibrary


def assert_synced(live: LiveFigure) -> None:
    """The synced traces and layout equal the figure's own dictionary."""
    expected = decode(strict_json(live.figure.to_json()))
    got_traces, got_layout = synced_traces(live), synced_layout(live)
    assert len(got_traces) == len(expected["data"])
    for got, want in zip(got_traces, expected["data"]):
        np.testing.assert_equal(got, want)
    np.testing.assert_equal(got_layout, expected["layout"])


EDITS = {
    "add a trace": lambda f: f.add_scatter(x=[1, 2, 3], y=[3, 1, 2], name="added"),
    "set a trace property": lambda f: setattr(f.data[0], "y", np.array([9.0, 8.0])),
    "set a nested trace property": lambda f: setattr(f.data[0].marker, "color", "red"),
    "set a layout property": lambda f: setattr(f.layout.title, "text", "new title"),
    "update_layout": lambda f: f.update_layout(height=420, xaxis_range=[0, 5]),
    "update_traces": lambda f: f.update_traces(opacity=0.5),
    "add a line shape": lambda f: f.add_hline(y=1.5),
    "delete traces": lambda f: setattr(f, "data", f.data[:0]),
    "hide a trace": lambda f: setattr(f.data[0], "visible", False),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_every_kind_of_edit_reaches_the_synced_state(edit: str) -> None:
    live = LiveFigure(go.Figure(go.Scatter(x=[0, 1], y=[1, 0], name="first")))
    before = live.revision
    EDITS[edit](live.figure)
    assert live.revision > before
    assert_synced(live)


def test_a_batch_sends_one_update() -> None:
    live = LiveFigure(go.Figure([go.Scatter(x=[0], y=[0]), go.Bar(x=["a"], y=[1])]))
    before = live.revision
    with live.batch_update() as figure:
        figure.data[0].x, figure.data[0].y = [1, 2], [3, 4]
        figure.data[1].y = [5]
        figure.layout.title.text = "batched"
    assert live.revision == before + 1
    assert_synced(live)


def test_an_edit_that_changes_nothing_sends_nothing() -> None:
    live = LiveFigure(go.Figure(go.Scatter(x=[0, 1], y=[1, 0])))
    before = live.revision
    with live.batch_update() as figure:
        figure.data[0].y = [1, 0]
    assert live.revision == before


def test_only_what_changed_is_resent() -> None:
    live = LiveFigure(go.Figure(go.Scatter(x=[0, 1], y=[1, 0])))
    sent: list[str] = []
    live.state.observe(lambda change: sent.append(change["name"]), names=["_data", "_layout"])
    live.figure.layout.title.text = "only the layout"
    assert sent == ["_layout"]
    live.figure.data[0].y = [2, 3]
    assert sent == ["_layout", "_data"]


def test_nan_and_infinity_become_strict_json() -> None:
    z = np.arange(9.0).reshape(3, 3)
    np.fill_diagonal(z, np.nan)
    live = LiveFigure()
    live.figure.add_heatmap(z=z)
    live.figure.add_scatter(x=[0, 1, 2], y=[1.0, float("nan"), float("inf")])
    heatmap, scatter = synced_traces(live)  # strict: raises on NaN or Infinity tokens
    np.testing.assert_array_equal(np.isnan(heatmap["z"]), np.eye(3, dtype=bool))
    assert scatter["y"][0] == 1.0 and scatter["y"][1] is None and scatter["y"][2] is None


def test_numpy_arrays_travel_as_typed_arrays() -> None:
    live = LiveFigure(go.Figure(go.Heatmap(z=np.random.default_rng(0).random((32, 32)))))
    trace = strict_json(live.state._data[0])
    assert set(trace["z"]) >= {"dtype", "bdata"}, "a 32 x 32 array should not be a list of lists"


def test_edits_from_several_threads_all_arrive() -> None:
    """The training panel edits its figures from its training thread while the notebook edits others."""
    live = LiveFigure(go.Figure([go.Scatter(x=[], y=[]) for _ in range(4)]))

    def work(i: int) -> None:
        for step in range(25):
            with live.batch_update() as figure:
                figure.data[i].x = list(range(step + 1))
                figure.data[i].y = [i] * (step + 1)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [len(t["x"]) for t in synced_traces(live)] == [25] * 4
    assert_synced(live)


def test_every_figure_shares_one_library_until_it_is_closed() -> None:
    first, second = LiveFigure(), LiveFigure()
    library = PlotlyLibrary.shared()
    assert first._plotly_version == second._plotly_version == library.version != ""
    assert library.source.startswith(b"/**") and b"plotly.js v" in library.source[:100]
    library.close()
    renewed = PlotlyLibrary.shared()
    assert renewed is not library and renewed.comm is not None


def test_the_state_is_a_plain_widget_model_and_holds_the_css_classes() -> None:
    """anywidget drops messages to a model whose code loaded late, so everything that changes after
    creation goes to the FigureState, a plain ipywidgets model, and the anywidget model never changes."""
    live = LiveFigure(go.Figure(go.Scatter(x=[0], y=[0])))
    assert live.state.get_state()["_model_module"] == "@jupyter-widgets/base"
    assert live.get_state()["_figure_state"] == f"IPY_MODEL_{live.state.model_id}"
    live.add_class("msmix-sass-heatmap")
    assert "msmix-sass-heatmap" in live._dom_classes and live.state.classes == ["msmix-sass-heatmap"]
    changed: list[str] = []
    live.observe(lambda change: changed.append(change["name"]))
    live.figure.data[0].x = [1]
    assert changed == []


def test_closing_a_figure_closes_its_state() -> None:
    live = LiveFigure()
    state = live.state
    live.close()
    assert state.comm is None


def test_the_browser_code_draws_state_and_loads_the_library_once() -> None:
    """Guards against a return to message-based updates: the view must draw from the state model."""
    code = Path(ESM).read_text()
    for needed in ('state.get("_data")', 'state.get("_layout")', '"change:_data"', "Plotly.react", "export default",
                   'model.get("_figure_state")'):
        assert needed in code
    assert "msg:custom" not in code


def test_the_stylesheet_says_computing_in_plain_characters() -> None:
    """The busy note is CSS text; a stray escape once turned its ellipsis into a control character."""
    from workbench.live_figure import CSS

    assert 'content: "Computing…"' in CSS
    assert all(ch.isprintable() or ch == "\n" for ch in CSS)
