"""Comparison panel: mixers x backbones x seeds from a results table (ours, with MMSA's results CSV
beside it where given): mean ± std, the paper's radar chart of normalised scores, the paired test
of each mixer against ``none``, and exports (LaTeX table, static figures) for papers.

All statistics come from ``msmix.experiment`` (``summarize``, ``format_summary``,
``paired_comparison``); this panel only chooses, arranges and draws.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from msmix.experiment import format_summary, paired_comparison, read_results, summarize
from msmix.experiment.results import METRIC_COLUMNS
from workbench._panel import Panel, row, scrolling
from workbench._style import NEGATIVE, method_lines, method_names, source_label, table_html
from workbench.export import bar_figure, latex_table, save_figure
from workbench.figures import live_figure, set_title
from workbench.mmsa_results import mmsa_wide, read_mmsa_results
from workbench.radar import LOWER_IS_BETTER, SCALES, normalised_scores, radar_figure

BACKBONES, METRICS = "backbones", "metrics"
SIGNIFICANT = f"color:{NEGATIVE};font-weight:bold"
_STAT_COLUMNS = {"data", "backbone", "mixer", "n"}


class ComparisonPanel(Panel):
    """The comparison widget.

    Attributes:
        data_choice: Dropdown of the data sets in the table; metric: Dropdown of the metric compared;
        percent: Checkbox, MMSA's x 100 convention; baseline: Dropdown, the mixer tested against;
        radar_axes: ToggleButtons, one axis per backbone (for ``metric``) or per metric (for
        ``radar_backbone``; the default with fewer than three backbones); scale: ToggleButtons, ``"min-max"`` or ``"best"`` normalisation.
        summary_table, paired_table, mmsa_table: HTML tables; radar: LiveFigure, one
        ``Scatterpolar`` trace per method; export_dir, export_button, export_status: exports.
        results: the whole table; summary, paired: the current data set's statistics (DataFrames);
        scores: the radar's normalised scores (method x axis); mmsa: MMSA's results (long form) or None.
    """

    css_name = "comparison"

    def __init__(self, results: pd.DataFrame, mmsa: pd.DataFrame | None, metric: str, baseline: str,
                 percent: bool) -> None:
        super().__init__()
        self.results, self.mmsa = results, mmsa
        metrics = [m for m in METRIC_COLUMNS if m in results and results[m].notna().any()]
        if not metrics:
            raise ValueError(f"the results table holds no MMSA metric column; its columns: {list(results.columns)}")
        if metric not in metrics:
            raise ValueError(f"metric {metric!r} is not in the results table; metrics there: {metrics}")
        mixers = sorted(results["mixer"].unique())
        self.data_choice = widgets.Dropdown(options=sorted(results["data"].astype(str).unique()), description="data")
        self.metric = widgets.Dropdown(options=metrics, value=metric, description="metric")
        self.percent = widgets.Checkbox(value=percent, description="x 100 (MMSA)", indent=False)
        self.baseline = widgets.Dropdown(options=mixers, value=baseline if baseline in mixers else mixers[0],
                                         description="baseline")
        few_backbones = results["backbone"].nunique() < 3  # a radar needs three axes to be a polygon
        self.radar_axes = widgets.ToggleButtons(options=[BACKBONES, METRICS], value=METRICS if few_backbones else BACKBONES,
                                                description="radar axes")
        self.radar_backbone = widgets.Dropdown(options=sorted(results["backbone"].unique()), description="backbone")
        self.scale = widgets.ToggleButtons(options=list(SCALES), value="min-max", description="scale")
        self.banner = widgets.HTML()
        self.summary_table = widgets.HTML()
        self.paired_table = widgets.HTML()
        self.mmsa_table = widgets.HTML(self._mmsa_html())
        self.radar = live_figure("Normalised scores", height=520)
        self.export_dir = widgets.Text(value="figures", description="export to")
        self.export_button = widgets.Button(description="Export LaTeX + figures", icon="download",
                                            layout={"width": "auto"})
        self.export_status = widgets.HTML()
        self.summary = self.paired = self.scores = pd.DataFrame()
        for control in (self.data_choice, self.metric, self.percent, self.baseline, self.radar_axes,
                        self.radar_backbone, self.scale):
            control.observe(lambda _: self.refresh(), names="value")
        self.export_button.on_click(lambda _: self._export_clicked())
        self._arrange(None, "", "", [
            self.banner,
            row(self.data_choice, self.metric, self.percent),
            widgets.HTML("<b>Mean ± std over seeds</b> (std with n &minus; 1)"), scrolling(self.summary_table),
            row(self.radar_axes, self.radar_backbone, self.scale), self.radar,
            row(self.baseline), scrolling(self.paired_table),
            self.mmsa_table,
            row(self.export_dir, self.export_button), self.export_status,
        ])
        self.refresh()

    # -- what is shown -----------------------------------------------------------------------------

    def rows(self) -> pd.DataFrame:
        """The results of the chosen data set."""
        return self.results[self.results["data"].astype(str) == self.data_choice.value]

    def refresh(self) -> None:
        rows, label = self.rows(), source_label(self.data_choice.value)
        self.banner.value = f"<div style='padding:4px 8px'>Results on <b>{html.escape(label)}</b>: {len(rows)} runs, " \
                            f"{rows['seed'].nunique()} seeds.</div>"
        self.summary = summarize(rows, percent=self.percent.value)
        shown = _unset_as_default(format_summary(self.summary).drop(columns=["data"]))
        self.summary_table.value = table_html(shown)
        self._draw_radar(label)
        self._draw_paired(rows)

    def _methods(self) -> pd.Series:
        """A name per summary row: the mixer, with the settings that differ between rows (swept
        mixer settings, the train fraction) in brackets."""
        settings = [c for c in self.summary.columns if c not in _STAT_COLUMNS and not c.endswith(("_mean", "_std"))]
        return method_names(self.summary, settings)

    def _draw_radar(self, label: str) -> None:
        table = self.summary.assign(method=self._methods())
        if self.radar_axes.value == BACKBONES:
            metric = self.metric.value
            means = table.pivot_table(index="method", columns="backbone", values=f"{metric}_mean", sort=False)
            lower = {c: metric in LOWER_IS_BETTER for c in means.columns}
            title = f"{metric}, normalised per backbone ({self.scale.value})"
        else:
            chosen = table[table["backbone"] == self.radar_backbone.value]
            metrics = [c[: -len("_mean")] for c in chosen.columns if c.endswith("_mean")]
            means = chosen.set_index("method")[[f"{m}_mean" for m in metrics]].set_axis(metrics, axis=1)
            lower = {m: m in LOWER_IS_BETTER for m in metrics}
            title = f"{self.radar_backbone.value}: every metric, normalised ({self.scale.value})"
        self.scores = normalised_scores(means, lower, self.scale.value)
        self._radar_title = title
        axes = [str(c) for c in self.scores.columns]
        with self.radar.batch_update() as figure:
            figure.data = ()
            for (method, row), line in zip(self.scores.iterrows(), method_lines(list(self.scores.index))):
                values = row.to_numpy(float)
                figure.add_scatterpolar(r=np.append(values, values[:1]), theta=axes + axes[:1], name=str(method),
                                        mode="lines+markers", line=line)
            figure.update_polars(radialaxis={"range": [0, 1.05]})
            set_title(figure, title, label)

    def _draw_paired(self, rows: pd.DataFrame) -> None:
        if self.baseline.value not in set(rows["mixer"]):
            self.paired = pd.DataFrame()
            self.paired_table.value = f"<i>No runs of the baseline {html.escape(self.baseline.value)} on this data set.</i>"
            return
        self.paired = paired_comparison(rows, baseline=self.baseline.value, metric=self.metric.value,
                                        percent=self.percent.value)
        shown = _unset_as_default(self.paired.drop(columns=["data"]))
        # One format call: a second ``.format`` would reset the other columns to six decimals.
        styled = shown.style.format({"p_value": "{:.4f}"}, precision=3, na_rep="n/a")
        styled = styled.map(lambda p: SIGNIFICANT if p < 0.05 else "", subset=["p_value"])
        self.paired_table.value = (
            f"<b>Paired t-test against {html.escape(self.baseline.value)}</b> on the same seeds "
            f"(mean_diff = mixer &minus; baseline; for MAE lower is better). "
            f"<span style='{SIGNIFICANT}'>p &lt; 0.05</span> is marked like this; with few seeds, many "
            "comparisons and no correction, read it as a hint, not a finding." + table_html(styled)
        )

    def _mmsa_html(self) -> str:
        if self.mmsa is None:
            return ""
        return ("<b>MMSA's results CSV</b> (as MMSA writes it: every metric x 100, std over seeds with n):"
                + table_html(mmsa_wide(self.mmsa), index=True))

    # -- exports -----------------------------------------------------------------------------------

    def to_latex(self, path: str | Path | None = None, metrics: Sequence[str] | None = None) -> str:
        """The current data set's mean ± std table in LaTeX (written to ``path`` when given)."""
        metrics = list(metrics) if metrics is not None else [c[:-5] for c in self.summary.columns if c.endswith("_mean")]
        unit = " (x 100)" if self.percent.value else ""
        text = latex_table(
            self.summary.assign(mixer=self._methods()), metrics,
            caption=f"{source_label(self.data_choice.value)}: mean $\\pm$ std over seeds{unit}.",
            label=f"tab:{self.data_choice.value}",
        )
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text)
        return text

    def static_figures(self) -> dict[str, Figure]:
        """Paper figures of the current view: ``"bars"`` (seaborn) and ``"radar"`` (matplotlib)."""
        label = source_label(self.data_choice.value)
        rows = self.rows().copy()
        metric = self.metric.value
        if self.percent.value:
            rows[metric] = rows[metric].astype(float) * 100
        return {
            "bars": bar_figure(rows, metric, f"{metric} on {label}"),
            "radar": radar_figure(self.scores, f"{self._radar_title}\n{label}"),
        }

    def save_figures(self, directory: str | Path, formats: Sequence[str] = ("pdf", "png")) -> list[Path]:
        """Write the static figures and the LaTeX table under ``directory``; the paths written."""
        stem = f"{self.data_choice.value}-{self.metric.value}".replace("/", "_").replace(":", "_")
        paths = []
        for name, figure in self.static_figures().items():
            paths += save_figure(figure, directory, f"{stem}-{name}", formats)
        table = Path(directory) / f"{stem}-table.tex"
        self.to_latex(table)
        return [*paths, table]

    def _export_clicked(self) -> None:
        try:
            paths = self.save_figures(self.export_dir.value)
        except Exception as error:  # shown in the panel, not raised into the event loop
            self.export_status.value = f"<span style='color:{NEGATIVE}'>Export failed: {html.escape(str(error))}</span>"
        else:
            self.export_status.value = "Wrote " + ", ".join(f"<code>{html.escape(str(p))}</code>" for p in paths)


def comparison_panel(
    results: pd.DataFrame | str | Path,
    *,
    mmsa: pd.DataFrame | str | Path | None = None,
    metric: str = "Has0_acc_2",
    baseline: str = "none",
    percent: bool = True,
) -> ComparisonPanel:
    """Compare mixers and backbones: ``workbench.comparison_panel("runs/results.csv")``.

    Args:
        results: our results table (``msmix sweep`` / ``msmix train --out``), or its CSV path.
        mmsa: MMSA's results CSV (``<res_save_dir>/normal/<dataset>.csv``) or its DataFrame, shown beside ours.
        metric: the metric of the radar chart, the paired test and the bar figure.
        baseline: the mixer the paired test compares with.
        percent: show metrics x 100, as MMSA does.
    """
    table = results if isinstance(results, pd.DataFrame) else read_results(results)
    if table.empty:
        raise ValueError("the results table is empty: train or sweep first")
    return ComparisonPanel(table, None if mmsa is None else read_mmsa_results(mmsa), metric, baseline, percent)


def _unset_as_default(table: pd.DataFrame) -> pd.DataFrame:
    """Setting columns (dotted names, ``train.weight_decay``) as text, reading ``default`` where a
    run left the setting at its default, instead of ``nan`` beside the runs that set it."""
    settings = [c for c in table.columns if "." in str(c)]
    return table.assign(**{c: [("default" if pd.isna(v) or str(v) == "-" else str(v)) for v in table[c]] for c in settings})
