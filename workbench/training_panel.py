"""Training panel: pick a backbone, a mixer and settings; train in the background with a live loss
and metric plot, a progress bar and a Stop button; see the results row; or load a checkpoint.

Training goes through ``msmix.train.run`` (the same call as ``msmix train`` on the command line),
watched by a ``msmix.train.Callback``; Stop asks the Trainer to return after the current batch
(``Trainer.stop``). ``train_now()`` trains in the calling thread, for notebooks that must run
deterministically from top to bottom.
"""

from __future__ import annotations

import html
import math
import threading
import time
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd

import msmix.mixing
import msmix.models
from msmix.data.dataset import Dataset
from msmix.data.subset import check_fraction
from msmix.experiment import METRIC_COLUMNS
from msmix.experiment.settings import overrides_from
from msmix.mixing.base import Mixer
from msmix.models.base import Backbone
from msmix.train import (
    NO_EPOCH_MESSAGE,
    Callback,
    EpochRecord,
    FitResult,
    LoadedRun,
    RunSpec,
    finished_no_epoch,
    load_checkpoint,
    run,
)
from msmix.train.config import DEVICES
from workbench._panel import Panel, figure_row, row, scrolling
from workbench._style import NEGATIVE, POSITIVE, table_html
from workbench.figures import base_figure, titled
from workbench.intensity_history import collapse_summary, draw_intensity_history, intensity_history_figure
from workbench.live_figure import LiveFigure
from workbench.sources import load_data

RESULT_COLUMNS = ("backbone", "mixer", "seed", "train_fraction", "epochs", "best_epoch", "train_seconds", "stopped_early",
                  "interrupted")
PROGRESS_EVERY = 0.25  # seconds between progress-bar updates from the training thread
TRAIN_FRACTIONS = (0.1, 0.25, 0.5, 1.0)  # the shares of the train split offered (1.0: all of it)


class TrainingPanel(Panel):
    """The training widget.

    Attributes (drive them from code or tests):
        backbone_choice, mixer_choice, seed, max_epochs, patience, device: the run's controls.
        train_fraction: Dropdown of the share of the train split to train on (seeded and stratified;
            validation and test stay whole); 100 % leaves the setting out of the run's overrides.
        settings: Textarea of overrides, one ``group.name=value`` per line (``mixer.threshold=0.3``,
            ``train.lr=0.002``, ``model.rank=4``), as ``msmix train --set`` takes them.
        train_button, stop_button: start a background run; ask it to stop after the current batch.
        load_path, load_button: a run folder or checkpoint file to load instead of training.
        progress: FloatProgress in [0, 1]; status: HTML line on what is happening.
        loss_figure: traces ``train`` and ``valid`` (x epoch); metric_figure: the chosen validation
            metric (``metric`` Dropdown) per epoch.
        intensity_box: for a run with intensity predictors (MS-Mix), ``intensity_note`` (their state
            at the last epoch) and ``intensity_figure`` (``workbench.intensity_history``); empty otherwise.
        results_table: HTML of ``results`` (one row per run trained here).
        model, mixer: the trained (or loaded) backbone and mixer, so the panel can be handed to the
            other panels as their model; history: the epoch table (``Trainer.history``);
        row: the last results row; loaded: the LoadedRun after ``load``; error: the last failure.
    """

    css_name = "training"

    def __init__(self, data: Dataset | str, out_dir: str | Path | None, defaults: dict[str, Any]) -> None:
        super().__init__()
        self.data, self.out_dir = data, out_dir
        self.spec = load_data(data, defaults["backbone"]).spec
        self.backbone_choice = widgets.Dropdown(options=msmix.models.available(), value=defaults["backbone"],
                                                description="backbone")
        self.mixer_choice = widgets.Dropdown(options=msmix.mixing.available(), value=defaults["mixer"],
                                             description="mixer")
        self.seed = widgets.IntText(value=defaults["seed"], description="seed")
        self.max_epochs = widgets.BoundedIntText(value=defaults["max_epochs"], min=1, max=1000, description="max epochs")
        self.patience = widgets.BoundedIntText(value=defaults["patience"], min=0, max=1000, description="patience")
        self.device = widgets.Dropdown(options=list(DEVICES), value=defaults["device"], description="device")
        self.train_fraction = widgets.Dropdown(options=_fraction_options(defaults["train_fraction"]),
                                               value=defaults["train_fraction"], description="train share",
                                               tooltip="the share of the train split to train on "
                                               "(seeded, stratified by sentiment class)")
        self.settings = widgets.Textarea(value=defaults["settings"], placeholder="(none: the published settings)",
                                         description="overrides", layout={"width": "420px", "height": "70px"})
        self.settings_help = widgets.HTML(
            "<div style='color:#555;padding:2px 8px;max-width:420px'>One <code>group.name=value</code> per line, "
            "as <code>msmix train --set</code> takes them, e.g. <code>mixer.threshold=0.3</code>, "
            "<code>train.lr=0.001</code>, <code>model.rank=4</code>.</div>")
        self.train_button = widgets.Button(description="Train", button_style="primary", icon="play")
        self.stop_button = widgets.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.load_path = widgets.Text(placeholder="runs/<run folder> or a .pt file", description="checkpoint")
        self.load_button = widgets.Button(description="Load", icon="folder-open")
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="progress")
        self.status = widgets.HTML("Ready.")
        self.metric = widgets.Dropdown(options=["Corr", "MAE"], value="Corr", description="valid metric")
        self.loss_figure = self._loss_figure()
        self.metric_figure = self._metric_figure()
        self.intensity_figure = intensity_history_figure(self.spec)
        self.intensity_note = widgets.HTML()
        self.intensity_box = widgets.VBox([])
        self.results_table = widgets.HTML()
        self.results = pd.DataFrame()
        self.model: Backbone | None = None
        self.mixer: Mixer | None = None
        self.history = pd.DataFrame()
        self.row: dict[str, Any] | None = None
        self.loaded: LoadedRun | None = None
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._stop_requested = threading.Event()

        self.train_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.load_button.on_click(lambda _: self._load_clicked())
        self.metric.observe(lambda _: self._draw_history(), names="value")
        source = data.source if isinstance(data, Dataset) else str(data)
        self._arrange(self.spec, source, "", [
            row(self.backbone_choice, self.mixer_choice, self.seed),
            row(self.max_epochs, self.patience, self.device, self.train_fraction),
            row(self.settings, self.settings_help),
            row(self.train_button, self.stop_button, self.progress),
            row(self.load_path, self.load_button),
            self.status,
            self.metric, figure_row(self.loss_figure, self.metric_figure),
            self.intensity_box,
            scrolling(self.results_table),
        ])

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- training ------------------------------------------------------------------------------

    def run_spec(self) -> RunSpec:
        """The RunSpec the controls describe (overrides parsed as ``msmix train --set`` does)."""
        groups = overrides_from(self.settings.value.replace(",", "\n").splitlines())
        share = {} if self.train_fraction.value == 1 else {"train_fraction": self.train_fraction.value}
        train = {"max_epochs": int(self.max_epochs.value), "patience": int(self.patience.value),
                 "device": self.device.value, **share, **groups.pop("train")}
        data = self.data if isinstance(self.data, str) else (self.data.spec.name or self.data.spec.kind)
        return RunSpec(data=data, backbone=self.backbone_choice.value, mixer=self.mixer_choice.value,
                       seed=int(self.seed.value), train=train, **groups)

    def start(self) -> None:
        """Train in a background thread; the other widgets stay usable. See ``wait`` and ``stop``."""
        if self.running:
            raise RuntimeError("a training run is already going; stop it or wait for it first")
        spec = self.run_spec()
        self._stop_requested.clear()  # here, not in the thread: a Stop pressed right after Train must count
        self._thread = threading.Thread(target=self._train, args=(spec,), name="msmix-training", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        """Block until the background run ends; return its results row (re-raise its error)."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"training still running after {timeout} s")
        if self.error is not None:
            raise self.error
        if self.row is None:
            raise RuntimeError("nothing has been trained yet: call start() or train_now() first")
        return self.row

    def train_now(self) -> dict[str, Any]:
        """Train in the calling thread (deterministic, for notebooks run top to bottom); the results row."""
        if self.running:
            raise RuntimeError("a training run is already going in the background")
        self._stop_requested.clear()
        self._train(self.run_spec())
        return self.wait()

    def stop(self) -> None:
        """Ask the running fit to return after its current batch (the best epoch so far is kept)."""
        self._stop_requested.set()
        self.status.value = "Stopping after the current batch&hellip;"

    def _train(self, spec: RunSpec) -> None:
        self._begin(spec)
        try:
            data = self.data if isinstance(self.data, Dataset) else None
            row = run(spec, out_dir=self.out_dir, progress=False, callbacks=[_PanelCallback(self)], data=data)
        except Exception as error:  # shown in the panel and re-raised by wait()
            self.error = error
            self.status.value = f"<span style='color:{NEGATIVE}'>Failed: {html.escape(repr(error))}</span>"
        else:
            self._finish(row)
        finally:
            self.train_button.disabled, self.stop_button.disabled = False, True

    def _begin(self, spec: RunSpec) -> None:
        self.error, self.row = None, None
        self.history = pd.DataFrame()
        self.train_button.disabled, self.stop_button.disabled = True, False
        self.progress.value = 0.0
        self._draw_history()
        self.status.value = f"Training {spec.backbone} with {spec.mixer} (seed {spec.seed})&hellip;"

    def _finish(self, row: dict[str, Any]) -> None:
        self.row = row
        if finished_no_epoch(row):  # nothing was trained or evaluated: not a result to list
            self.progress.value = 0.0
            self.status.value = f"{NO_EPOCH_MESSAGE}."
            return
        self.results = pd.concat([self.results, pd.DataFrame([row])], ignore_index=True)
        metrics = [c for c in row if c in METRIC_COLUMNS]
        shown = self.results[[*RESULT_COLUMNS, *metrics]]
        self.results_table.value = titled("<b>Test results</b>", self.spec) + table_html(shown.style.format(precision=4))
        how = "stopped" if row["interrupted"] else ("stopped early" if row["stopped_early"] else "finished")
        self.progress.value = 1.0
        self.status.value = (f"Training {how} after {row['epochs']} epochs (best {row['best_epoch']}), "
                             f"{row['train_seconds']:.1f} s; test Corr {row.get('Corr', float('nan')):.4f}.")

    # -- callbacks from the training thread ------------------------------------------------------

    def _on_batch(self, trainer: Any, step: int) -> None:
        if self._stop_requested.is_set():
            trainer.stop()
        per_epoch = math.ceil(len(trainer.data.train) / trainer.config.batch_size)
        done = (step / per_epoch) / trainer.config.max_epochs
        self.progress.value = min(done, 1.0)

    def _on_epoch(self, trainer: Any, record: EpochRecord) -> None:
        self._show_history(trainer.history)
        self.status.value = (f"Epoch {record.epoch}: train loss {record.train_loss:.4f}, "
                             f"valid loss {record.valid_loss:.4f}{' (best so far)' if record.best else ''}")

    def _on_fit_end(self, trainer: Any, result: FitResult) -> None:
        self.model, self.mixer, self.loaded = trainer.model, trainer.mixer, None

    # -- loading ---------------------------------------------------------------------------------

    def load(self, path: str | Path) -> LoadedRun:
        """Load a saved run (its folder or a checkpoint file) instead of training; returns the LoadedRun."""
        loaded = load_checkpoint(path)
        self.loaded, self.model, self.mixer, self.row = loaded, loaded.model, loaded.mixer, None
        self.backbone_choice.value = loaded.backbone
        self.mixer_choice.value = loaded.mixer_name
        self._show_history(loaded.history)
        self.status.value = (f"Loaded {html.escape(str(path))}: {loaded.backbone} with {loaded.mixer_name}, "
                             f"{len(loaded.history)} epochs of history, weights of epoch {loaded.epoch}.")
        return loaded

    def _load_clicked(self) -> None:
        try:
            self.load(self.load_path.value.strip())
        except Exception as error:  # a bad path is shown, not raised into the event loop
            self.error = error
            self.status.value = f"<span style='color:{NEGATIVE}'>Could not load: {html.escape(str(error))}</span>"

    # -- drawing ---------------------------------------------------------------------------------

    def _show_history(self, history: pd.DataFrame) -> None:
        self.history = history
        metrics = [c[len("valid_"):] for c in history.columns if c.startswith("valid_") and c != "valid_loss"]
        if metrics and list(self.metric.options) != metrics:
            keep = self.metric.value if self.metric.value in metrics else ("Corr" if "Corr" in metrics else metrics[0])
            self.metric.options, self.metric.value = metrics, keep
        self._draw_history()

    def _draw_history(self) -> None:
        h = self.history
        column = lambda name: h[name].to_numpy(float) if name in h else []  # noqa: E731
        epochs = column("epoch")
        with self.loss_figure.batch_update() as figure:
            figure.data[0].x, figure.data[0].y = epochs, column("train_loss")
            figure.data[1].x, figure.data[1].y = epochs, column("valid_loss")
        metric = self.metric.value
        with self.metric_figure.batch_update() as figure:
            figure.data[0].x, figure.data[0].y = epochs, column(f"valid_{metric}")
            figure.layout.yaxis.title.text = metric
            figure.layout.title.text = titled(f"Validation {metric}", self.spec)
        self._draw_intensities()

    def _draw_intensities(self) -> None:
        """Show the intensity predictors' history where the run has one; hide the figure otherwise
        (an empty figure would pass for a blank one)."""
        summary = collapse_summary(self.history)
        if not summary:
            self.intensity_box.children = ()
            return
        self.intensity_note.value = f"<div style='padding:2px 8px'>Intensity predictors. {summary}</div>"
        draw_intensity_history(self.intensity_figure, self.history)
        if not self.intensity_box.children:
            self.intensity_box.children = (self.intensity_note, self.intensity_figure)

    def _loss_figure(self) -> LiveFigure:
        figure = base_figure("Loss per epoch", "epoch", "loss", self.spec, height=360)
        figure.add_scatter(mode="lines+markers", name="train (total)", marker_color=NEGATIVE)
        figure.add_scatter(mode="lines+markers", name="valid (task)", marker_color=POSITIVE)
        return LiveFigure(figure)

    def _metric_figure(self) -> LiveFigure:
        figure = base_figure("Validation metric", "epoch", "Corr", self.spec, height=360)
        figure.add_scatter(mode="lines+markers", name="valid", marker_color=POSITIVE)
        return LiveFigure(figure)


def _fraction_options(start: float) -> list[tuple[str, float]]:
    """The train-fraction menu, ``("25 %", 0.25)``, with ``start`` added where it is another share."""
    values = sorted({*TRAIN_FRACTIONS, float(start)})
    return [(f"{value * 100:g} %", value) for value in values]


class _PanelCallback(Callback):
    """Feeds the panel from the training thread."""

    def __init__(self, panel: TrainingPanel) -> None:
        self.panel = panel
        self._last = 0.0

    def on_batch_end(self, trainer: Any, step: int, loss: Any) -> None:
        now = time.monotonic()
        if self.panel._stop_requested.is_set() or now - self._last >= PROGRESS_EVERY:
            self._last = now
            self.panel._on_batch(trainer, step)

    def on_epoch_end(self, trainer: Any, record: EpochRecord) -> None:
        self.panel._on_epoch(trainer, record)

    def on_fit_end(self, trainer: Any, result: FitResult) -> None:
        self.panel._on_fit_end(trainer, result)


def training_panel(
    data: Dataset | str = "toy",
    *,
    out_dir: str | Path | None = None,
    backbone: str = "tfn",
    mixer: str = "msmix",
    seed: int = 1111,
    max_epochs: int = 10,
    patience: int = 8,
    device: str = "auto",
    settings: str = "",
    train_fraction: float = 1.0,
) -> TrainingPanel:
    """A training panel: ``panel = workbench.training_panel("toy"); panel.train_now()``.

    Args:
        data: a data source for ``msmix.data.load`` (``"toy"`` or an MMSA pickle; loaded the way the
            backbone needs it) or an already loaded Dataset.
        out_dir: keep checkpoints and ``spec.json`` in ``out_dir/<run>/`` (None: nothing on disk).
        backbone, mixer, seed, max_epochs, patience, device: starting values of the controls.
        settings: starting overrides, ``group.name=value`` per line (e.g. ``"mixer.threshold=0.3"``).
        train_fraction: the starting share of the train split to train on (10, 25, 50 or 100 % are
            offered); a ``train.train_fraction`` line in ``settings`` overrides it.
    """
    check_fraction(train_fraction)
    defaults = {"backbone": backbone, "mixer": mixer, "seed": seed, "max_epochs": max_epochs,
                "patience": patience, "device": device, "settings": settings, "train_fraction": float(train_fraction)}
    return TrainingPanel(data, out_dir, defaults)
