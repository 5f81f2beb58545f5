"""How closely each modality's SIG intensities follow the labels: the numbers that show a collapse.

For every modality, over a set of samples:

- ``corr``: Pearson correlation of intensity with label (does it get sign and order right?).
- ``abs_corr``: Pearson correlation of |intensity| with |label|. This is all the authors' batch-KL
  SAL can teach: it compares softmaxes of |.| over the batch, blind to sign and scale.
- ``saturated``: share of intensities within ``saturation`` (1 %) of the range ends, where tanh is
  flat and passes almost no gradient back.
- ``mean`` and ``std``: where the predictions sit and how far they spread.

A correlation is NaN where either side is constant (a predictor that says one value for every
sample has no correlation with anything).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

STATS = ("corr", "abs_corr", "saturated", "mean", "std")


def intensity_stats(
    intensities: Mapping[str, Tensor], labels: Tensor, label_range: float, saturation: float = 0.01
) -> dict[str, float]:
    """``{f"{modality}_{stat}": value}`` for every modality and every name in ``STATS``.

    Args:
        intensities: per modality, (N,) predicted intensities in [-label_range, label_range].
        labels: (N,) labels.
        label_range: the labels' bound (3 for MOSI/MOSEI, 1 for SIMS).
        saturation: a prediction counts as saturated within ``saturation * label_range`` of ±range.
    """
    y = labels.detach().reshape(-1).to("cpu", torch.float64)
    rows: dict[str, Tensor] = {}
    for name, values in intensities.items():
        i = values.detach().reshape(-1).to("cpu", torch.float64)
        if i.shape != y.shape:
            raise ValueError(f"intensities of {name!r} must be one per label, shape {tuple(y.shape)}, got {tuple(i.shape)}")
        rows[name] = torch.stack([
            _pearson(i, y),
            _pearson(i.abs(), y.abs()),
            (i.abs() >= (1.0 - saturation) * label_range).double().mean(),
            i.mean(),
            i.std(unbiased=False),
        ])
    return {f"{name}_{stat}": float(value) for name, row in rows.items() for stat, value in zip(STATS, row.tolist())}


def _pearson(a: Tensor, b: Tensor) -> Tensor:
    """Pearson's r of two float64 vectors; NaN where either is constant or there are < 2 values."""
    if a.numel() < 2:
        return a.new_tensor(float("nan"))
    a, b = a - a.mean(), b - b.mean()
    scale = a.norm() * b.norm()
    return (a @ b) / scale if scale > 0 else a.new_tensor(float("nan"))


COLLAPSED_SATURATION = 0.9  # this share of predictions at ±range (within ``saturation``) or more
COLLAPSED_STD = 0.05  # or a spread below this (label units): one value for every sample
FOLLOWS_CORR = 0.3  # a correlation with the labels of at least this counts as following them


def predictor_state(corr: float, saturated: float, std: float) -> str:
    """A predictor's state in words, from its ``intensity_stats``: ``"collapsed"`` (saturated or
    constant: it says the same for every sample), ``"follows the labels"`` (corr >= 0.3) or
    ``"barely follows the labels"``. The thresholds are the module's constants."""
    if saturated >= COLLAPSED_SATURATION or std < COLLAPSED_STD or corr != corr:  # NaN: constant
        return "collapsed"
    return "follows the labels" if corr >= FOLLOWS_CORR else "barely follows the labels"
