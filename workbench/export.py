"""Static exports for papers: a LaTeX table of mean ± std, and seaborn / matplotlib figures.

Figures are built on ``matplotlib.figure.Figure`` objects (no pyplot state), so exporting from a
notebook never changes its plotting backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from workbench._style import mixer_colour
from workbench.radar import LOWER_IS_BETTER


def latex_table(
    summary: pd.DataFrame,
    metrics: Sequence[str],
    caption: str = "",
    label: str = "",
    digits: int = 2,
) -> str:
    """A booktabs LaTeX table: one row per (backbone, mixer), ``mean $\\pm$ std`` per metric.

    The best mean of each backbone and metric is bold (the lowest for MAE).

    Args:
        summary: ``msmix.experiment.summarize``'s table (``<metric>_mean`` / ``<metric>_std`` columns).
        metrics: which metrics, in order.
        caption, label: LaTeX caption and label (omitted when empty).
        digits: decimals shown.
    """
    missing = [m for m in metrics if f"{m}_mean" not in summary]
    if missing:
        raise ValueError(f"metrics {missing} are not in the summary; it has {list(summary.columns)}")
    body = summary[["backbone", "mixer"]].copy()
    for metric in metrics:
        mean, std = summary[f"{metric}_mean"], summary[f"{metric}_std"]
        grouped = mean.groupby(summary["backbone"])
        best = grouped.transform("min" if metric in LOWER_IS_BETTER else "max")
        cells = [f"{m:.{digits}f} $\\pm$ {s:.{digits}f}" for m, s in zip(mean, std.fillna(0.0))]
        body[_escape(metric)] = [f"\\textbf{{{c}}}" if m == b else c for c, m, b in zip(cells, mean, best)]
    body = body.rename(columns={"backbone": "Backbone", "mixer": "Mixer"})
    styler = body.style.hide(axis="index")
    return styler.to_latex(
        caption=caption or None, label=label or None, hrules=True, column_format="ll" + "c" * len(metrics),
        position_float="centering",
    )


def bar_figure(results: pd.DataFrame, metric: str, title: str) -> Figure:
    """Seaborn bar chart of one metric per backbone and mixer: mean over seeds, error bars one std."""
    figure = Figure(figsize=(6.5, 3.8), layout="constrained")
    ax = figure.add_subplot()
    mixers = sorted(results["mixer"].unique())
    palette = {m: mixer_colour(m, i) for i, m in enumerate(mixers)}
    sns.barplot(data=results, x="backbone", y=metric, hue="mixer", hue_order=mixers, errorbar="sd", capsize=0.1,
                ax=ax, palette=palette, saturation=1.0)  # the exact mixer colours, not desaturated
    ax.set_title(title)
    ax.set_xlabel("backbone")
    ax.set_ylabel(f"{metric} (mean ± std over seeds)")
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.0, 1.0), title="mixer", fontsize="small", frameon=False)
    return figure


def save_figure(figure: Figure, directory: str | Path, stem: str, formats: Sequence[str] = ("pdf", "png")) -> list[Path]:
    """Write a figure as ``directory/stem.<format>`` for each format; the paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = directory / f"{stem}.{fmt}"
        figure.savefig(path, dpi=200)
        paths.append(path)
    return paths


def _escape(text: str) -> str:
    return text.replace("_", "\\_")
