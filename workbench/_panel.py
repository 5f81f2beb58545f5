"""The frame every panel shares: a data-set banner, a line on what is shown, controls, then figures;
and the rows they are laid out in, which wrap instead of overflowing a narrow notebook."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Callable

import ipywidgets as widgets

from msmix.data.spec import DataSpec
from workbench._background import BackgroundWork
from workbench._style import NEGATIVE, data_banner


class Panel(widgets.VBox):
    """A VBox whose first line names the data set (SYNTHETIC where it is) and the model shown.

    Subclasses set ``css_name``, build their widgets, then call ``_arrange`` with the rows to show
    under the banner. ``_arrange`` also gives the panel the CSS class ``msmix-<css_name>`` and each
    public widget attribute ``msmix-<css_name>-<attribute>`` (``msmix-sass-threshold``), so a
    browser test can find them.

    Updates that need new model work run through ``_in_background``: the kernel stays free for the
    next input, the panel carries the CSS class ``msmix-busy`` (its figures dim under a
    "Computing" note) until the newest request is drawn, and ``wait()`` blocks until then.
    """

    css_name = "panel"

    def _arrange(self, spec: DataSpec | None, source: str, note: str, rows: Sequence[widgets.Widget]) -> None:
        header = [widgets.HTML(data_banner(spec, source))] if spec is not None else []
        if note:
            header.append(widgets.HTML(f"<div style='color:#555;padding:2px 8px'>{note}</div>"))
        self._problem = widgets.HTML(layout={"display": "none"})
        self.children = (*header, self._problem, *rows)
        self.add_class(f"msmix-{self.css_name}")
        for name, value in vars(self).items():
            if not name.startswith("_") and isinstance(value, widgets.DOMWidget):
                value.add_class(f"msmix-{self.css_name}-{name.replace('_', '-')}")
            if isinstance(value, widgets.ToggleButtons):
                value.style.button_width = "auto"  # buttons as wide as their words, all on one line

    def _in_background(self, job: Callable[[], None]) -> None:
        """Run ``job`` (which recomputes and redraws from the controls' current values) on the
        panel's worker thread; a newer request replaces one that has not started."""
        if getattr(self, "_work", None) is None:
            self._work = BackgroundWork(self._show_busy, self._show_problem)
        self._work.submit(job)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the panel's background update has been drawn; re-raise its error, if any."""
        work = getattr(self, "_work", None)
        if work is not None:
            work.wait(timeout)

    def _show_busy(self, busy: bool) -> None:
        if busy:
            self._show_problem(None)
            self.add_class("msmix-busy")
        else:
            self.remove_class("msmix-busy")

    def _show_problem(self, error: BaseException | None) -> None:
        """One line saying what failed (hidden when ``error`` is None)."""
        if error is None:
            self._problem.value, self._problem.layout.display = "", "none"
            return
        self._problem.value = (f"<span style='color:{NEGATIVE}'>Could not update: "
                               f"{html.escape(f'{type(error).__name__}: {error}')}</span>")
        self._problem.layout.display = None


def row(*children: widgets.Widget) -> widgets.HBox:
    """Widgets side by side, wrapping onto a new line where the notebook is too narrow for them."""
    return widgets.HBox(list(children), layout=widgets.Layout(flex_flow="row wrap", width="100%",
                                                              align_items="flex-start"))


def figure_row(*figures: widgets.DOMWidget, basis: tuple[int, ...] = ()) -> widgets.HBox:
    """Figures side by side, sharing the width (``basis``: each one's preferred width in px, default
    equal); a figure whose share would fall below its basis moves to the next line."""
    for figure, width in zip(figures, basis or (440,) * len(figures)):
        figure.layout.flex = f"1 1 {width}px"
        figure.layout.min_width = "0"
    return row(*figures)


def scrolling(widget: widgets.Widget) -> widgets.Box:
    """A wide widget (a table) in a box that scrolls sideways instead of widening the panel."""
    return widgets.Box([widget], layout=widgets.Layout(overflow="auto hidden", width="100%"))
