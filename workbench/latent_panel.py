"""Latent space: a 2-D t-SNE of original and mixed latents, coloured by label sign, as in the
paper's figure (negative / positive / mixed).

The points are one batch's latents from ``encode`` and the mixer's k mixed samples of that batch.
Each modality's latent is flattened (padded frames zeroed) and scaled to unit length per sample
(as SASS compares them), and the modalities are concatenated, so no modality dominates by scale.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.manifold import TSNE
from torch import Tensor

from msmix.data.dataset import Dataset
from msmix.mixing.base import Mixer, MixResult
from msmix.mixing.pairs import zero_padded
from workbench._panel import Panel, row
from workbench._style import MIXED, SIGN_COLOURS, SIGN_NAMES
from workbench.figures import base_figure, set_title
from workbench.live_figure import LiveFigure
from workbench.sources import LatentBatch, encode_sample, load_data, mix_sample, resolve_mixer, resolve_model

ALL = "all modalities"
EXACT_UP_TO = 150  # points; exact t-SNE is steadier and, at this size, as fast as Barnes-Hut


class LatentPanel(Panel):
    """The latent-space widget.

    Attributes:
        modality: Dropdown, which latents to project (all modalities concatenated, or one).
        perplexity: IntSlider, t-SNE's perplexity (capped below the number of points).
        seed: IntText, t-SNE's random state.
        show_mixed: Checkbox, whether the mixed samples are drawn.
        scatter: LiveFigure; traces ``negative``, ``neutral``, ``positive`` (originals, ``customdata``
            their index in the batch) and ``mixed`` (``customdata`` their index among the k).
        embedding: (B + k, 2) t-SNE coordinates, originals first; sample, mix: what is projected.
    """

    css_name = "latent"

    def __init__(self, sample: LatentBatch, mix: MixResult, note: str, perplexity: int, source: str = "") -> None:
        super().__init__()
        self.sample, self.mix = sample, mix
        modalities = [ALL, *sample.latents]
        n = len(sample) + mix.k
        self.modality = widgets.Dropdown(options=modalities, value=ALL, description="latents")
        self.perplexity = widgets.IntSlider(value=min(perplexity, n - 1), min=2, max=max(n - 1, 2),
                                            description="perplexity", continuous_update=False)
        self.seed = widgets.IntText(value=0, description="t-SNE seed")
        self.show_mixed = widgets.Checkbox(value=True, description="show mixed samples", indent=False)
        self.scatter = self._figure()
        self.embedding = np.zeros((n, 2))
        for control in (self.modality, self.perplexity, self.seed):
            control.observe(lambda _: self._in_background(self.refresh), names="value")
        self.show_mixed.observe(self._on_show_mixed, names="value")
        self._arrange(sample.spec, source, note, [
            row(self.modality, self.perplexity, self.seed, self.show_mixed), self.scatter,
        ])
        self.refresh()

    def features(self) -> np.ndarray:
        """(B + k, D) what t-SNE projects: originals then mixed samples."""
        chosen = list(self.sample.latents) if self.modality.value == ALL else [self.modality.value]
        parts = [
            torch.cat([_unit_rows(self.sample.latents[m], self.sample.masks.get(m)),
                       _unit_rows(self.mix.mixed[m], self.mix.masks.get(m))])
            for m in chosen
        ]
        return torch.cat(parts, dim=1).double().numpy()

    def refresh(self) -> None:
        x = self.features()
        tsne = TSNE(n_components=2, perplexity=min(int(self.perplexity.value), len(x) - 1), init="pca",
                    random_state=int(self.seed.value), method="exact" if len(x) <= EXACT_UP_TO else "barnes_hut")
        self.embedding = tsne.fit_transform(x)
        b = len(self.sample)
        signs = np.sign(self.sample.labels.numpy())
        with self.scatter.batch_update() as figure:
            for trace, sign in zip(figure.data[:3], (-1, 0, 1)):
                index = np.flatnonzero(signs == sign)
                trace.x, trace.y, trace.customdata = self.embedding[index, 0], self.embedding[index, 1], index
                trace.text = [self.sample.describe(i) for i in index]
            mixed = figure.data[3]
            mixed.x, mixed.y = self.embedding[b:, 0], self.embedding[b:, 1]
            mixed.customdata = np.arange(self.mix.k)
            mixed.text = [self._describe_mixed(r) for r in range(self.mix.k)]
            which = "latents of all modalities" if self.modality.value == ALL else f"{self.modality.value} latents"
            set_title(figure, f"t-SNE of the {which}: {b} original, {self.mix.k} mixed",
                      self.sample.spec)

    def _describe_mixed(self, r: int) -> str:
        label = f"mixed label {float(self.mix.labels[r]):+.2f}"
        if self.mix.index_a is None:
            return label
        a, b = int(self.mix.index_a[r]), int(self.mix.index_b[r])
        return f"{label}<br>a: {self.sample.describe(a, 50)}<br>b: {self.sample.describe(b, 50)}"

    def _on_show_mixed(self, change: dict) -> None:
        with self.scatter.batch_update() as figure:
            figure.data[3].visible = bool(change["new"])

    def _figure(self) -> LiveFigure:
        figure = base_figure("t-SNE of latents", "t-SNE 1", "t-SNE 2", self.sample.spec, height=520)
        for sign in (-1, 0, 1):
            figure.add_scatter(mode="markers", name=SIGN_NAMES[sign], marker={"color": SIGN_COLOURS[sign], "size": 8},
                               hovertemplate="%{text}<extra>%{fullData.name}</extra>")
        figure.add_scatter(mode="markers", name="mixed",
                           marker={"color": MIXED, "size": 8, "symbol": "diamond", "line": {"width": 1, "color": "white"}},
                           hovertemplate="%{text}<extra>mixed</extra>")
        return LiveFigure(figure)


def latent_panel(
    model: Any,
    data: Dataset | str = "toy",
    *,
    mixer: Mixer | str | None = None,
    split: str = "train",
    size: int = 30,
    seed: int = 0,
    perplexity: int = 10,
) -> LatentPanel:
    """t-SNE of one batch's original and mixed latents: ``workbench.latent_panel(run, "toy")``.

    Args:
        model: a backbone name (fresh model), a Backbone, or a LoadedRun / training panel.
        data: a Dataset, or a source for ``msmix.data.load``.
        mixer: a latent Mixer or a mixer name (default: the model's own mixer, else MS-Mix).
        split, size, seed: which samples to draw and the mixer's seed; B + k points are projected.
        perplexity: t-SNE's starting perplexity.
    """
    dataset = load_data(data, model)
    source = resolve_model(model, dataset.spec, seed)
    chosen = resolve_mixer(mixer, source, dataset.spec, seed)
    sample = encode_sample(source.model, dataset, split, size, seed)
    mix = mix_sample(chosen, sample, seed)
    note = (f"{html.escape(source.description)}; mixer {html.escape(chosen.name or type(chosen).__name__)}; "
            f"{len(sample)} samples of the {split} split (seed {seed}).")
    return LatentPanel(sample, mix, note, perplexity, dataset.source)


def _unit_rows(z: Tensor, mask: Tensor | None) -> Tensor:
    """(n, T*d) flattened latents with padded frames zeroed, each row scaled to unit length."""
    flat = zero_padded(z, mask).reshape(z.shape[0], -1).float()
    return F.normalize(flat, dim=1)
