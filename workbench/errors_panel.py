"""Errors panel: the worst predictions of a split, with their text and per-modality attribution.

Predictions come from the model's forward pass over the split; the worst samples (largest absolute
error) are explained with ``msmix.attribution.attribute_inputs``, and each modality's share of the
attribution is listed next to the text, so a reader sees which modality a bad prediction leaned on.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import pandas as pd
import torch

from msmix import MODALITIES
from msmix.attribution import METHODS, Attribution, attribute_inputs, modality_shares
from msmix.data.dataset import SPLITS, Dataset
from msmix.inference import device_of
from msmix.models.base import Backbone
from workbench._panel import Panel, row, scrolling
from workbench._style import MODALITY_COLOURS, shorten, table_html
from workbench.figures import base_figure, set_title
from workbench.live_figure import LiveFigure
from workbench.sources import load_data, predict_split, resolve_model, to_device


class ErrorsPanel(Panel):
    """The errors widget.

    Attributes:
        split: Dropdown of the split to search; count: IntSlider, how many worst samples;
        method: ToggleButtons, ``"ig"`` or ``"ablation"``.
        table: HTML listing the worst samples (rank, id, text, label, prediction, error, shares).
        bars: LiveFigure, one bar trace per modality: each worst sample's summed attribution.
        worst: DataFrame behind the table (index: position in the split); attribution: their Attribution.
    """

    css_name = "errors"

    def __init__(self, model: Backbone, dataset: Dataset, split: str, count: int, method: str, n_steps: int,
                 note: str) -> None:
        super().__init__()
        self.model, self.dataset, self.n_steps = model, dataset, n_steps
        self._predictions: dict[str, torch.Tensor] = {}
        self.split = widgets.Dropdown(options=list(SPLITS), value=split, description="split")
        self.count = widgets.IntSlider(value=count, min=1, max=min(50, len(dataset[split])), description="worst",
                                       continuous_update=False)
        self.method = widgets.ToggleButtons(options=list(METHODS), value=method, description="method")
        self.table = widgets.HTML()
        self.bars = self._figure()
        self.worst = pd.DataFrame()
        self.attribution: Attribution | None = None
        for control in (self.split, self.count, self.method):
            control.observe(lambda _: self._in_background(self.refresh), names="value")
        self._arrange(dataset.spec, dataset.source, note, [
            row(self.split, self.count, self.method), self.bars, scrolling(self.table),
        ])
        self.refresh()

    def predictions(self, split: str) -> torch.Tensor:
        """(N,) the model's predictions for a split (computed once)."""
        if split not in self._predictions:
            self._predictions[split] = predict_split(self.model, self.dataset[split])
        return self._predictions[split]

    def refresh(self) -> None:
        part = self.dataset[self.split.value]
        labels = part.labels.detach().double().cpu()
        prediction = self.predictions(self.split.value).double()
        error = (prediction - labels).abs()
        order = torch.sort(error, descending=True, stable=True).indices[: int(self.count.value)]
        batch = part.batch(order.to(part.device)).to(device_of(self.model))
        self.attribution = to_device(
            attribute_inputs(self.model, batch, method=self.method.value, n_steps=self.n_steps), "cpu"
        )
        shares = modality_shares(self.attribution)
        self.worst = pd.DataFrame({
            "rank": range(1, len(order) + 1),
            "id": [part.ids[i] for i in order.tolist()],
            "text": [part.raw_text[i] for i in order.tolist()],
            "label": labels[order].numpy(),
            "prediction": prediction[order].numpy(),
            "error": error[order].numpy(),
            **{f"{m} share": shares[m].to_numpy() for m in shares.columns},
        }, index=pd.Index(order.tolist(), name="position"))
        self._draw()

    def _draw(self) -> None:
        names = [str(r) for r in self.worst["rank"]]
        hover = [f"{html.escape(i)} (y = {y:+.2f}, prediction {p:+.2f}): {shorten(t, 60)}" for i, y, p, t
                 in zip(self.worst["id"], self.worst["label"], self.worst["prediction"], self.worst["text"])]
        totals = self.attribution.totals()
        with self.bars.batch_update() as figure:
            for trace in figure.data:
                trace.x, trace.y, trace.hovertext = names, totals[trace.name].numpy(), hover
            set_title(figure, f"Worst {len(names)} predictions on {self.split.value}: attribution per modality "
                      f"({self.method.value})", self.dataset.spec)
        shown = self.worst.copy()
        shown["text"] = [shorten(t, 90) for t in shown["text"]]
        shown["id"] = [html.escape(i) for i in shown["id"]]
        formats = {"label": "{:+.2f}", "prediction": "{:+.2f}", "error": "{:.2f}",
                   **{c: "{:.0%}" for c in shown.columns if c.endswith(" share")}}
        self.table.value = table_html(shown.style.format(formats))

    def _figure(self) -> LiveFigure:
        figure = base_figure("Worst predictions", "rank (1 = largest error)", "summed attribution",
                             self.dataset.spec, height=380)
        for m in MODALITIES:
            figure.add_bar(name=m, marker_color=MODALITY_COLOURS[m],
                           hovertemplate="%{hovertext}<br>%{y:+.4f}<extra>%{fullData.name}</extra>")
        figure.update_layout(barmode="group")
        figure.update_xaxes(type="category")
        return LiveFigure(figure)


def errors_panel(
    model: Any,
    data: Dataset | str = "toy",
    *,
    split: str = "test",
    count: int = 8,
    method: str = "ig",
    n_steps: int = 32,
) -> ErrorsPanel:
    """The worst predictions with their text and attribution: ``workbench.errors_panel(run, "toy")``.

    Args:
        model: a trained model: a LoadedRun, the training panel, or a Backbone (a name gives a fresh one).
        data: a Dataset, or a source for ``msmix.data.load``.
        split: the split to search; count: how many of the worst to show.
        method: ``"ig"`` or ``"ablation"``; n_steps: Integrated Gradients' integration points.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    dataset = load_data(data, model)
    source = resolve_model(model, dataset.spec)
    note = f"{html.escape(source.description)}; error = |prediction &minus; label|; attribution baseline: all-zero features."
    return ErrorsPanel(source.model, dataset, split, count, method, n_steps, note)
