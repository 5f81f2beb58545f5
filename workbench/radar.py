"""The paper's radar chart: one polygon per method, one axis per backbone (or per metric), each axis
normalised so that the methods can be compared on one scale.

Two scales: ``"min-max"`` puts the worst method of an axis at 0 and the best at 1 (differences
stand out; an axis where all methods tie sits at 1); ``"best"`` divides by the best method's
score (the best sits at 1 and the others show how far behind they are; needs positive scores).
For MAE, where lower is better, both scales are flipped so that 1 is always best.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from workbench._style import method_lines

MATPLOTLIB_DASHES = {"solid": "-", "dash": "--", "dot": ":", "dashdot": "-.", "longdash": (0, (8, 3))}

LOWER_IS_BETTER = frozenset({"MAE", "Loss"})
SCALES = ("min-max", "best")


def normalised_scores(means: pd.DataFrame, lower_is_better: dict[str, bool], scale: str = "min-max") -> pd.DataFrame:
    """Each column of a method x axis table of mean scores normalised to (.., 1], 1 being best.

    Args:
        means: rows are methods, columns axes (backbones or metrics), values mean scores.
        lower_is_better: per column, whether a lower score is better (MAE).
        scale: ``"min-max"`` or ``"best"`` (see the module docstring).
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    out = pd.DataFrame(index=means.index, columns=means.columns, dtype=float)
    for column in means.columns:
        values = means[column].astype(float)
        lower = lower_is_better.get(column, False)
        if scale == "min-max":
            spread = values.max() - values.min()
            if not spread > 0:
                out[column] = 1.0
            else:
                out[column] = (values.max() - values) / spread if lower else (values - values.min()) / spread
        else:
            if (values <= 0).any():
                raise ValueError(f"scale 'best' needs positive scores; {column!r} has {values.min():g}")
            out[column] = values.min() / values if lower else values / values.max()
    return out


def radar_figure(scores: pd.DataFrame, title: str) -> Figure:
    """A matplotlib radar chart (no pyplot state) of a method x axis table of normalised scores."""
    axes_names = list(scores.columns)
    angles = np.linspace(0, 2 * np.pi, len(axes_names), endpoint=False)
    closed = np.append(angles, angles[:1])
    figure = Figure(figsize=(5.5, 5.5), layout="constrained")
    ax = figure.add_subplot(projection="polar")
    for (method, row), line in zip(scores.iterrows(), method_lines([str(m) for m in scores.index])):
        values = np.append(row.to_numpy(float), row.to_numpy(float)[:1])
        ax.plot(closed, values, color=line["color"], linestyle=MATPLOTLIB_DASHES[line["dash"]], linewidth=1.8,
                label=str(method))
        ax.fill(closed, values, color=line["color"], alpha=0.08)
    ax.set_xticks(angles, axes_names)
    ax.set_ylim(0, 1.05)
    ax.set_rlabel_position(180.0 / len(axes_names))  # radial labels between the first two axes
    ax.set_title(title)
    ax.legend(loc="upper right", bbox_to_anchor=(1.3, 1.1), fontsize="small")
    return figure
