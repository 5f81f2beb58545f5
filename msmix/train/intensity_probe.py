"""Per-epoch diagnostics of a mixer's intensity predictors (MS-Mix's SIG), read once per epoch.

Two kinds of numbers, so that a collapse of the predictors shows in the run's history as it
happens, with its cause beside it:

- ``intensity_<m>_<stat>``: ``msmix.mixing.intensity_stats`` of the predictors on the whole
  validation split (a fixed set, so epochs compare): correlation with the labels, with |labels|,
  the share saturated at ±range, mean and spread.
- ``grad_<m>_<term>``: the norm of the gradient that each term of the objective, as weighted in the
  total (``task``, ``mixup``, ``sal``, ``model_aux``), sends to modality m's latent (the encoder
  output both the fusion and the intensity predictor read), on one fixed batch: the first
  ``batch_size`` samples of the train split, mixed with a generator seeded the same every epoch.

The probe runs in eval mode (no dropout draw, no batch-norm statistics updated), its random
draws come from its own generator and the global generators are restored afterwards, and it only
asks autograd for gradients of the latents (no parameter's ``.grad`` is touched), so a run
trains exactly as it would without it. Gradients in eval mode lack dropout's noise; they measure
each term's pull, not one step's exact gradient.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from msmix import MODALITIES
from msmix.data.batch import Batch
from msmix.data.dataset import Dataset
from msmix.inference import eval_mode
from msmix.mixing.base import Mixer
from msmix.mixing.intensity_stats import intensity_stats
from msmix.mixing.objective import LossParts
from msmix.models.base import Backbone, Encoded
from msmix.train.config import TrainConfig
from msmix.train.rng import derived_seed
from msmix.train.step import training_loss

PROBE_STREAM = 7  # derived_seed stream of the probe's mixing generator (the trainer's use 1 and 2)
TERMS = ("task", "mixup", "sal", "model_aux")


def intensity_diagnostics(model: Backbone, mixer: Mixer, data: Dataset, config: TrainConfig) -> dict[str, float]:
    """The probe's numbers (see the module); empty when ``mixer`` predicts no intensities."""
    if not mixer.predicts_intensities or len(data.valid) == 0:
        return {}
    devices = [data.train.device] if data.train.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), eval_mode(model), eval_mode(mixer):
        intensities = _validation_intensities(model, mixer, data, config.eval_batch_size)
        stats = intensity_stats(intensities, data.valid.labels, data.spec.label_range)
        grads = _gradient_norms(model, mixer, data, config, list(intensities))
    return {**{f"intensity_{key}": value for key, value in stats.items()}, **grads}


def _validation_intensities(model: Backbone, mixer: Mixer, data: Dataset, batch_size: int) -> dict[str, Tensor]:
    """Per modality with a predictor, its (N,) intensities over the validation split."""
    parts: dict[str, list[Tensor]] = {}
    with torch.inference_mode():
        for batch in data.valid.batches(batch_size):
            encoded = model.encode(batch)
            for name, values in mixer.intensities(encoded.latents, encoded.masks).items():
                parts.setdefault(name, []).append(values.float())
    return {name: torch.cat(values) for name, values in parts.items()}


def _gradient_norms(
    model: Backbone, mixer: Mixer, data: Dataset, config: TrainConfig, names: list[str]
) -> dict[str, float]:
    """``grad_<m>_<term>`` for the modalities ``names``, on the probe's fixed training batch."""
    train = data.train
    batch = train.batch(torch.arange(min(config.batch_size, len(train)), device=train.device))
    generator = torch.Generator(device=train.device)
    generator.manual_seed(derived_seed(config.seed, PROBE_STREAM))
    encoded: list[Encoded] = []

    def encode(b: Batch) -> Encoded:
        result = model.encode(b)
        encoded.append(result)
        return result

    with torch.enable_grad():
        parts = training_loss(model, mixer, batch, config.objective, generator, encode=encode)
        latents = encoded[0].latents  # the originals' (an input mixer encodes its mixed batch second)
        norms = {term: _norms(value, [latents[m] for m in names]) for term, value in _weighted_terms(parts, config).items()}
    flat = torch.stack([n for values in norms.values() for n in values]).tolist()
    keys = [f"grad_{m}_{term}" for term in norms for m in names]
    return dict(zip(keys, flat))


def _weighted_terms(parts: LossParts, config: TrainConfig) -> dict[str, Tensor]:
    """Each term of the objective as it enters the total."""
    objective = config.objective
    terms = {"task": parts.task, "mixup": objective.mix_weight * parts.mixup, "sal": objective.sal_weight * parts.aux}
    if parts.backbone:
        terms["model_aux"] = sum(objective.backbone_weights.get(n, 1.0) * v for n, v in parts.backbone.items())
    return terms


def _norms(term: Tensor, latents: list[Tensor]) -> list[Tensor]:
    """The gradient norm of ``term`` at each latent (0 where it does not depend on one)."""
    if not term.requires_grad:
        return [term.new_zeros((), dtype=torch.float32) for _ in latents]
    grads = torch.autograd.grad(term, latents, retain_graph=True, allow_unused=True)
    return [g.float().norm() if g is not None else term.new_zeros((), dtype=torch.float32) for g in grads]


def probed_modalities(history: pd.DataFrame) -> list[str]:
    """The modalities whose intensity predictor a run history's probe columns describe."""
    return [m for m in MODALITIES if f"intensity_{m}_corr" in history.columns]


def sal_gradient_share(history: pd.DataFrame, modality: str) -> np.ndarray:
    """Per epoch of a run history, SAL's gradient norm at the modality's latent over the sum of
    every term's norm (a share of the pull on its encoder, not of one summed vector); NaN where
    every term is 0."""
    norms = history[[c for t in TERMS if (c := f"grad_{modality}_{t}") in history.columns]].to_numpy(float)
    total = norms.sum(axis=1)
    sal = history[f"grad_{modality}_sal"].to_numpy(float)
    return np.divide(sal, total, out=np.full_like(sal, np.nan), where=total > 0)
