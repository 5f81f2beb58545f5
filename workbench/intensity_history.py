"""MS-Mix's intensity predictors epoch by epoch, from a run's history: does each modality's
intensity follow the labels, has tanh saturated it at ±range, and how much of the gradient at its
latent comes from SAL rather than the task? A collapse shows as a correlation that never rises,
a saturated share near 1, or SAL drowning the task's gradient.

The numbers are the probe columns ``msmix.train.intensity_probe`` writes into every MS-Mix run's
history (``intensity_<m>_<stat>``, ``grad_<m>_<term>``); runs of other mixers have none.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from plotly.subplots import make_subplots

from msmix import MODALITIES
from msmix.data.spec import DataSpec
from msmix.mixing.intensity_stats import predictor_state
from msmix.train.intensity_probe import probed_modalities, sal_gradient_share
from workbench._style import MODALITY_COLOURS
from workbench.figures import base_figure
from workbench.live_figure import LiveFigure

PANES = ("corr(intensity, label)", "share saturated at ±range", "SAL's share of gradient")


def intensity_history_figure(spec: DataSpec | str | None = None) -> LiveFigure:
    """An empty three-pane figure, one trace per modality and pane (``draw_intensity_history`` fills it)."""
    base = base_figure("Intensity predictors per epoch (validation split; gradients on a fixed train batch)",
                       spec=spec, height=380)
    figure = make_subplots(rows=1, cols=3, horizontal_spacing=0.09)
    figure.update_layout(base.layout)
    for col in (1, 2, 3):
        for m in MODALITIES:
            figure.add_scatter(row=1, col=col, mode="lines+markers", name=m, legendgroup=m, showlegend=col == 1,
                               marker={"color": MODALITY_COLOURS[m], "size": 5}, line={"color": MODALITY_COLOURS[m]},
                               hovertemplate=f"{m}, epoch %{{x}}: %{{y:.2f}}<extra></extra>")
        figure.update_xaxes(title_text="epoch", row=1, col=col)
        figure.update_yaxes(title_text=PANES[col - 1], row=1, col=col)
    figure.update_yaxes(range=[-1.05, 1.05], row=1, col=1)
    figure.update_yaxes(range=[-0.05, 1.05], row=1, col=2)
    figure.update_yaxes(range=[-0.05, 1.05], row=1, col=3)
    return LiveFigure(figure)


def draw_intensity_history(figure: LiveFigure, history: pd.DataFrame) -> None:
    """Show ``history``'s probe columns in a figure of ``intensity_history_figure``."""
    present = probed_modalities(history)
    epochs = history["epoch"].to_numpy(float) if "epoch" in history else np.array([])
    with figure.batch_update() as fig:
        for pane in range(3):
            for j, m in enumerate(MODALITIES):
                trace = fig.data[pane * len(MODALITIES) + j]
                if m not in present:
                    trace.x, trace.y, trace.visible = [], [], False
                    continue
                values = (history[f"intensity_{m}_corr"].to_numpy(float), history[f"intensity_{m}_saturated"].to_numpy(float),
                          sal_gradient_share(history, m))[pane]
                trace.x, trace.y, trace.visible = epochs, values, True


def modality_state(stats: Mapping[str, float], modality: str) -> str:
    """One modality's ``intensity_stats`` (keys ``<modality>_<stat>``) as HTML: correlation with the
    label, saturated share, mean ± spread, and the predictor's state in words."""
    corr, saturated, std = (stats[f"{modality}_{stat}"] for stat in ("corr", "saturated", "std"))
    corr_text = f"{corr:+.2f}" if np.isfinite(corr) else "undefined (constant)"
    return (f"<b>{modality}</b>: corr {corr_text}, {saturated:.0%} saturated, mean {stats[f'{modality}_mean']:+.2f} "
            f"&plusmn; {std:.2f} ({predictor_state(corr, saturated, std)})")


def collapse_summary(history: pd.DataFrame) -> str:
    """One line per modality on the last epoch: correlation with the label, saturated share, mean."""
    if history.empty or not probed_modalities(history):
        return ""
    last = history.iloc[-1]
    stats = {key.removeprefix("intensity_"): value for key, value in last.items() if key.startswith("intensity_")}
    parts = [modality_state(stats, m) for m in probed_modalities(history)]
    return f"Epoch {int(last['epoch'])}: " + "; ".join(parts) + "."
