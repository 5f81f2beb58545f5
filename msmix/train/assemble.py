"""Build a run from its typed settings: the one place where backbone, mixer and Trainer are made.

``build(...)`` makes the backbone and the mixer from their classes and settings dataclasses;
``assemble(resolved, dataset, ...)`` seeds the run, cuts the train split to the run's
``train_fraction`` (``training_data``), builds both and wraps them in a Trainer. The CLI, sweeps,
notebooks (``msmix.train.run``) and checkpoint loading (``load_checkpoint``) all go through here,
so a model is built one way only and every run trains on the share of data its settings name.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from msmix.data.dataset import Dataset
from msmix.data.spec import DataSpec
from msmix.data.subset import train_subset
from msmix.mixing.base import Mixer
from msmix.models.base import Backbone
from msmix.train.callbacks import Callback
from msmix.train.config import TrainConfig
from msmix.train.resolve import ResolvedRun
from msmix.train.rng import derived_seed, seed_everything
from msmix.train.trainer import Trainer

SUBSET_STREAM = 3
"""The run's random stream (``derived_seed``) that draws its train subset; the Trainer's shuffle and
mixing generators use streams 1 and 2."""


def build(
    backbone: type[Backbone], model_config: Any, mixer: type[Mixer], mixer_config: Any, data: DataSpec
) -> tuple[Backbone, Mixer]:
    """The backbone for data described by ``data``, and the mixer for its latents."""
    model = backbone(data, config=model_config)
    return model, mixer(dims=model.latent_dims, label_range=data.label_range, config=mixer_config, absent=data.missing)


def training_data(dataset: Dataset, config: TrainConfig) -> Dataset:
    """``dataset`` with its train split cut to ``config.train_fraction`` (stratified, drawn from the
    run's seed); the data set itself when the fraction is 1."""
    return train_subset(dataset, config.train_fraction, derived_seed(config.seed, SUBSET_STREAM))


def assemble(
    resolved: ResolvedRun,
    dataset: Dataset,
    run_dir: str | Path | None = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
) -> Trainer:
    """A Trainer ready to ``fit`` on the run's share of ``dataset`` (``training_data``): the run's
    seed set, its backbone and mixer built, its checkpoints (with ``run_dir``) described so that
    ``load_checkpoint`` and ``--resume`` can rebuild it."""
    spec = resolved.spec
    seed_everything(spec.seed)
    model, mixer = build(resolved.backbone, resolved.model_config, resolved.mixer, resolved.mixer_config, dataset.spec)
    meta = {
        "backbone": spec.backbone,
        "mixer": spec.mixer,
        "model_config": resolved.model_settings(),
        "mixer_config": resolved.mixer_settings(),
        "data_source": spec.data,
    }
    data = training_data(dataset, resolved.train)
    return Trainer(model, mixer, data, resolved.train, run_dir=run_dir, callbacks=callbacks, progress=progress,
                   meta=meta)
