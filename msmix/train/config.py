"""TrainConfig: every setting of one training run, with the backbone's published recipe as defaults."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from msmix.mixing.objective import ObjectiveConfig
from msmix.settings import check_known, known_settings, settings_from
from msmix.train.precision import PRECISIONS
from msmix.train.run_spec import MAX_SEED

OPTIMIZERS = ("adam", "adamw")
SCHEDULERS = (None, "plateau", "cosine")
DEVICES = ("auto", "cpu", "cuda")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")
OBJECTIVE_KEYS = ("loss", "mix_weight", "sal_weight", "backbone_weights")
"""Objective settings, written flat in overrides (``train.loss=mse``) and kept in ``TrainConfig.objective``."""


@dataclass
class TrainConfig:
    """Settings of the Trainer.

    ``objective`` is ``task + mix_weight * mixup + sal_weight * aux`` (``ObjectiveConfig``; MS-Mix's
    code uses 0.7 and 0.5, MMSA's TFN and LMF an L1 loss); overrides name its settings flat
    (``loss``, ``mix_weight``, ...). Early stopping watches the validation task loss: training stops once ``patience`` epochs
    have passed without an improvement of at least ``min_delta`` (MMSA's rule), or after
    ``max_epochs``. ``plateau_*`` configure ReduceLROnPlateau; ``"cosine"`` decays the learning
    rate per epoch after ``warmup_epochs`` of linear warm-up (``min_lr`` is the plateau schedule's
    floor). ``reuse_cpu_memory`` lets glibc's malloc keep freed memory for the next step instead of
    mapping large tensors afresh each time (``msmix.train.allocator``; a third of a TFN step on a
    CPU); it changes speed and the process's memory footprint, never results. ``train_fraction``
    trains on a seeded, stratified share of the train split (validation and test unchanged); the
    share is drawn where runs are assembled (``msmix.train.assemble``, with
    ``msmix.data.subset.train_subset``), so a Trainer built by hand trains on the data it is given.
    ``compile_mode`` is ``torch.compile``'s mode when ``compile`` is set: ``"reduce-overhead"``
    replays the compiled steps as CUDA graphs on a GPU (one launch for a whole forward or backward,
    where a small backbone's step is launch overhead; on a CPU it compiles as ``"default"``).
    Compiled code draws dropout masks from its own generator, so with dropout a compiled run is
    not the plain run's twin digit for digit (without dropout it is, within float tolerance).
    ``precision`` ``"bf16"`` runs forward passes and losses under bfloat16 autocast, weights and
    optimiser staying float32 (``msmix.train.precision``); ``"fp32"`` keeps every result as it was.
    ``checkpoint_seconds`` spaces the run folder's checkpoint writes: 0 writes ``last.pt`` (and
    ``best.pt`` on improvement) after every epoch; more writes them once that many seconds have
    passed since the last write, and at the run's end. On a GPU an epoch of a small backbone takes
    a fraction of the time its checkpoint takes to write; a kill then loses at most that interval,
    and the resumed run still ends as an uninterrupted one would.
    """

    max_epochs: int = 30
    patience: int = 8
    batch_size: int = 32
    eval_batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    grad_accum: int = 1
    clip_value: float | None = None
    clip_norm: float | None = None
    scheduler: str | None = None
    warmup_epochs: int = 0
    seed: int = 1111
    train_fraction: float = 1.0
    device: str = "auto"
    compile: bool = False
    compile_mode: str = "default"
    precision: str = "fp32"
    plateau_factor: float = 0.5
    plateau_patience: int = 5
    min_lr: float = 0.0
    min_delta: float = 1e-6
    reuse_cpu_memory: bool = True
    checkpoint_seconds: float = 0.0

    def __post_init__(self) -> None:
        for name in ("max_epochs", "batch_size", "eval_batch_size", "grad_accum"):
            _require(name, _is_int(getattr(self, name)) and getattr(self, name) >= 1, "an integer >= 1", self)
        for name in ("patience", "warmup_epochs", "plateau_patience"):
            _require(name, _is_int(getattr(self, name)) and getattr(self, name) >= 0, "an integer >= 0", self)
        _require("seed", _is_int(self.seed) and 0 <= self.seed <= MAX_SEED, f"an integer in [0, {MAX_SEED}]", self)
        for name in ("lr", "weight_decay", "min_lr", "min_delta", "clip_value", "clip_norm", "train_fraction", "plateau_factor",
                     "checkpoint_seconds"):
            value = getattr(self, name)
            _require(name, not _is_number(value) or math.isfinite(value), "a finite number", self)
        _require("lr", _is_number(self.lr) and self.lr > 0, "a positive number", self)
        for name in ("weight_decay", "min_lr", "min_delta", "checkpoint_seconds"):
            _require(name, _is_number(getattr(self, name)) and getattr(self, name) >= 0, "a number >= 0", self)
        _require("objective", isinstance(self.objective, ObjectiveConfig), "an ObjectiveConfig", self)
        for name in ("clip_value", "clip_norm"):
            value = getattr(self, name)
            _require(name, value is None or (_is_number(value) and value > 0), "None or a positive number", self)
        _require("train_fraction", _is_number(self.train_fraction) and 0 < self.train_fraction <= 1,
                 "a number in (0, 1] (the share of the train split to train on)", self)
        _require("plateau_factor", _is_number(self.plateau_factor) and 0 < self.plateau_factor < 1, "a number in (0, 1)", self)
        _require("optimizer", self.optimizer in OPTIMIZERS, f"one of {OPTIMIZERS}", self)
        _require("scheduler", self.scheduler in SCHEDULERS, f"one of {SCHEDULERS}", self)
        _require("device", self.device in DEVICES, f"one of {DEVICES}", self)
        _require("compile", isinstance(self.compile, bool), "True or False", self)
        _require("compile_mode", self.compile_mode in COMPILE_MODES, f"one of {COMPILE_MODES}", self)
        _require("precision", self.precision in PRECISIONS, f"one of {PRECISIONS}", self)
        _require("reuse_cpu_memory", isinstance(self.reuse_cpu_memory, bool), "True or False", self)

    @property
    def loss(self) -> str:
        """The loss type (``objective.loss``), which validation and early stopping use too."""
        return self.objective.loss

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (it is stored inside checkpoints and results rows)."""
        settings = asdict(self)
        settings["objective"] = {**settings["objective"], "backbone_weights": dict(self.objective.backbone_weights)}
        return settings

    @staticmethod
    def override_keys() -> list[str]:
        """What overrides may set: every field, with the objective's settings flat."""
        return [*(n for n in known_settings(TrainConfig) if n != "objective"), *OBJECTIVE_KEYS]

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any]) -> "TrainConfig":
        """Build from overrides or a stored ``to_dict()``: the objective's settings may come flat
        (``{"loss": "mse"}``) or nested (``{"objective": {...}}``); unknown keys are named."""
        settings = dict(settings)
        check_known("TrainConfig", settings, [*cls.override_keys(), "objective"])
        objective = dict(settings.pop("objective", None) or {})
        objective.update({key: settings.pop(key) for key in OBJECTIVE_KEYS if key in settings})
        return cls(**settings, objective=settings_from(ObjectiveConfig, "TrainConfig.objective", objective))

    @classmethod
    def for_backbone(cls, backbone: str, kind: str, **overrides: Any) -> "TrainConfig":
        """The backbone's published training recipe for data set ``kind``, then ``overrides``."""
        from msmix.models import backbone_class

        recipe = backbone_class(backbone).default_config(kind).get("train", {})
        return cls.from_dict({**recipe, **overrides})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _require(name: str, ok: bool, expected: str, config: TrainConfig) -> None:
    if not ok:
        raise ValueError(f"TrainConfig.{name} must be {expected}, got {getattr(config, name)!r}")
