"""RunSpec: one run's full configuration as plain data (names and override dicts); its hash names
the run's folder and keys its results rows."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MAX_SEED = 2**63 - 1
"""The largest seed: PyTorch's generators take 64-bit seeds, and results tables store seeds as int64."""


@dataclass
class RunSpec:
    """One run's full configuration; its hash names the run folder and keys results rows.

    Attributes:
        data: ``"toy"`` or the path of an MMSA-format pickle.
        backbone, mixer: registered names (``msmix.models.available()``, ``msmix.mixing.available()``).
        seed: the run's seed (it also becomes ``TrainConfig.seed``).
        model_config, mixer_config: overrides of the backbone's and mixer's settings.
        train: overrides of the TrainConfig recipe (not ``seed``).
        data_options: options of ``msmix.data.load`` (e.g. ``standardize``).
    """

    data: str = "toy"
    backbone: str = "tfn"
    mixer: str = "msmix"
    seed: int = 1111
    model_config: dict[str, Any] = field(default_factory=dict)
    mixer_config: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    data_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("data", "backbone", "mixer"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"RunSpec.{name} must be a non-empty string, got {value!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"RunSpec.seed must be an integer in [0, {MAX_SEED}], got {self.seed!r}")
        for name in ("model_config", "mixer_config", "train", "data_options"):
            if not isinstance(getattr(self, name), dict):
                raise ValueError(f"RunSpec.{name} must be a dict, got {type(getattr(self, name)).__name__}")
        if "seed" in self.train:
            raise ValueError("RunSpec.train must not set 'seed': the run's seed is RunSpec.seed")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunSpec":
        return cls(**d)

    def config_hash(self) -> str:
        """12 hex digits of the SHA-256 of the spec as sorted, compact JSON (stable across runs)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def data_name(self) -> str:
        """A short, file-name-safe name of the data: ``toy``, or the pickle's file stem."""
        name = self.data if self.data == "toy" else Path(self.data).stem
        return re.sub(r"[^A-Za-z0-9_.]+", "_", name).strip("_.") or "data"

    def run_name(self) -> str:
        """``<backbone>-<mixer>-<data>-s<seed>-<hash>``: the run's folder in ``out_dir``."""
        return f"{self.backbone}-{self.mixer}-{self.data_name}-s{self.seed}-{self.config_hash()}"
