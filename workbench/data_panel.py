"""Data panel: which data set is loaded (a real file or the SYNTHETIC demo set, said plainly), its
split sizes and label statistics (``msmix.data.describe``), and the label distribution per split."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
from torch import Tensor

from msmix.data import describe
from msmix.data.dataset import SPLITS, Dataset
from workbench._panel import Panel, row, scrolling
from workbench._style import SIGN_COLOURS, SIGN_NAMES, table_html
from workbench.figures import base_figure, set_title
from workbench.live_figure import LiveFigure
from workbench.sources import load_data

SENTIMENT = "sentiment"


class DataPanel(Panel):
    """The data panel widget.

    Attributes:
        split: ToggleButtons choosing the split whose labels are drawn.
        label: Dropdown: the sentiment label, or a per-modality label where the data set has them (CH-SIMS).
        bins: IntSlider, number of histogram bins over the label range (one centred on each end and on 0).
        summary: HTML with ``Dataset.summary()``; table: HTML with ``msmix.data.describe`` per split.
        histogram: LiveFigure, one histogram trace per label sign (negative, neutral, positive).
        dataset: the Dataset shown.
    """

    css_name = "data"

    def __init__(self, dataset: Dataset) -> None:
        super().__init__()
        self.dataset = dataset
        spec = dataset.spec
        extra = sorted(dataset.train.modality_labels)
        self.split = widgets.ToggleButtons(options=list(SPLITS), value="train", description="split")
        self.label = widgets.Dropdown(options=[SENTIMENT, *extra], value=SENTIMENT, description="label",
                                      disabled=not extra)
        self.bins = widgets.IntSlider(value=25, min=3, max=61, step=2,
                                      description="bins", continuous_update=False)
        self.summary = widgets.HTML(f"<pre style='margin:0'>{html.escape(dataset.summary())}</pre>")
        self.table = widgets.HTML(_describe_html(dataset))
        self.histogram = self._figure()
        for control in (self.split, self.label, self.bins):
            control.observe(lambda _: self.refresh(), names="value")
        self._arrange(spec, dataset.source, "", [
            scrolling(self.summary), scrolling(self.table), row(self.split, self.label, self.bins), self.histogram,
        ])
        self.refresh()

    def labels(self) -> Tensor:
        """The labels the histogram shows (current split and label kind)."""
        part = self.dataset[self.split.value]
        values = part.labels if self.label.value == SENTIMENT else part.modality_labels[self.label.value]
        return values.detach().double().cpu()

    def refresh(self) -> None:
        y = self.labels()
        r = self.dataset.spec.label_range
        size = 2 * r / (int(self.bins.value) - 1)  # bins centred on -r, ..., 0, ..., r
        with self.histogram.batch_update() as figure:
            for trace, sign in zip(figure.data, (-1, 0, 1)):
                trace.x = y[(y.sign() == sign)].numpy()
                trace.xbins = {"start": -r - size / 2, "end": r + size / 2, "size": size}
            what = "labels" if self.label.value == SENTIMENT else f"{self.label.value} labels"
            set_title(figure, f"{what.capitalize()} of the {self.split.value} split (n = {len(y)})",
                      self.dataset.spec)

    def _figure(self) -> LiveFigure:
        figure = base_figure("Labels", "label", "samples", self.dataset.spec, height=360)
        for sign in (-1, 0, 1):
            figure.add_histogram(name=SIGN_NAMES[sign], marker_color=SIGN_COLOURS[sign], opacity=0.85)
        r = self.dataset.spec.label_range
        figure.update_layout(barmode="stack", bargap=0.05)
        figure.update_xaxes(range=[-r * 1.05, r * 1.05])
        return LiveFigure(figure)


def data_panel(data: Dataset | str = "toy", **load_options: Any) -> DataPanel:
    """Show a data set: ``workbench.data_panel("toy")`` or ``workbench.data_panel(ds)``.

    Args:
        data: a Dataset, or a source for ``msmix.data.load`` (``"toy"`` or an MMSA pickle's path).
        **load_options: passed to ``msmix.data.load`` when ``data`` is a source.
    """
    return DataPanel(load_data(data, **load_options))


def _describe_html(dataset: Dataset) -> str:
    table = describe(dataset)  # its "data" column repeats the name the banner above gives, and would widen the table
    shown = table[["n", "label_mean", "label_std", "label_min", "label_max",
                   "share_negative", "share_zero", "share_positive"]]
    # One format call: a second ``.format`` would reset the other columns to six decimals.
    styled = shown.style.format({c: "{:.0%}" for c in ("share_negative", "share_zero", "share_positive")},
                                precision=3)
    return table_html(styled, index=True)
