"""What a killed run needs to continue exactly, and the run folder's checkpoints that keep it.

``TrainingState`` is everything of a fit that changes from epoch to epoch apart from the weights:
optimiser and schedule, early stopping, the run's generators, the epoch records, the step count
and the training time; ``state_dict`` / ``load_state_dict`` turn it into plain types and tensors.
``RunCheckpoints`` writes ``last.pt`` after every epoch and ``best.pt`` on improvement, and reads
them back on resume, refusing (with a CheckpointError naming the file and what differs) a folder
of another backbone, mixer, model settings or recipe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from msmix.train.checkpoint import (
    BEST,
    FORMAT,
    HISTORY,
    LAST,
    read_checkpoint,
    remove_leftovers,
    save_checkpoint,
    save_json,
)
from msmix.train.config import TrainConfig
from msmix.train.errors import CheckpointError
from msmix.train.early_stopping import EarlyStopping
from msmix.train.history import EpochRecord
from msmix.train.rng import capture_rng_state, restore_rng_state

Weights = dict[str, dict[str, Tensor]]

# Settings that may change between an interrupted run and its resumption without changing what
# the finished run computes (more epochs or patience only extend it; device and compile only
# change speed or memory use; checkpoint_seconds only how often this folder is written).
RESUMABLE_CHANGES = frozenset({"max_epochs", "patience", "device", "compile", "eval_batch_size", "reuse_cpu_memory",
                               "checkpoint_seconds"})


@dataclass
class TrainingState:
    """The parts of a fit that change every epoch, apart from the model's and mixer's weights."""

    optimizer: torch.optim.Optimizer
    scheduler: Any
    early_stopping: EarlyStopping
    generators: dict[str, torch.Generator]
    records: list[EpochRecord] = field(default_factory=list)
    step: int = 0
    train_seconds: float = 0.0

    def state_dict(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "early_stopping": self.early_stopping.state_dict(),
            "rng": capture_rng_state(self.generators),
            "history": [r.to_dict() for r in self.records],
            "step": self.step,
            "train_seconds": self.train_seconds,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from ``state_dict()``; early stopping keeps the patience it has now (it may grow)."""
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        patience = self.early_stopping.patience
        self.early_stopping.load_state_dict(state["early_stopping"])
        self.early_stopping.patience = patience
        self.records = [EpochRecord.from_dict(r) for r in state["history"]]
        self.step = int(state["step"])
        self.train_seconds = float(state["train_seconds"])
        restore_rng_state(state["rng"], self.generators)


class RunCheckpoints:
    """The checkpoint files of one run folder."""

    def __init__(self, run_dir: Path, meta: dict[str, Any]) -> None:
        self.run_dir, self.meta = Path(run_dir), meta

    def clear(self) -> None:
        """Forget an earlier run in this folder (a fresh start)."""
        for name in (LAST, BEST, HISTORY):
            (self.run_dir / name).unlink(missing_ok=True)

    def remove_leftovers(self) -> None:
        """Delete temporary files of writes that a killed process left unfinished."""
        if self.run_dir.is_dir():
            remove_leftovers(self.run_dir)

    def save_epoch(self, epoch: int, weights: Weights, state: TrainingState, best: Weights | None) -> None:
        """Write last.pt, then best.pt (when ``best`` is given: this epoch improved), then history.json."""
        save_checkpoint(self.run_dir / LAST, {"format": FORMAT, "meta": self.meta, "epoch": epoch, **weights,
                                              **state.state_dict()})
        if best is not None:
            self.save_best(state.early_stopping.best_epoch, best, state.records)
        save_json(self.run_dir / HISTORY, [r.to_dict() for r in state.records])

    def save_best(self, epoch: int, weights: Weights, records: list[EpochRecord]) -> None:
        save_checkpoint(self.run_dir / BEST, {"format": FORMAT, "meta": self.meta, "epoch": epoch, **weights,
                                              "history": [r.to_dict() for r in records[:epoch]]})

    def load_last(self, config: TrainConfig) -> dict[str, Any] | None:
        """last.pt, checked against this run's backbone, mixer and recipe; None when there is none."""
        path = self.run_dir / LAST
        if not path.is_file():
            return None
        last = read_checkpoint(path, resumable=True)
        check_compatible(last["meta"], self.meta, config, path)
        return last

    def best_weights(self, last: dict[str, Any], best_epoch: int, records: list[EpochRecord]) -> Weights | None:
        """The best epoch's weights: from best.pt, or from last.pt when that epoch was the best.

        last.pt is written before best.pt, so an interruption between the two leaves a best.pt one
        improvement behind; the weights it misses are then last.pt's own (and best.pt is rewritten).
        """
        if best_epoch == 0:
            return None
        if best_epoch == last["epoch"]:
            weights = {"model": last["model"], "mixer": last["mixer"]}
            self.save_best(best_epoch, weights, records)
            return weights
        best = read_checkpoint(self.run_dir / BEST)
        if best["epoch"] != best_epoch:
            raise CheckpointError(
                self.run_dir / BEST, f"holds epoch {best['epoch']}, but {LAST} beside it says the best epoch is "
                f"{best_epoch}; the run folder is inconsistent (start afresh without resuming)"
            )
        return {"model": best["model"], "mixer": best["mixer"]}


def check_compatible(stored: dict[str, Any], meta: dict[str, Any], config: TrainConfig, path: Path) -> None:
    """Refuse to resume a checkpoint of another model, mixer or recipe, naming what differs."""
    for key in ("backbone", "mixer"):
        if stored[key] != meta[key]:
            raise CheckpointError(path, f"was trained with {key} {stored[key]!r}, not {meta[key]!r}; "
                                  "resume it with the same one")
    for key in ("model_config", "mixer_config"):
        before, now = stored.get(key), meta.get(key)
        if not isinstance(before, dict) or not isinstance(now, dict):
            continue
        changed = sorted(k for k in set(before) & set(now) if before[k] != now[k])
        if changed:
            detail = ", ".join(f"{k}: {before[k]!r} -> {now[k]!r}" for k in changed)
            raise CheckpointError(path, f"was trained with other {key} settings ({detail}); resume with the same ones")
    try:
        before = TrainConfig.from_dict(stored["train_config"])  # older checkpoints store the objective flat
    except (TypeError, ValueError) as err:
        raise CheckpointError(path, f"meta 'train_config' is not valid: {err}") from None
    changed = changed_settings(before, config)
    if changed:
        detail = ", ".join(f"{k}: {v[0]!r} -> {v[1]!r}" for k, v in changed.items())
        raise CheckpointError(path, f"was trained with other settings ({detail}); resume with the same ones")


def changed_settings(before: TrainConfig, now: TrainConfig) -> dict[str, tuple[Any, Any]]:
    """The settings that differ between ``before`` and ``now`` and that a resumed run cannot change
    (name -> (before, now)): any but RESUMABLE_CHANGES, and max_epochs under a cosine schedule."""
    old, new = before.to_dict(), now.to_dict()
    free = RESUMABLE_CHANGES - ({"max_epochs"} if now.scheduler == "cosine" else set())  # it shapes the decay
    return {k: (v, new.get(k)) for k, v in sorted(old.items()) if new.get(k) != v and k not in free}
