"""RunSpec, ``run`` and ``run_seeds``: one configuration in, one results row out.

``run`` builds everything a RunSpec names (data, backbone, mixer, the backbone's published
training recipe plus the spec's overrides), trains, tests and returns the results row whose
columns are the same everywhere (CLI, sweeps, notebooks). With an ``out_dir`` the run keeps its
checkpoints in ``out_dir/<backbone>-<mixer>-<data>-s<seed>-<config hash>/`` (or where an earlier
version put them, ``out_dir/runs/<run>/``: see ``msmix.train.run_folder``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import torch

import msmix
from msmix.data.dataset import Dataset
from msmix.train.callbacks import Callback
from msmix.train.checkpoint import save_json
from msmix.train.config import TrainConfig
from msmix.data.cache import load_data
from msmix.train.history import FitResult
from msmix.train.rng import seed_everything
from msmix.train.run_folder import run_folder
from msmix.train.trainer import Trainer

SPEC_FILE, RESULT_FILE = "spec.json", "result.json"


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
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"RunSpec.seed must be an integer >= 0, got {self.seed!r}")
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


def run_dir_of(spec: RunSpec, out_dir: str | Path) -> Path:
    """Where ``run(spec, out_dir)`` keeps its checkpoints: ``out_dir/<run>``, or the
    ``out_dir/runs/<run>`` of an earlier version when only that exists (``run_folder``)."""
    return run_folder(out_dir, spec.run_name())


def data_options_for(spec: RunSpec) -> dict[str, Any]:
    """The spec's data options, with time averaging on for backbones that read averaged features."""
    from msmix.models import backbone_class

    options = dict(spec.data_options)
    if backbone_class(spec.backbone).needs_time_average:
        options.setdefault("time_average", True)
    return options


def run(
    spec: RunSpec,
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    callbacks: Sequence[Callback] = (),
    data: Dataset | None = None,
) -> dict[str, Any]:
    """Train one configuration, evaluate on test, return the results row (a flat dict).

    A run stopped (``Trainer.stop()``, e.g. from a callback) before its first epoch finished is
    not evaluated: its row has ``epochs`` 0, ``interrupted`` True and no metric columns, and it
    is stored nowhere (``msmix.train.no_epoch``). Resuming it starts afresh.

    Args:
        spec: what to run.
        out_dir: keep checkpoints (and ``spec.json`` / ``result.json``) in ``run_dir_of(spec, out_dir)``,
            i.e. ``out_dir/<run>/``; None keeps nothing on disk.
        resume: continue the unfinished run of this configuration (a finished one is not
            retrained: its stored row is returned).
        progress: tqdm bars.
        callbacks: passed to the Trainer (e.g. a live plot).
        data: an already loaded data set to use instead of loading ``spec.data``.
    """
    import msmix.mixing
    import msmix.models

    run_dir = run_dir_of(spec, out_dir) if out_dir is not None else None
    if run_dir is not None and resume and (run_dir / RESULT_FILE).is_file():
        return json.loads((run_dir / RESULT_FILE).read_text())
    dataset = data if data is not None else load_data(spec.data, **data_options_for(spec))
    config = TrainConfig.for_backbone(spec.backbone, dataset.spec.kind, **spec.train, seed=spec.seed)
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / RESULT_FILE).unlink(missing_ok=True)
        save_json(run_dir / SPEC_FILE, spec.to_dict())
    seed_everything(spec.seed)
    model = msmix.models.create(spec.backbone, dataset.spec, **spec.model_config)
    mixer = msmix.mixing.create(
        spec.mixer, dims=model.latent_dims, label_range=dataset.spec.label_range, **spec.mixer_config
    )
    meta = {
        "backbone": spec.backbone,
        "mixer": spec.mixer,
        "model_config": effective_model_config(spec, dataset.spec.kind),
        "mixer_config": dict(spec.mixer_config),
        "data_source": spec.data,
    }
    trainer = Trainer(model, mixer, dataset, config, run_dir=run_dir, callbacks=callbacks, progress=progress, meta=meta)
    result = trainer.fit(resume=resume)
    row = results_row(spec, result, config, meta["model_config"], str(trainer.device), run_dir)
    if run_dir is not None and not result.interrupted:
        save_json(run_dir / RESULT_FILE, row)
    return row


def effective_model_config(spec: RunSpec, kind: str) -> dict[str, Any]:
    """The backbone's published settings for ``kind`` with the spec's overrides applied."""
    from msmix.models import backbone_class

    defaults = backbone_class(spec.backbone).default_config(kind).get("model", {})
    return {**defaults, **spec.model_config}


def results_row(
    spec: RunSpec,
    result: FitResult,
    config: TrainConfig,
    model_config: dict[str, Any],
    device: str,
    run_dir: Path | None,
) -> dict[str, Any]:
    """The agreed results row: identity, every test metric (MMSA's names), run facts, settings."""
    compact = lambda d: json.dumps(d, sort_keys=True, separators=(",", ":"), default=str)  # noqa: E731
    return {
        "data": spec.data,
        "backbone": spec.backbone,
        "mixer": spec.mixer,
        "seed": spec.seed,
        **result.test_metrics,
        "epochs": result.epochs,
        "best_epoch": result.best_epoch,
        "train_seconds": round(result.train_seconds, 3),
        "device": device,
        "cpu_threads": torch.get_num_threads(),  # results on a CPU can differ with the thread count
        "config_hash": spec.config_hash(),
        "msmix_version": msmix.__version__,
        "torch_version": str(torch.__version__),
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run_dir": str(run_dir) if run_dir is not None else "",
        "mixer_config": compact(spec.mixer_config),
        "model_config": compact(model_config),
        "train_config": compact(config.to_dict()),
        "stopped_early": result.stopped_early,
        "interrupted": result.interrupted,
        **{f"mixer.{name}": value for name, value in sorted(spec.mixer_config.items())},
    }


def run_seeds(spec: RunSpec, seeds: Sequence[int], **kw: Any) -> pd.DataFrame:
    """Run ``spec`` once per seed; one row per seed (index: the seed) plus ``mean`` and ``std`` rows.

    The aggregate rows hold the mean and the sample standard deviation (ddof=1) of every numeric
    column over the seeds; ``kw`` goes to ``run``.
    """
    if not seeds:
        raise ValueError("run_seeds needs at least one seed")
    rows = [run(replace(spec, seed=int(seed)), **kw) for seed in seeds]
    table = pd.DataFrame(rows, index=[str(s) for s in seeds])
    numeric = table.select_dtypes("number").drop(columns=["seed"]).columns
    aggregate = pd.DataFrame(
        [table[numeric].mean(), table[numeric].std(ddof=1)], index=["mean", "std"]
    )
    for column in ("data", "backbone", "mixer"):
        aggregate[column] = table[column].iloc[0]
    return pd.concat([table, aggregate])
