"""SASS explorer: which pairs of a batch MS-Mix would mix, and how often they disagree in polarity.

A threshold slider, the selection options and the preset drive ``workbench.pair_view`` (msmix's
SASS and SIG functions) over a fixed batch of latents; the similarity heat map marks the candidate
pairs and the k drawn pairs, and the polarity-conflict rate of the selection is shown against
that of a random pairing of the same batch.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch

from msmix.data.dataset import Dataset
from msmix.mixing.base import Mixer
from msmix.mixing.msmix import PRESETS, MSMixConfig
from msmix.mixing.sass import PAIR_MODES
from msmix.mixing.sig import adaptive_ratio, normalized_intensity
from workbench._panel import Panel, figure_row, row
from workbench._style import HEATMAP_SCALE, MIXED, NEUTRAL, POSITIVE
from workbench.figures import base_figure, set_title
from workbench.live_figure import LiveFigure
from workbench.pair_view import PairView, pair_view, prepare
from workbench.sources import LatentBatch


class SassExplorer(Panel):
    """The SASS explorer widget.

    Attributes (drive them from code or tests):
        preset, threshold, pair_mode, minmax, same_polarity, limit_gap, max_label_gap, seed: controls.
        pair_count: HTML with the number of candidate pairs and of drawn pairs.
        conflict: HTML with the polarity-conflict rates.
        heatmap: LiveFigure; trace 0 the similarity heat map, trace 1 the candidate pairs,
            trace 2 the drawn pairs (x = column sample, y = row sample).
        conflict_figure: LiveFigure; bars of the conflict rates (candidates, drawn, random).
        view: the current ``PairView``; sample: the ``LatentBatch`` shown.
    """

    css_name = "sass"

    def __init__(self, sample: LatentBatch, intensities: dict, config: MSMixConfig, note: str, source: str = "") -> None:
        super().__init__()
        self.sample = sample
        self.intensities = intensities
        cfg = config.resolved()
        self._config = cfg
        self._busy = False
        self.preset = widgets.Dropdown(options=list(PRESETS), value=cfg.preset, description="preset")
        self.threshold = widgets.FloatSlider(
            value=cfg.threshold, min=0.0 if cfg.minmax else -1.0, max=1.0, step=0.01,
            description="threshold", continuous_update=False, readout_format=".2f",
        )
        self.pair_mode = widgets.ToggleButtons(options=list(PAIR_MODES), value=cfg.pair_mode, description="pairs")
        self.minmax = widgets.Checkbox(value=cfg.minmax, description="min-max normalise", indent=False)
        self.same_polarity = widgets.Checkbox(value=cfg.same_polarity, description="same polarity only", indent=False)
        gap = cfg.max_label_gap
        self.limit_gap = widgets.Checkbox(value=gap is not None, description="limit label gap", indent=False)
        self.max_label_gap = widgets.FloatSlider(
            value=gap if gap is not None else sample.spec.label_range, min=0.0, max=2 * sample.spec.label_range,
            step=0.1, description="max gap", continuous_update=False,
        )
        self.seed = widgets.IntText(value=0, description="draw seed")
        self.pair_count = widgets.HTML()
        self.conflict = widgets.HTML()
        self.heatmap = self._heatmap()
        self.conflict_figure = self._conflict_figure()
        self.view: PairView | None = None

        self.preset.observe(self._on_preset, names="value")
        for control in (self.threshold, self.pair_mode, self.minmax, self.same_polarity, self.limit_gap,
                        self.max_label_gap, self.seed):
            control.observe(self._on_change, names="value")
        controls = widgets.VBox([
            row(self.preset, self.threshold, self.seed),
            row(self.pair_mode, self.minmax),
            row(self.same_polarity, self.limit_gap, self.max_label_gap),
        ])
        self._arrange(sample.spec, source, note, [
            controls, self.pair_count, self.conflict, figure_row(self.heatmap, self.conflict_figure, basis=(560, 320)),
        ])
        self.refresh()

    def settings(self) -> MSMixConfig:
        """The MS-Mix settings the controls describe."""
        return replace(
            self._config,
            preset=self.preset.value,
            threshold=float(self.threshold.value),
            pair_mode=self.pair_mode.value,
            minmax=bool(self.minmax.value),
            same_polarity=bool(self.same_polarity.value),
            max_label_gap=float(self.max_label_gap.value) if self.limit_gap.value else None,
        )

    def refresh(self) -> None:
        """Recompute the selection and redraw."""
        s = self.sample
        view = pair_view(s.latents, s.masks, s.labels, self.intensities, self.settings(), seed=int(self.seed.value))
        self.view = view
        sel, b = view.selection, len(s)
        possible = int(sel.candidate_mask.numel() - b) // (2 if self.pair_mode.value == "unique" else 1)
        fallback = " &mdash; too few passed, so the 2k most similar pairs are the candidates" if sel.fallback_used else ""
        self.pair_count.value = (
            f"<b>{int(sel.n_candidates)}</b> of {possible} {self.pair_mode.value} pairs pass threshold "
            f"{self.threshold.value:.2f}{fallback}; <b>{sel.k}</b> mixed samples drawn."
        )
        self.conflict.value = (
            "Polarity conflicts (positive mixed with negative): "
            f"candidates <b>{_percent(view.conflict_candidates)}</b>, drawn pairs <b>{_percent(view.conflict_selected)}</b>, "
            f"random pairing <b>{_percent(view.conflict_random)}</b>."
        )
        self._draw(view)

    def _on_preset(self, change: dict) -> None:
        preset = MSMixConfig(preset=change["new"]).resolved()
        self._busy = True
        try:
            self.minmax.value = preset.minmax
            self.threshold.min = 0.0 if preset.minmax else -1.0
            self.threshold.value = preset.threshold
            self.pair_mode.value = preset.pair_mode
        finally:
            self._busy = False
        self.refresh()

    def _on_change(self, change: dict) -> None:
        if change["owner"] is self.minmax:
            self.threshold.min = 0.0 if change["new"] else -1.0
        if not self._busy:
            self.refresh()

    def _heatmap(self) -> LiveFigure:
        s = self.sample
        figure = base_figure(
            "SASS similarity, candidate (□) and drawn (×) pairs",
            "sample (sorted by label)", "sample (sorted by label)", s.spec, height=560,
        )
        figure.add_heatmap(
            colorscale=HEATMAP_SCALE, colorbar={"title": {"text": "similarity", "side": "right"}, "thickness": 14},
            customdata=_cell_hover(s, self.intensities),
            hovertemplate="%{customdata}<br>similarity %{z:.3f}<extra></extra>",
            name="similarity",
        )
        # Candidates pass the threshold, so they sit on the bright (similar) end of the scale: black shows.
        figure.add_scatter(mode="markers", name="candidate", hoverinfo="skip",
                           marker={"symbol": "square-open", "size": 7, "color": "black", "line": {"width": 1}})
        figure.add_scatter(mode="markers", name="drawn",
                           marker={"symbol": "x", "size": 9, "color": "black", "line": {"width": 1, "color": "white"}},
                           hovertemplate="%{text}<extra>drawn pair</extra>")
        figure.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain")
        figure.update_xaxes(constrain="domain")
        for edge in _sign_edges(s.labels.numpy()):
            figure.add_hline(y=edge, line={"color": "white", "width": 1, "dash": "dot"})
            figure.add_vline(x=edge, line={"color": "white", "width": 1, "dash": "dot"})
        return LiveFigure(figure)

    def _conflict_figure(self) -> LiveFigure:
        figure = base_figure("Pairs mixing a positive<br>with a negative sample", "", "conflict rate",
                             self.sample.spec, height=560)
        figure.add_bar(x=["SASS candidates", "SASS drawn", "random pairing"], y=[0, 0, 0],
                       marker_color=[MIXED, POSITIVE, NEUTRAL], texttemplate="%{y:.0%}", textposition="outside")
        figure.update_yaxes(range=[0, 1.08], tickformat=".0%")
        return LiveFigure(figure)

    def _draw(self, view: PairView) -> None:
        s = self.sample
        z = view.similarity.double().numpy().copy()
        np.fill_diagonal(z, np.nan)
        cand = view.selection.candidate_mask.nonzero().numpy()
        a, b = view.selection.index_a.numpy(), view.selection.index_b.numpy()
        with self.heatmap.batch_update() as figure:
            set_title(figure, f"SASS similarity at threshold {self.threshold.value:.2f}: candidate (□) and drawn (×) "
                      "pairs", s.spec)
            figure.data[0].z = z
            figure.data[1].x, figure.data[1].y = cand[:, 1], cand[:, 0]
            figure.data[2].x, figure.data[2].y = b, a
            figure.data[2].text = _pair_hover(s, view)
        rates = [view.conflict_candidates, view.conflict_selected, view.conflict_random]
        with self.conflict_figure.batch_update() as figure:
            figure.data[0].y = [0.0 if np.isnan(r) else r for r in rates]


def sass_explorer(
    model: Any,
    data: Dataset | str = "toy",
    *,
    mixer: Mixer | None = None,
    split: str = "train",
    batch_size: int = 32,
    seed: int = 0,
    **settings: Any,
) -> SassExplorer:
    """Explore SASS on one batch: ``workbench.sass_explorer("tfn", "toy", threshold=0.3)``.

    Args:
        model: a backbone name (fresh model), a Backbone, a LoadedRun / training panel, or a
            ``LatentBatch`` from ``workbench.encode_sample`` (then ``data``, ``split``,
            ``batch_size`` are not used).
        data: a Dataset, or a source for ``msmix.data.load``.
        mixer: an MS-Mix mixer whose intensity predictors give the hover ratios (default: the
            model's own if it was trained with MS-Mix, else a fresh one).
        split, batch_size, seed: which samples to draw (ordered by label in the display).
        **settings: MS-Mix settings to start from (``preset``, ``threshold``, ``pair_mode``, ...).
    """
    given = prepare(model, data, mixer, split, batch_size, seed, settings)
    return SassExplorer(given.sample, given.intensities, given.config, given.note, given.source)


def _percent(rate: float) -> str:
    return "n/a" if np.isnan(rate) else f"{rate:.0%}"


def _sign_edges(labels: np.ndarray) -> list[float]:
    """Positions between the negative, neutral and positive blocks of label-sorted samples."""
    edges = [float((labels < 0).sum()) - 0.5, float((labels <= 0).sum()) - 0.5]
    return sorted({e for e in edges if 0 < e < len(labels) - 1})



def _cell_hover(s: LatentBatch, intensities: dict) -> list[list[str]]:
    """Per cell: both samples and each modality's intensity share of the row sample (SIG's adaptive part)."""
    b = len(s)
    rows = np.repeat(np.arange(b), b)
    cols = np.tile(np.arange(b), b)
    shares = {
        m: adaptive_ratio(normalized_intensity(i), _long(rows), _long(cols)).reshape(b, b).numpy()
        for m, i in intensities.items()
    }
    text = []
    for r in range(b):
        line = []
        for c in range(b):
            parts = ", ".join(f"{m} {v[r, c]:.2f}" for m, v in shares.items())
            line.append(f"row {s.describe(r)}<br>col {s.describe(c)}<br>intensity share of row: {parts}")
        text.append(line)
    return text


def _pair_hover(s: LatentBatch, view: PairView) -> list[str]:
    mix = view.mix
    out = []
    for r in range(view.k):
        a, b = int(mix.index_a[r]), int(mix.index_b[r])
        ratios = ", ".join(f"{m} {float(v[r]):.2f}" for m, v in mix.ratios.items())
        out.append(
            f"a: {s.describe(a)}<br>b: {s.describe(b)}<br>ratios of a: {ratios}; label "
            f"{float(mix.label_ratio[r]):.2f}<br>mixed label {float(mix.labels[r]):+.2f}"
        )
    return out


def _long(values: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(values, dtype=torch.long)
