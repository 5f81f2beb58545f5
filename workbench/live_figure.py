"""LiveFigure: a plotly figure widget whose browser copy is its synced state.

plotly's own ``go.FigureWidget`` sends each change as a one-off message and gives every figure its
own 5 MB copy of plotly.js to evaluate. anywidget drops a model's messages once it has failed to
load its code within two seconds, so on a busy machine figures came up empty; and a reloaded page
rebuilt each figure from its state at construction, also empty. Here the traces and layout *are*
state: a view draws whatever the state holds, whenever it is created, so late views, second views
and reloads show the current figure. That state lives in a plain ipywidgets model
(``FigureState``), which takes every update at once, so the anywidget model needs no message after
it is created. plotly.js travels once per kernel, in one ``PlotlyLibrary`` widget, and is
evaluated once per page.

Edit ``figure`` (a ``go.Figure``) with plotly's API; each edit, or each ``batch_update()`` block,
sends the traces and the layout that changed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

import anywidget
import ipywidgets
import plotly
import plotly.graph_objects as go
import traitlets
from plotly.offline import get_plotlyjs_version
from plotly.utils import PlotlyJSONEncoder

ESM = Path(__file__).with_name("live_figure.js")
CSS = """
.msmix-live-figure { width: 100%; min-width: 0; position: relative; }
.msmix-live-figure-note { color: #666; font-style: italic; padding: 6px 8px; }
.msmix-busy .msmix-live-figure-plot, .msmix-busy table { opacity: 0.35; transition: opacity 0.1s; }
.msmix-busy .msmix-live-figure::after {
  content: "Computing…"; position: absolute; top: 45%; left: 50%; transform: translate(-50%, -50%);
  background: white; border: 1px solid #bbb; border-radius: 4px; padding: 4px 12px; color: #333;
}
"""
DEFAULT_CONFIG = {"displaylogo": False}


class PlotlyLibrary(anywidget.AnyWidget):
    """plotly.js, once per kernel: its source is this widget's state, evaluated once per page."""

    _esm = ESM
    source = traitlets.Bytes(b"").tag(sync=True)
    version = traitlets.Unicode("").tag(sync=True)

    _shared: PlotlyLibrary | None = None
    _lock = threading.Lock()

    @classmethod
    def shared(cls) -> PlotlyLibrary:
        """The kernel's one library widget (a new one if it was closed)."""
        with cls._lock:
            if cls._shared is None or cls._shared.comm is None:
                source = Path(plotly.__file__).with_name("package_data") / "plotly.min.js"
                cls._shared = cls(source=source.read_bytes(), version=get_plotlyjs_version())
            return cls._shared


class _TrackedFigure(go.Figure):
    """A go.Figure that calls ``on_change`` where plotly would send a widget message."""

    def __init__(self, figure: go.Figure | dict | None, on_change: Callable[[], None]) -> None:
        super().__init__(figure)
        self._on_change = on_change

    def _changed(self, *_: Any, **__: Any) -> None:
        callback = getattr(self, "_on_change", None)
        if callback is not None:
            callback()

    _send_addTraces_msg = _send_moveTraces_msg = _send_deleteTraces_msg = _changed
    _send_restyle_msg = _send_relayout_msg = _send_update_msg = _send_animate_msg = _changed


class FigureState(ipywidgets.Widget):
    """What a LiveFigure's views draw: one JSON text per trace, the layout's JSON, plotly's config,
    the CSS classes of the figure, and a revision counted up with every change."""

    _data = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _layout = traitlets.Unicode("{}").tag(sync=True)
    _config = traitlets.Dict().tag(sync=True)
    classes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    revision = traitlets.Int(0).tag(sync=True)


class LiveFigure(anywidget.AnyWidget):
    """A displayable plotly figure kept in step with ``figure``.

    Attributes:
        figure: the ``go.Figure`` to edit (``live.figure.data[0].x = ...``,
            ``live.figure.update_layout(...)``); every edit reaches each view.
        state: the ``FigureState`` the views draw.
        revision: how many times the state changed; a view marks the revision it has drawn in its
            element's ``data-revision`` attribute (tests and benchmarks wait on it).
    """

    _esm = ESM
    _css = CSS
    _figure_state = traitlets.Instance(FigureState).tag(sync=True, **ipywidgets.widget_serialization)
    _plotly_version = traitlets.Unicode("").tag(sync=True)

    def __init__(self, figure: go.Figure | dict | None = None, config: dict[str, Any] | None = None) -> None:
        library = PlotlyLibrary.shared()
        state = FigureState(_config={**DEFAULT_CONFIG, **(config or {})})
        super().__init__(_plotly_version=library.version, _figure_state=state)
        self._library = library
        self._sync_lock = threading.RLock()
        self._holding = 0
        self.figure = _TrackedFigure(figure, self._sync)
        self._sync()

    @property
    def state(self) -> FigureState:
        return self._figure_state

    @property
    def revision(self) -> int:
        return self._figure_state.revision

    def add_class(self, className: str) -> LiveFigure:  # noqa: N803 (ipywidgets' name)
        """Add a CSS class to the figure's element (kept in the state too, which always reaches the views)."""
        super().add_class(className)
        if className not in self.state.classes:
            self.state.classes = [*self.state.classes, className]
        return self

    def close(self) -> None:
        self._figure_state.close()
        super().close()

    @contextmanager
    def batch_update(self) -> Iterator[go.Figure]:
        """Edit the figure inside the block; the browser gets one update at its end."""
        with self._sync_lock:
            self._holding += 1
            try:
                with self.figure.batch_update():
                    yield self.figure
            finally:
                self._holding -= 1
            self._sync()

    def _sync(self) -> None:
        """Send the traces and the layout that differ from what the views hold."""
        with self._sync_lock:
            if self._holding or not hasattr(self, "figure"):
                return
            figure, state = self.figure.to_dict(), self._figure_state
            data = [_json(trace) for trace in figure["data"]]
            layout = _json(figure["layout"])
            if data == state._data and layout == state._layout:
                return
            with state.hold_sync():
                if data != state._data:
                    state._data = data
                if layout != state._layout:
                    state._layout = layout
                state.revision += 1


def _json(value: Any) -> str:
    """Plotly's JSON for a trace or a layout (numpy arrays as typed-array specs, NaN as null)."""
    return json.dumps(value, cls=PlotlyJSONEncoder, separators=(",", ":"))
