"""Modality occlusion: how a trained backbone scores when one modality is blanked out.

Each modality in turn has all its features set to zero (on every frame, sequence lengths kept) and
the split is scored again with MMSA's metrics. Zero is what padding frames hold, so an occluded
modality reads as "nothing there", as in ``msmix.attribution``'s ablation. A model that leans on a
modality loses accuracy when it is occluded; one that ignores it does not change at all.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch
from torch import Tensor

from msmix import MODALITIES
from msmix.data.batch import Batch
from msmix.data.dataset import Split
from msmix.metrics import regression_metrics
from msmix.models.base import Backbone

NOTHING = "none"  # the ``occluded`` value of the unoccluded reference row


def occlude(batch: Batch, modality: str) -> Batch:
    """A copy of ``batch`` whose ``modality`` features are all zero (lengths and labels kept)."""
    _check_modality(modality)
    return batch.with_features({modality: torch.zeros_like(getattr(batch, modality))})


def occluded_predictions(model: Backbone, split: Split, modality: str | None, batch_size: int = 256) -> Tensor:
    """(N,) predictions on the CPU for ``split`` with ``modality`` occluded (None: nothing occluded).

    The model runs in eval mode without autograd, on its own device; its mode is restored after.
    """
    if modality is not None:
        _check_modality(modality)
    if batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    try:
        preds = []
        with torch.inference_mode():
            for batch in split.batches(batch_size):
                batch = batch.to(device)
                if modality is not None:
                    batch = occlude(batch, modality)
                preds.append(model(batch).pred.reshape(-1).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(preds) if preds else torch.zeros(0)


def occlusion_table(
    model: Backbone,
    split: Split,
    metrics_kind: str,
    modalities: Sequence[str] = MODALITIES,
    batch_size: int = 256,
) -> pd.DataFrame:
    """MMSA metrics of ``split`` with nothing occluded, then with each of ``modalities`` occluded.

    Args:
        model: a trained backbone.
        split: the split to score (e.g. ``dataset.test``).
        metrics_kind: ``"mosi"`` or ``"sims"`` (``dataset.spec.metrics_kind``).
        modalities: which modalities to occlude, one at a time.
        batch_size: samples per forward pass.

    Returns:
        One row per condition, indexed by ``occluded`` (``"none"``, then each modality): every
        metric, and ``mean_abs_shift``, the mean |prediction - unoccluded prediction|.
    """
    if not modalities:
        raise ValueError("occlusion_table needs at least one modality to occlude")
    for m in modalities:
        _check_modality(m)
    labels = split.labels.detach().float().cpu()
    reference = occluded_predictions(model, split, None, batch_size)
    rows = {NOTHING: _row(reference, reference, labels, metrics_kind)}
    for m in modalities:
        rows[m] = _row(occluded_predictions(model, split, m, batch_size), reference, labels, metrics_kind)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "occluded"
    return table


def _row(pred: Tensor, reference: Tensor, labels: Tensor, metrics_kind: str) -> dict[str, float]:
    shift = float((pred - reference).abs().mean()) if len(pred) else float("nan")
    return {**regression_metrics(pred, labels, metrics_kind), "mean_abs_shift": shift}


def _check_modality(modality: str) -> None:
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")
