"""SIG explorer: MS-Mix's per-modality mixing ratios, their distribution, one pair at a time, and
the intensities they come from against the labels.

lam^m = (Beta(alpha, alpha) draw + intensity share of parent a) / 2, so the alpha slider moves the
random half and the intensity predictors the other; ``workbench.pair_view`` computes both with
msmix's SIG functions.
"""

from __future__ import annotations

import html
from dataclasses import replace
from typing import Any

import ipywidgets as widgets
import pandas as pd

from msmix.data.dataset import Dataset
from msmix.mixing.base import Mixer
from msmix.mixing.intensity_stats import intensity_stats
from msmix.mixing.msmix import MSMixConfig
from msmix.mixing.sig import LABEL_RATIO_MODES, normalized_intensity
from msmix.train.intensity_probe import probed_modalities
from workbench._panel import Panel, figure_row, row
from workbench._style import MIXED, MODALITY_COLOURS, NEUTRAL, PARENT_COLOURS, shorten
from workbench.figures import base_figure, set_title
from workbench.intensity_history import (
    collapse_summary,
    draw_intensity_history,
    intensity_history_figure,
    modality_state,
)
from workbench.live_figure import LiveFigure
from workbench.pair_view import PairView, pair_view, prepare
from workbench.sources import LatentBatch

RATIO_BINS = {"start": 0.0, "end": 1.0, "size": 0.1}


class SigExplorer(Panel):
    """The SIG explorer widget.

    Attributes (drive them from code or tests):
        alpha, label_ratio, seed: controls of the ratios; pair: which drawn pair the pair view shows.
        ratio_figure: histograms of the k ratios, one trace per modality, then one of the label ratio.
        pair_figure: the chosen pair: trace 0 and 1 the parents' normalised |intensity| per
            modality, trace 2 the ratio of parent a per modality and for the label.
        pair_text: HTML naming the two parents and the mixed label.
        intensity_figure: one scatter per modality, intensity (y) against label (x).
        intensity_state: HTML saying, per modality, how the shown intensities follow the labels
            (a collapsed predictor says the same for every sample).
        history_figure: the predictors epoch by epoch (``workbench.intensity_history``), when the
            model came with a run history that holds them (a training panel or a LoadedRun); else None.
        view: the current ``PairView``; sample: the ``LatentBatch`` shown; intensities: per modality (B,).
    """

    css_name = "sig"

    def __init__(self, sample: LatentBatch, intensities: dict, config: MSMixConfig, note: str, source: str = "",
                 history: pd.DataFrame | None = None) -> None:
        super().__init__()
        self.sample, self.intensities = sample, intensities
        self._config = config.resolved()
        self.alpha = widgets.FloatLogSlider(value=self._config.alpha, base=10, min=-1, max=1.3, step=0.05,
                                            description="alpha", continuous_update=False, readout_format=".2f")
        self.label_ratio = widgets.Dropdown(options=list(LABEL_RATIO_MODES), value=self._config.label_ratio,
                                            description="label ratio")
        self.seed = widgets.IntText(value=0, description="draw seed")
        self.pair = widgets.IntSlider(value=0, min=0, max=0, description="pair", continuous_update=False)
        self.pair_text = widgets.HTML()
        self.ratio_figure = self._ratio_figure()
        self.pair_figure = self._pair_figure()
        self.intensity_figure = self._intensity_figure()
        self.intensity_state = widgets.HTML(self._state_text())
        self.history_figure, history_rows = None, []
        if history is not None and probed_modalities(history):
            self.history_figure = intensity_history_figure(sample.spec)
            draw_intensity_history(self.history_figure, history)
            history_rows = [widgets.HTML(f"<div style='padding:2px 8px'>During training. {collapse_summary(history)}</div>"),
                            self.history_figure]
        self.view: PairView | None = None
        for control in (self.alpha, self.label_ratio, self.seed):
            control.observe(lambda _: self.refresh(), names="value")
        self.pair.observe(lambda _: self._draw_pair(), names="value")
        self._arrange(sample.spec, source, note, [
            row(self.alpha, self.label_ratio, self.seed),
            figure_row(self.ratio_figure, self.intensity_figure),
            self.intensity_state, *history_rows,
            self.pair, self.pair_text, self.pair_figure,
        ])
        self.refresh()

    def settings(self) -> MSMixConfig:
        return replace(self._config, alpha=float(self.alpha.value), label_ratio=self.label_ratio.value)

    def refresh(self) -> None:
        """Redraw the pairs and ratios for the current alpha, label-ratio mode and seed."""
        s = self.sample
        self.view = pair_view(s.latents, s.masks, s.labels, self.intensities, self.settings(), int(self.seed.value))
        mix = self.view.mix
        with self.ratio_figure.batch_update() as figure:
            set_title(figure, f"Ratios of the {self.view.k} drawn pairs (weight of a), alpha {self.alpha.value:.2f}",
                      s.spec)
            for trace, values in zip(figure.data, [*(mix.ratios[m] for m in self.intensities), mix.label_ratio]):
                trace.x = values.numpy()
        self.pair.max = max(self.view.k - 1, 0)
        self._draw_pair()

    def _draw_pair(self) -> None:
        view, s = self.view, self.sample
        if view.k == 0:
            self.pair_text.value = "No pair was drawn."
            return
        mix, r = view.mix, min(int(self.pair.value), view.k - 1)
        a, b = int(mix.index_a[r]), int(mix.index_b[r])
        weights = {m: normalized_intensity(i) for m, i in self.intensities.items()}
        names = list(self.intensities)  # a modality the data never hold has no intensity and is not shown
        with self.pair_figure.batch_update() as figure:
            figure.data[0].x = figure.data[1].x = names
            figure.data[0].y = [float(weights[m][a]) for m in names]
            figure.data[1].y = [float(weights[m][b]) for m in names]
            figure.data[2].x = [*names, "label"]
            figure.data[2].y = [*(float(mix.ratios[m][r]) for m in names), float(mix.label_ratio[r])]
        self.pair_text.value = (
            f"Pair {r}: <b>a</b> {s.describe(a)}<br><b>b</b> {s.describe(b)}<br>"
            f"mixed label <b>{float(mix.labels[r]):+.2f}</b> = {float(mix.label_ratio[r]):.2f} &times; "
            f"{float(s.labels[a]):+.2f} + {1 - float(mix.label_ratio[r]):.2f} &times; {float(s.labels[b]):+.2f}"
        )

    def _state_text(self) -> str:
        """Per modality: the shown intensities' correlation with the labels, saturated share and state."""
        s = self.sample
        stats = intensity_stats(self.intensities, s.labels, s.spec.label_range)
        parts = [modality_state(stats, m) for m in self.intensities]
        return (f"<div style='padding:2px 8px'>These {len(s)} samples' intensities: " + "; ".join(parts) +
                ". A collapsed predictor knows nothing of the sample: its share of a pair's ratio comes from what "
                "differences remain (min-max normalised over the batch), not from sentiment.</div>")

    def _ratio_figure(self) -> LiveFigure:
        figure = base_figure("Mixing ratios of the drawn pairs (weight of parent a)", "ratio", "pairs",
                             self.sample.spec)
        for m in self.intensities:
            figure.add_histogram(name=m, xbins=RATIO_BINS, marker_color=MODALITY_COLOURS.get(m))
        figure.add_histogram(name="label", xbins=RATIO_BINS, marker_color=NEUTRAL)
        figure.update_layout(barmode="group", bargap=0.15)
        figure.update_xaxes(range=[0, 1])
        return LiveFigure(figure)

    def _pair_figure(self) -> LiveFigure:
        figure = base_figure("One pair: normalised |intensity| of each parent and the ratio of a",
                             "", "value in [0, 1]", self.sample.spec, height=360)
        figure.add_bar(name="|intensity| of a (normalised)", marker_color=PARENT_COLOURS["a"])
        figure.add_bar(name="|intensity| of b (normalised)", marker_color=PARENT_COLOURS["b"])
        figure.add_bar(name="ratio of a", marker_color=MIXED, texttemplate="%{y:.2f}", textposition="outside")
        figure.update_layout(barmode="group")
        figure.update_yaxes(range=[0, 1.1])
        return LiveFigure(figure)

    def _intensity_figure(self) -> LiveFigure:
        s, r = self.sample, self.sample.spec.label_range
        figure = base_figure("SIG intensities against labels", "label", "predicted intensity", s.spec)
        hover = [f"{html.escape(i)}: {shorten(t, 50)}" for i, t in zip(s.ids, s.texts)]
        for m, values in self.intensities.items():
            figure.add_scatter(x=s.labels.numpy(), y=values.numpy(), mode="markers", name=m, text=hover,
                               marker={"color": MODALITY_COLOURS.get(m), "size": 7, "opacity": 0.8},
                               hovertemplate="%{text}<br>label %{x:+.2f}, intensity %{y:+.2f}<extra>%{fullData.name}</extra>")
        figure.add_scatter(x=[-r, r], y=[-r, r], mode="lines", name="intensity = label",
                           line={"dash": "dash", "color": NEUTRAL}, hoverinfo="skip")
        figure.update_xaxes(range=[-r * 1.05, r * 1.05])
        figure.update_yaxes(range=[-r * 1.05, r * 1.05])
        return LiveFigure(figure)


def sig_explorer(
    model: Any,
    data: Dataset | str = "toy",
    *,
    mixer: Mixer | None = None,
    split: str = "train",
    batch_size: int = 32,
    seed: int = 0,
    **settings: Any,
) -> SigExplorer:
    """Explore SIG's ratios on one batch: ``workbench.sig_explorer(run, "toy", alpha=2.0)``.

    Arguments as in ``workbench.sass_explorer``; ``**settings`` are MS-Mix settings (``alpha``,
    ``label_ratio``, ``threshold``, ...) the pairs and ratios start from.
    """
    given = prepare(model, data, mixer, split, batch_size, seed, settings)
    return SigExplorer(given.sample, given.intensities, given.config, given.note, given.source, given.history)

