"""Attribution panel: which modality, and which time step or token, a prediction rests on.

Original samples are explained on their input features (``msmix.attribution.attribute_inputs``:
per modality and per time step); mixed samples, which exist only as latents, on their mixed
latents through ``fuse`` (``attribute_mixed``: per modality, per token for sequence latents).
Bars show each sample's per-modality totals; the heat map shows one sample over time.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import numpy as np

from msmix.attribution import METHODS, Attribution, attribute_inputs, attribute_mixed
from msmix.data.dataset import Dataset
from msmix.inference import device_of
from msmix.mixing.base import Mixer, MixResult
from msmix.models.base import Backbone
from workbench._panel import Panel, row
from workbench._style import DIVERGING_SCALE, MODALITY_COLOURS
from workbench.figures import base_figure, set_title
from workbench.live_figure import LiveFigure
from workbench.sources import (
    LatentBatch,
    encode_sample,
    load_data,
    mix_sample,
    resolve_mixer,
    resolve_model,
    to_device,
)

ORIGINAL, MIXED_SPACE = "original inputs", "mixed latents"
METHOD_NAMES = {"ig": "Integrated Gradients", "ablation": "feature ablation"}


class AttributionPanel(Panel):
    """The attribution widget.

    Attributes:
        space: ToggleButtons, ``"original inputs"`` or ``"mixed latents"``.
        method: ToggleButtons, ``"ig"`` or ``"ablation"``.
        sample: IntSlider, which sample the heat map and caption show.
        bars: LiveFigure, one bar trace per modality: each sample's summed attribution.
        heatmap: LiveFigure, modality x time step (or token) scores of the chosen sample (NaN
            beyond a modality's length).
        caption: HTML describing the chosen sample (for mixed ones: parents, ratios, mixed label).
        attribution: the current ``msmix.attribution.Attribution``.
    """

    css_name = "attribution"

    def __init__(self, model: Backbone, sample: LatentBatch, mix: MixResult, note: str, method: str,
                 n_steps: int, source: str = "") -> None:
        super().__init__()
        self.model, self.sample_batch, self.mix, self.n_steps = model, sample, mix, n_steps
        self._cache: dict[tuple[str, str], Attribution] = {}
        spaces = [ORIGINAL, MIXED_SPACE] if mix.k else [ORIGINAL]
        self.space = widgets.ToggleButtons(options=spaces, value=ORIGINAL, description="explain")
        self.method = widgets.ToggleButtons(options=list(METHODS), value=method, description="method")
        self.sample = widgets.IntSlider(value=0, min=0, max=len(sample) - 1, description="sample",
                                        continuous_update=False)
        self.caption = widgets.HTML()
        self.bars = self._bars()
        self.heatmap = self._heatmap()
        self.attribution: Attribution | None = None
        self.space.observe(lambda _: self._on_choice(), names="value")
        self.method.observe(lambda _: self._on_choice(), names="value")
        self.sample.observe(lambda _: self._draw_sample(), names="value")
        self._arrange(sample.spec, source, note, [
            row(self.space, self.method), self.bars, self.sample, self.caption, self.heatmap,
        ])
        self.refresh()

    def compute(self, space: str, method: str) -> Attribution:
        """The attribution for one space and method (computed once, then cached)."""
        key = (space, method)
        if key not in self._cache:
            device = device_of(self.model)
            if space == ORIGINAL:
                batch = self.sample_batch.batch.to(device)
                found = attribute_inputs(self.model, batch, method=method, n_steps=self.n_steps)
            else:
                found = attribute_mixed(self.model, to_device(self.mix, device), method=method, n_steps=self.n_steps,
                                        ids=[f"mixed {r}" for r in range(self.mix.k)])
            self._cache[key] = to_device(found, "cpu")
        return self._cache[key]

    def _on_choice(self) -> None:
        """A computed attribution is drawn at once; a new one is computed in the background."""
        if (self.space.value, self.method.value) in self._cache:
            self.refresh()
        else:
            self._in_background(self.refresh)

    def refresh(self) -> None:
        self.attribution = self.compute(self.space.value, self.method.value)
        n = len(self.attribution)
        names = self._names()
        with self.bars.batch_update() as figure:
            hover = self._hover()
            for trace in figure.data:
                trace.x, trace.y, trace.hovertext = names, self.attribution.totals()[trace.name].numpy(), hover
            what = "input features" if self.space.value == ORIGINAL else "mixed latents"
            set_title(figure, f"{METHOD_NAMES[self.method.value]} on the {what}: summed per modality",
                      self.sample_batch.spec)
        self.sample.max = n - 1
        self._draw_sample()

    def _names(self) -> list[str]:
        """Bar labels: the sample's number (its id and text are in the hover)."""
        prefix = "" if self.space.value == ORIGINAL else "mixed "
        return [f"{prefix}{i}" for i in range(len(self.attribution))]

    def _hover(self) -> list[str]:
        if self.space.value == ORIGINAL:
            return [self.sample_batch.describe(i, 60) for i in range(len(self.attribution))]
        return [f"mixed label {float(y):+.2f}" for y in self.mix.labels]

    def _draw_sample(self) -> None:
        attr, i = self.attribution, min(int(self.sample.value), len(self.attribution) - 1)
        rows = list(attr.scores)
        steps = max(s.shape[1] for s in attr.scores.values())
        z = np.full((len(rows), steps), np.nan)
        for r, m in enumerate(rows):
            values = attr.scores[m][i].double().numpy()
            z[r, : len(values)] = values
        limit = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
        axis = "time step" if self.space.value == ORIGINAL else "token (one for vector latents)"
        with self.heatmap.batch_update() as figure:
            figure.data[0].z, figure.data[0].y = z, rows
            figure.data[0].x = np.arange(steps)
            figure.data[0].zmin, figure.data[0].zmax = -limit or -1.0, limit or 1.0
            figure.layout.xaxis.title.text = axis
            figure.layout.xaxis.update(tick0=0, dtick=1 if steps <= 20 else None, range=[-0.5, steps - 0.5])
            set_title(figure, f"Sample {i}: attribution per modality and {axis.split(' (')[0]}",
                      self.sample_batch.spec)
        self.caption.value = self._caption(i)

    def _caption(self, i: int) -> str:
        prediction = float(self.attribution.prediction[i])
        if self.space.value == ORIGINAL:
            return f"{self.sample_batch.describe(i, 120)}; prediction <b>{prediction:+.2f}</b>{self._one_step_note()}"
        text = f"mixed sample {i}: mixed label {float(self.mix.labels[i]):+.2f}, prediction <b>{prediction:+.2f}</b>"
        if self.mix.index_a is not None:
            a, b = int(self.mix.index_a[i]), int(self.mix.index_b[i])
            ratios = ", ".join(f"{m} {float(v[i]):.2f}" for m, v in (self.mix.ratios or {}).items())
            text += (f"<br>a: {self.sample_batch.describe(a)}<br>b: {self.sample_batch.describe(b)}"
                     f"<br>ratios of a: {ratios}")
        return text

    def _one_step_note(self) -> str:
        """Why a modality shows one time step: the backbone reads it averaged over time."""
        single = [m for m, scores in self.attribution.scores.items() if scores.shape[1] == 1]
        if not single or not getattr(self.model, "needs_time_average", False):
            return ""
        names = " and ".join(single)
        name = self.model.name.upper() or type(self.model).__name__
        return (f"<br><i>{names.capitalize()} {'has' if len(single) == 1 else 'have'} one time step: {name} reads "
                f"{'it' if len(single) == 1 else 'them'} averaged over time, as the published model does.</i>")

    def _bars(self) -> LiveFigure:
        figure = base_figure("Attribution per modality", "sample", "summed attribution", self.sample_batch.spec,
                             height=360)
        for m in self.sample_batch.latents:
            figure.add_bar(name=m, marker_color=MODALITY_COLOURS.get(m),
                           hovertemplate="%{hovertext}<br>%{y:+.4f}<extra>%{fullData.name}</extra>")
        figure.update_layout(barmode="group")
        figure.update_xaxes(type="category")
        return LiveFigure(figure)

    def _heatmap(self) -> LiveFigure:
        figure = base_figure("Attribution over time", "time step", "modality", self.sample_batch.spec, height=300)
        figure.add_heatmap(colorscale=DIVERGING_SCALE, zmid=0.0, colorbar={"title": "score"},
                           hovertemplate="%{y}, step %{x}: %{z:+.4f}<extra></extra>")
        return LiveFigure(figure)


def attribution_panel(
    model: Any,
    data: Dataset | str = "toy",
    *,
    mixer: Mixer | str | None = None,
    split: str = "test",
    size: int = 8,
    seed: int = 0,
    method: str = "ig",
    n_steps: int = 32,
) -> AttributionPanel:
    """Captum attributions for a few samples and their mixes: ``workbench.attribution_panel(run, "toy")``.

    Args:
        model: a backbone name (fresh model), a Backbone, or a LoadedRun / training panel.
        data: a Dataset, or a source for ``msmix.data.load``.
        mixer: a latent Mixer or a mixer name for the mixed samples (default: the model's own, else MS-Mix).
        split, size, seed: which samples to explain (and the mixer's seed).
        method: ``"ig"`` or ``"ablation"`` to start with.
        n_steps: Integrated Gradients' integration points.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    dataset = load_data(data, model)
    source = resolve_model(model, dataset.spec, seed)
    chosen = resolve_mixer(mixer, source, dataset.spec, seed)
    sample = encode_sample(source.model, dataset, split, size, seed)
    mix = mix_sample(chosen, sample, seed)
    note = (f"{html.escape(source.description)}; mixed samples by {html.escape(chosen.name or type(chosen).__name__)}; "
            f"{len(sample)} samples of the {split} split (seed {seed}); baseline: all-zero features.")
    return AttributionPanel(source.model, sample, mix, note, method, n_steps, dataset.source)
