"""The frame every panel shares: a data-set banner, a line on what is shown, controls, then figures."""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets

from msmix.data.spec import DataSpec
from workbench._style import data_banner


class Panel(widgets.VBox):
    """A VBox whose first line names the data set (SYNTHETIC where it is) and the model shown.

    Subclasses set ``css_name``, build their widgets, then call ``_arrange`` with the rows to show
    under the banner. ``_arrange`` also gives the panel the CSS class ``msmix-<css_name>`` and each
    public widget attribute ``msmix-<css_name>-<attribute>`` (``msmix-sass-threshold``), so a
    browser test can find them.
    """

    css_name = "panel"

    def _arrange(self, spec: DataSpec | None, source: str, note: str, rows: Sequence[widgets.Widget]) -> None:
        header = [widgets.HTML(data_banner(spec, source))] if spec is not None else []
        if note:
            header.append(widgets.HTML(f"<div style='color:#555;padding:2px 8px'>{note}</div>"))
        self.children = (*header, *rows)
        self.add_class(f"msmix-{self.css_name}")
        for name, value in vars(self).items():
            if not name.startswith("_") and isinstance(value, widgets.DOMWidget):
                value.add_class(f"msmix-{self.css_name}-{name.replace('_', '-')}")
