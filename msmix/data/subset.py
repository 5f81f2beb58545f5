"""``train_subset``: train on a seeded, stratified share of the train split, valid and test unchanged.

Mixup methods are meant to pay off most where data are scarce; training on 10 / 25 / 50 / 100 % of
the train split (``TrainConfig.train_fraction``) measures that. The share is drawn per sentiment
class, the classes MMSA's metrics bin labels into, so a small subset keeps the label distribution
of the whole split instead of losing its rare classes by chance.
"""

from __future__ import annotations

import math
from dataclasses import replace
from numbers import Real

import numpy as np
import torch
from sklearn.utils import resample

from msmix.data.dataset import Dataset
from msmix.data.spec import DataSpec
from msmix.metrics import SIMS_INNER_EDGES


def check_fraction(fraction: object, name: str = "train_fraction") -> float:
    """``fraction`` as a float when it is a number in (0, 1]; else a ValueError naming ``name``."""
    ok = isinstance(fraction, Real) and not isinstance(fraction, bool) and 0 < float(fraction) <= 1
    if not ok:
        raise ValueError(f"{name} must be a number in (0, 1] (the share of the train split to train on), got {fraction!r}")
    return float(fraction)


def sentiment_classes(labels: torch.Tensor, spec: DataSpec) -> np.ndarray:
    """Each label's sentiment class, as MMSA's metrics bin it.

    CH-SIMS (``metrics_kind`` ``sims``): the five classes of ``Mult_acc_5`` (labels clipped to
    [-1, 1], bins at -0.7 / -0.1 / 0.1 / 0.7). Every other kind: ``round(clip(y, -r, r))`` with
    ``r = spec.label_range``, MOSI's seven classes of ``Mult_acc_7`` for r = 3. Values are compared
    in the labels' own precision, as the metrics do.
    """
    y = labels.detach().cpu()
    if y.dtype not in (torch.float32, torch.float64):
        y = y.float()
    values = y.numpy().reshape(-1)
    if spec.metrics_kind == "sims":
        edges = np.asarray(SIMS_INNER_EDGES[5], dtype=values.dtype)
        return np.searchsorted(edges, np.clip(values, -1.0, 1.0), side="left")
    bound = spec.label_range
    return np.round(np.clip(values, -bound, bound))


def subset_size(n: int, fraction: float) -> int:
    """How many of ``n`` samples a share of ``fraction`` keeps: rounded half up, at least one."""
    return min(n, max(1, math.floor(fraction * n + 0.5)))


def train_subset(dataset: Dataset, fraction: float, seed: int) -> Dataset:
    """``dataset`` with its train split cut to a seeded, stratified ``fraction`` of its samples.

    What holds:

    - the subset has ``subset_size(n, fraction)`` samples (``fraction * n`` rounded half up, at
      least one), kept in their original order; valid and test are the same objects as before;
    - each sentiment class (``sentiment_classes``) of ``n_c`` samples keeps its proportional share
      ``n_c * k / n`` of the ``k`` samples, rounded down or up (scikit-learn's stratified
      ``resample``), so within one sample of it: a class too small for its share to reach one
      sample may be left out, and a class of a single sample is kept or left out whole;
    - the same labels, ``fraction`` and ``seed`` give the same subset; another seed gives another.
      Each fraction is drawn on its own: the subset of a smaller fraction is not in general part
      of the subset of a larger one;
    - ``fraction`` 1.0 returns ``dataset`` itself.

    The result keeps ``source``, ``spec`` and ``load_args`` (loading the data again reads the whole
    split) and records the share in ``Dataset.train_fraction``, which ``summary()`` shows.

    Raises:
        ValueError: ``fraction`` is not a number in (0, 1], or ``seed`` is not an integer >= 0.
    """
    fraction = check_fraction(fraction)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"the train subset's seed must be an integer >= 0, got {seed!r}")
    train = dataset.train
    if fraction == 1.0 or len(train) == 0:
        return dataset
    classes = sentiment_classes(train.labels, dataset.spec)
    generator = np.random.RandomState(np.random.MT19937(np.random.SeedSequence(int(seed))))
    chosen = resample(np.arange(len(train)), n_samples=subset_size(len(train), fraction), replace=False,
                      stratify=classes, random_state=generator)
    index = torch.as_tensor(np.sort(chosen), dtype=torch.long, device=train.device)
    return replace(dataset, train=train.select(index), train_fraction=dataset.train_fraction * fraction)
