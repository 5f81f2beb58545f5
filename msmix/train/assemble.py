"""Build a run from its typed settings: the one place where backbone, mixer and Trainer are made.

``build(...)`` makes the backbone and the mixer from their classes and settings dataclasses;
``assemble(resolved, dataset, ...)`` seeds the run, builds both and wraps them in a Trainer. The
CLI, sweeps, notebooks (``msmix.train.run``) and checkpoint loading (``load_checkpoint``) all go
through here, so a model is built one way only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from msmix.data.dataset import Dataset
from msmix.data.spec import DataSpec
from msmix.mixing.base import Mixer
from msmix.models.base import Backbone
from msmix.train.callbacks import Callback
from msmix.train.resolve import ResolvedRun
from msmix.train.rng import seed_everything
from msmix.train.trainer import Trainer


def build(
    backbone: type[Backbone], model_config: Any, mixer: type[Mixer], mixer_config: Any, data: DataSpec
) -> tuple[Backbone, Mixer]:
    """The backbone for data described by ``data``, and the mixer for its latents."""
    model = backbone(data, config=model_config)
    return model, mixer(dims=model.latent_dims, label_range=data.label_range, config=mixer_config, absent=data.missing)


def assemble(
    resolved: ResolvedRun,
    dataset: Dataset,
    run_dir: str | Path | None = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
) -> Trainer:
    """A Trainer ready to ``fit``: the run's seed set, its backbone and mixer built, its checkpoints
    (with ``run_dir``) described so that ``load_checkpoint`` and ``--resume`` can rebuild it."""
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
    return Trainer(model, mixer, dataset, resolved.train, run_dir=run_dir, callbacks=callbacks, progress=progress,
                   meta=meta)
