"""Trainer: fit with early stopping, checkpoints and exact resume; evaluate with MMSA's metrics.

The step is built for speed without changing any model: batches are cut by index from split
tensors already on the device, originals and mixed samples go through ``fuse`` as one batch, Adam
runs fused, gradients are freed rather than zeroed, and losses are summed on the device and read
once per epoch (no per-step host sync). Evaluation runs under ``torch.inference_mode`` in large
batches. ``compile=True`` compiles ``encode`` and ``fuse`` with ``torch.compile`` (in
``compile_mode``; ``"reduce-overhead"`` for CUDA graphs); ``precision="bf16"``
runs forward passes and losses under bfloat16 autocast (``msmix.train.precision``). After each
epoch a mixer with intensity predictors (MS-Mix) is probed (``msmix.train.intensity_probe``) and
the numbers join the epoch's record, so a collapse of its predictors shows in the history.
Each batch's loss is kept on the device and checked once the epoch is over: a NaN or infinite
one stops the run with a NonFiniteLossError naming the epoch and batch, before that epoch is
validated or saved, so the last checkpoint on disk is the last good one.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor

import msmix
from msmix.data.batch import Batch
from msmix.data.dataset import Dataset, Split
from msmix.inference import predict
from msmix.metrics import regression_metrics
from msmix.mixing.base import Mixer
from msmix.mixing.objective import LossParts, pointwise_loss
from msmix.models.base import Backbone, FuseOutput
from msmix.train.allocator import reuse_freed_memory
from msmix.train.callbacks import Callback, CallbackList
from msmix.settings import check_known
from msmix.train.checkpoint import BEST, LAST
from msmix.train.checkpoint_checks import check_weights_fit
from msmix.train.config import TrainConfig
from msmix.train.errors import CheckpointError, DeviceError, NonFiniteLossError
from msmix.train.precision import autocast, check_precision_supported
from msmix.train.early_stopping import EarlyStopping
from msmix.train.history import EpochRecord, FitResult, history_frame
from msmix.train.output import check_free_space
from msmix.train.intensity_probe import intensity_diagnostics
from msmix.train.optim import (
    accumulation_step,
    build_optimizer,
    build_scheduler,
    clip_gradients,
    parameter_groups,
    step_scheduler,
)
from msmix.train.progress import StepProgress, batch_bar
from msmix.train.resume import RunCheckpoints, TrainingState, Weights
from msmix.train.rng import derived_seed, seed_everything
from msmix.train.step import training_loss

LOSS_PARTS = ("train_loss", "train_task", "train_mixup", "train_aux", "train_model_aux")
"""The history's columns of a step's loss parts, in ``loss_vector``'s order."""


def loss_vector(parts: LossParts) -> Tensor:
    """A step's loss parts as one detached vector: total, task, mixup, SAL, the backbone's own."""
    backbone = sum(parts.backbone.values(), parts.task.new_zeros(()))
    return torch.stack([parts.total, parts.task, parts.mixup, parts.aux, backbone]).detach()


def resolve_device(device: str) -> torch.device:
    """``"auto"``: CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"device 'cuda' was asked for, but this PyTorch ({torch.__version__}) sees no CUDA device; "
                          "use device 'cpu' or 'auto'")
    return torch.device(device)


class Trainer:
    """Trains a backbone with a mixer on a data set.

    Args:
        model: the backbone.
        mixer: the augmentation (``msmix.mixing.create("none", ...)`` for none); its own
            parameters (MS-Mix's intensity predictors) are optimised with the model's.
        data: the loaded data set; it is moved to the training device once.
        config: the training settings.
        run_dir: where checkpoints go (None: keep nothing on disk; resuming then is impossible).
        callbacks: Callback objects (see ``msmix.train.callbacks``).
        progress: show progress: tqdm bars (epochs and batches) on a terminal or in Jupyter, one
            line per epoch on stderr when it is a file or a pipe (``msmix.train.progress``).
        meta: how to rebuild the run (``backbone``, ``mixer``, ``model_config``, ``mixer_config``,
            ``data_source``); what is missing is read from the objects.
    """

    def __init__(
        self,
        model: Backbone,
        mixer: Mixer,
        data: Dataset,
        config: TrainConfig,
        run_dir: str | Path | None = None,
        callbacks: Sequence[Callback] = (),
        progress: bool = True,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        check_precision_supported(config.precision, self.device)
        if config.reuse_cpu_memory and self.device.type == "cpu":
            reuse_freed_memory()
        self.model = model.to(self.device)
        self.mixer = mixer.to(self.device)
        self.data = data.to(self.device)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.progress = progress
        self.meta = describe_run(model, mixer, data, config, meta or {})
        self._callbacks = CallbackList(callbacks)
        groups = parameter_groups(model, mixer, config.lr)
        self._params = [p for g in groups for p in g["params"]]
        optimizer = build_optimizer(groups, config)
        self._first_group_lr = float(optimizer.param_groups[0]["lr"])
        self.state = TrainingState(
            optimizer=optimizer,
            scheduler=build_scheduler(optimizer, config),
            early_stopping=EarlyStopping(config.patience, config.min_delta),
            # both draw on the training device, so no step copies random numbers from the host
            generators={"shuffle": torch.Generator(device=self.device), "mix": torch.Generator(device=self.device)},
        )
        self._checkpoints = RunCheckpoints(self.run_dir, self.meta) if self.run_dir is not None else None
        self._best_state: Weights | None = None
        self._written = _Written()  # what of the run the folder's checkpoints hold
        self._batch_losses = torch.zeros(0)  # the current epoch's loss per batch, on the training device
        self._stop_flag = threading.Event()
        self._fitted = False
        self._encode: Callable[[Batch], Any] = model.encode
        self._fuse: Callable[..., FuseOutput] = model.fuse
        if config.compile:
            self._encode = torch.compile(model.encode, mode=config.compile_mode)
            self._fuse = torch.compile(model.fuse, mode=config.compile_mode)

    # -- public API ---------------------------------------------------------------------------

    @property
    def history(self) -> pd.DataFrame:
        """The epoch table so far."""
        return history_frame(self.records)

    @property
    def records(self) -> list[EpochRecord]:
        return self.state.records

    @property
    def step(self) -> int:
        """Training batches done so far."""
        return self.state.step

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        return self.state.optimizer

    @property
    def scheduler(self) -> Any:
        return self.state.scheduler

    @property
    def early_stopping(self) -> EarlyStopping:
        return self.state.early_stopping

    def add_callback(self, event: str, fn: Callable[..., None]) -> None:
        """Call ``fn`` on ``event``: ``on_batch_end``, ``on_epoch_end`` or ``on_fit_end``."""
        self._callbacks.add(event, fn)

    def stop(self) -> None:
        """Ask a running ``fit`` to return after the current batch, or before the next epoch if it
        is validating (safe from any thread). The best weights so far are restored and tested; if
        no epoch has finished there are none, so nothing is tested (``msmix.train.no_epoch``)."""
        self._stop_flag.set()

    def fit(self, resume: bool = False) -> FitResult:
        """Train until early stopping, ``max_epochs`` or ``stop()``; restore the best weights; test.

        With ``resume=True`` the run continues from ``run_dir/last.pt`` (every generator, the
        optimiser, the schedule and the early-stopping state included), so it ends exactly as an
        uninterrupted run would; without a checkpoint there it starts afresh. Stopped before any
        epoch finished, it evaluates nothing: ``epochs == 0``, ``interrupted`` and empty metrics.
        """
        if self._fitted and not resume:
            raise RuntimeError("this Trainer has already trained; build a new one, or fit(resume=True) from its run_dir")
        self._stop_flag.clear()
        session_start = time.perf_counter()
        self._begin(resume)
        seconds_before = self.state.train_seconds
        interrupted = False
        epochs_bar = StepProgress(self.config.max_epochs, "epochs", "epoch", initial=len(self.records), enabled=self.progress)
        with epochs_bar:
            while not self.finished:
                record = None if self._stop_flag.is_set() else self._run_epoch()
                if record is None:
                    interrupted = True
                    break
                self.state.train_seconds = seconds_before + time.perf_counter() - session_start
                self._save_epoch(record)
                epochs_bar.step(f"train={record.train_loss:.4f}, valid={record.valid_loss:.4f}")
                self._callbacks.fire("on_epoch_end", self, record)
        result = self._finish(interrupted)
        self.state.train_seconds = seconds_before + time.perf_counter() - session_start
        result.train_seconds = self.state.train_seconds
        self._callbacks.fire("on_fit_end", self, result)
        return result

    def evaluate(self, split: str = "test") -> tuple[dict[str, float], Tensor]:
        """MMSA metrics on a split of the training data, and the predictions (N,) on the CPU."""
        source = self.data[split]
        pred = self._predict(source)
        return self._metrics(pred, source.labels), pred.cpu()

    def predict(self, split: Split | Batch) -> Tensor:
        """Predictions (N,) on the CPU for a split (in ``eval_batch_size`` batches) or a Batch."""
        return self._predict(split).cpu()

    # -- driven from outside: a StackedTrainer trains its member trainers together ---------------

    def start(self, resume: bool = False) -> None:
        """Set up the run for training driven by a StackedTrainer, as ``fit`` does before its first
        epoch: afresh (seeds, generators), or with ``resume`` from ``run_dir/last.pt`` when there
        is one."""
        if self._fitted:
            raise RuntimeError("only a new Trainer can be driven from outside")
        self._begin(resume)

    @property
    def finished(self) -> bool:
        """Whether early stopping or ``max_epochs`` has ended the run."""
        return len(self.records) >= self.config.max_epochs or self.early_stopping.should_stop

    def save_epoch(self, record: EpochRecord) -> None:
        """Keep an epoch's record (from ``close_epoch``), and the weights when it is the best."""
        self._save_epoch(record)

    def run_epoch(self) -> EpochRecord:
        """Train, validate and keep one epoch on this trainer's own, as ``fit`` does (for a member a
        killed StackedTrainer left an epoch behind the others)."""
        started = time.perf_counter()
        record = self._run_epoch()
        assert record is not None, "run_epoch is not for a stopped trainer"
        self.state.train_seconds += time.perf_counter() - started
        self._save_epoch(record)
        return record

    def finish(self, train_seconds: float) -> FitResult:
        """Restore the best weights and test them, as ``fit`` does at its end."""
        self.state.train_seconds = train_seconds
        return self._finish(interrupted=False)

    # -- one epoch ----------------------------------------------------------------------------

    def _run_epoch(self) -> EpochRecord | None:
        started = time.perf_counter()
        lr = self._current_lr()
        means = self._train_epoch(len(self.records) + 1)
        if means is None:
            return None
        return self.close_epoch(means, self._batch_losses, lr, started)

    def close_epoch(self, means: Tensor, batch_losses: Tensor, lr: float, started: float) -> EpochRecord:
        """Everything after an epoch's training pass: check its per-batch losses, validate, probe
        the mixer, update early stopping and the schedule; the epoch's record (not yet saved).

        ``means`` are the epoch's per-sample means of the loss parts (``LOSS_PARTS`` order),
        ``batch_losses`` each batch's total loss. A StackedTrainer calls this for each of its
        member trainers after training them together.
        """
        epoch = len(self.records) + 1
        self._batch_losses = batch_losses
        self._check_losses_finite(epoch)
        valid_loss, valid_metrics = self._validate()
        diagnostics = intensity_diagnostics(self.model, self.mixer, self.data, self.config)
        improved = self.early_stopping.update(epoch, valid_loss)
        step_scheduler(self.scheduler, valid_loss)
        losses = dict(zip(LOSS_PARTS, means.tolist()))
        return EpochRecord(
            epoch=epoch,
            valid_loss=valid_loss,
            valid_metrics=valid_metrics,
            seconds=time.perf_counter() - started,
            lr=lr,
            best=improved,
            diagnostics=diagnostics,
            **losses,
        )

    def _current_lr(self) -> float:
        """The trainer's learning rate now: ``config.lr`` times the schedule's current factor."""
        return self.config.lr * self.lr_factor()

    def lr_factor(self) -> float:
        """The schedule's current factor on every group's starting learning rate."""
        return float(self.optimizer.param_groups[0]["lr"]) / self._first_group_lr

    def _train_epoch(self, epoch: int) -> Tensor | None:
        """One pass over train; per-sample means of the loss parts, or None if stopped."""
        self.model.train()
        self.mixer.train()
        split, cfg = self.data.train, self.config
        n_batches = math.ceil(len(split) / cfg.batch_size)
        sums = torch.zeros(len(LOSS_PARTS), device=self.device)
        self._batch_losses = torch.zeros(n_batches, device=self.device)  # read once the epoch is over
        batches = split.batches(cfg.batch_size, shuffle=True, generator=self.state.generators["shuffle"])
        bar = batch_bar(batches, n_batches, f"epoch {epoch}", enabled=self.progress)
        with bar:
            for i, batch in enumerate(bar):
                starts, group_size, ends = accumulation_step(i, cfg.grad_accum, n_batches)
                if starts:
                    self.optimizer.zero_grad(set_to_none=True)
                with autocast(cfg.precision, self.device):
                    parts = training_loss(
                        self.model, self.mixer, batch, cfg.objective, self.state.generators["mix"], self._encode, self._fuse
                    )
                (parts.total / group_size).backward()
                if ends:
                    clip_gradients(self._params, cfg)
                    self.optimizer.step()
                parts_now = loss_vector(parts)
                sums += parts_now * len(batch)
                self._batch_losses[i] = parts_now[0]
                self.state.step += 1
                self._callbacks.fire("on_batch_end", self, self.state.step, parts.total.detach())
                if self._stop_flag.is_set():
                    return None
        return sums / len(split)

    # -- evaluation ---------------------------------------------------------------------------

    def _check_losses_finite(self, epoch: int) -> None:
        """Stop the run at the epoch's first batch whose loss was NaN or infinite (read once per
        epoch, so no training step waits for the device)."""
        bad = (~torch.isfinite(self._batch_losses)).nonzero()
        if len(bad):
            raise NonFiniteLossError(epoch, int(bad[0, 0]) + 1, self._kept_checkpoint())

    def _kept_checkpoint(self) -> str:
        """What a run stopped by a non-finite loss leaves on disk, in words."""
        if self.run_dir is None:
            return "nothing was saved (no run folder)"
        if not self.records:
            return f"no epoch had finished, so {self.run_dir} holds no checkpoint"
        if not self._written.epochs:
            return f"no checkpoint was due yet (checkpoint_seconds), so {self.run_dir} holds none"
        last = "the last good one" if self._written.epochs == len(self.records) else "the last written (checkpoint_seconds)"
        return f"the checkpoint of epoch {self._written.epochs}, {last}, is kept in {self.run_dir}"

    def _validate(self) -> tuple[float, dict[str, float]]:
        """Validation task loss (what early stopping watches, as in MMSA) and MMSA metrics of the
        epoch being run; its predictions must be finite (weights can diverge in the last step)."""
        valid = self.data.valid
        pred = self._predict(valid)
        if not bool(torch.isfinite(pred).all()):
            raise NonFiniteLossError(len(self.records) + 1, None, self._kept_checkpoint())
        loss = pointwise_loss(pred, valid.labels.to(pred.dtype), self.config.loss).mean()
        return float(loss), self._metrics(pred, valid.labels)

    def _predict(self, source: Split | Batch) -> Tensor:
        """Predictions (N,) on the training device, in eval mode, without autograd."""
        with autocast(self.config.precision, self.device):
            return predict(self.model, source, self.config.eval_batch_size, self._encode, self._fuse)

    def _metrics(self, pred: Tensor, labels: Tensor) -> dict[str, float]:
        return regression_metrics(pred.cpu(), labels.cpu(), self.data.spec.metrics_kind)

    # -- state: fresh start, checkpoints, resume ------------------------------------------------

    def _begin(self, resume: bool) -> None:
        """Before the first epoch of a session: check the run folder's disk, remove what a killed
        writer left, then resume from ``last.pt`` (with ``resume``, when there is one) or start afresh."""
        if resume and self.run_dir is None:
            raise ValueError("resume=True needs a run_dir to resume from")
        if self._checkpoints is not None:
            check_free_space(self._checkpoints.run_dir, self._weight_bytes())
            self._checkpoints.remove_leftovers()
        if not (resume and self._resume()):
            self._start_fresh()
        self._fitted = True

    def _start_fresh(self) -> None:
        self._written = _Written()
        seed = self.config.seed
        seed_everything(seed)
        self.state.generators["shuffle"].manual_seed(derived_seed(seed, 1))
        self.state.generators["mix"].manual_seed(derived_seed(seed, 2))
        if self._checkpoints is not None:
            self._checkpoints.clear()

    def _weight_bytes(self) -> int:
        """The size of the model's and mixer's weights (a checkpoint holds a few copies)."""
        tensors = [*self.model.state_dict().values(), *self.mixer.state_dict().values()]
        return sum(t.numel() * t.element_size() for t in tensors)

    def _weights(self) -> Weights:
        return {"model": self.model.state_dict(), "mixer": self.mixer.state_dict()}

    def _save_epoch(self, record: EpochRecord) -> None:
        """Remember the best weights; write the run folder's checkpoints when they are due: after
        every epoch by default, else once ``checkpoint_seconds`` have passed since the last write,
        and always at the run's last epoch."""
        self.records.append(record)
        if record.best:
            self._best_state = {k: {n: t.detach().clone() for n, t in sd.items()} for k, sd in self._weights().items()}
            self._written.best = False
        if self._checkpoints is not None and (self.finished or self._written.due(self.config.checkpoint_seconds)):
            self._write_checkpoints()

    def _write_checkpoints(self) -> None:
        """last.pt of the newest epoch, best.pt when the best weights changed since the last write."""
        assert self._checkpoints is not None
        best = self._best_state if not self._written.best else None
        self._checkpoints.save_epoch(len(self.records), self._weights(), self.state, best)
        self._written = _Written(epochs=len(self.records))

    def _flush_checkpoints(self) -> None:
        """Write the epochs that a ``checkpoint_seconds`` interval held back (a run stopped early)."""
        if self._checkpoints is not None and self._written.epochs < len(self.records):
            self._write_checkpoints()

    def _resume(self) -> bool:
        """Restore weights and state from ``run_dir/last.pt``; False when there is none."""
        assert self._checkpoints is not None
        last = self._checkpoints.load_last(self.config)
        if last is None:
            return False
        path = self._checkpoints.run_dir / LAST
        self._check_weights_fit(path, last)
        self.model.load_state_dict(last["model"])
        self.mixer.load_state_dict(last["mixer"])
        try:
            self.state.load_state_dict(last)
        except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as err:
            raise CheckpointError(path, f"its training state cannot be restored: {err}") from None
        self._best_state = self._checkpoints.best_weights(last, self.early_stopping.best_epoch, self.records)
        if self._best_state is not None:
            self._check_weights_fit(self._checkpoints.run_dir / BEST, self._best_state)
        self._written = _Written(epochs=len(self.records))
        return True

    def _check_weights_fit(self, path: Path, weights: dict[str, Any]) -> None:
        """Refuse stored weights whose names or shapes are not this run's model's and mixer's."""
        check_weights_fit(path, "model", self.model.state_dict(), weights["model"], f"backbone {self.meta['backbone']!r}")
        check_weights_fit(path, "mixer", self.mixer.state_dict(), weights["mixer"], f"mixer {self.meta['mixer']!r}")

    def _finish(self, interrupted: bool) -> FitResult:
        """Restore the best weights and score them on valid and test. With no finished epoch there
        are no such weights (only the initial or half-trained ones), so the metrics stay empty."""
        self._flush_checkpoints()
        epochs = len(self.records)
        valid_metrics: dict[str, float] = {}
        test_metrics: dict[str, float] = {}
        if epochs:
            if self._best_state is not None:
                self.model.load_state_dict(self._best_state["model"])
                self.mixer.load_state_dict(self._best_state["mixer"])
            valid_metrics, _ = self.evaluate("valid")
            test_metrics, _ = self.evaluate("test")
        return FitResult(
            history=self.history,
            best_epoch=self.early_stopping.best_epoch,
            epochs=epochs,
            train_seconds=self.state.train_seconds,
            valid_metrics=valid_metrics,
            test_metrics=test_metrics,
            stopped_early=self.early_stopping.should_stop and epochs < self.config.max_epochs,
            interrupted=interrupted,
        )


@dataclasses.dataclass
class _Written:
    """What the run folder's checkpoints hold: how many epochs, whether the best weights so far,
    and when they were written (``time.perf_counter``)."""

    epochs: int = 0
    best: bool = True
    at: float = dataclasses.field(default_factory=time.perf_counter)

    def due(self, interval: float) -> bool:
        return time.perf_counter() - self.at >= interval


def describe_run(model: Backbone, mixer: Mixer, data: Dataset, config: TrainConfig, given: dict[str, Any]) -> dict[str, Any]:
    """What a checkpoint needs to rebuild the run: names, settings, spec (plain types only)."""
    check_known("Trainer meta", given, ["backbone", "mixer", "model_config", "mixer_config", "data_source"])
    return {
        "backbone": given.get("backbone", model.name),
        "mixer": given.get("mixer", mixer.name),
        "model_config": dict(given.get("model_config", _config_of(model))),
        "mixer_config": dict(given.get("mixer_config", _config_of(mixer))),
        "data_source": given.get("data_source", data.source),
        "data_args": dict(data.load_args),
        "spec": data.spec.to_dict(),
        "train_config": config.to_dict(),
        "msmix_version": msmix.__version__,
        "torch_version": str(torch.__version__),
    }


def _config_of(module: torch.nn.Module) -> dict[str, Any]:
    """A module's settings when it keeps them as a dataclass ``config``; else none."""
    config = getattr(module, "config", None)
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else {}
