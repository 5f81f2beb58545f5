"""The frame every panel shares: a data-set banner, a line on what is shown, controls, then figures."""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets

from msmix.data.spec import DataSpec
from workbench._style import data_banner


class Panel(widgets.VBox):
    """A VBox whose first line names the data set (SYNTHETIC where it is) and the model shown.

    Subclasses build their widgets, then call ``_arrange`` with the rows to show under the banner.
    """

    def _arrange(self, spec: DataSpec | None, source: str, note: str, rows: Sequence[widgets.Widget]) -> None:
        header = [widgets.HTML(data_banner(spec, source))] if spec is not None else []
        if note:
            header.append(widgets.HTML(f"<div style='color:#555;padding:2px 8px'>{note}</div>"))
        self.children = (*header, *rows)
