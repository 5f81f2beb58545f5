"""Published per-data-set hyper-parameters of TFN and LMF (MMSA 2.2.1, ``config/config_regression.json``).

Each recipe has a ``model`` part (the backbone's settings) and a ``train`` part (``TrainConfig``
fields). ``custom`` data sets use MOSI's recipe. How MMSA's names map to ours:

- ``hidden_dims`` lists (text, audio, video) -> ``text_hidden``, ``audio_hidden``, ``vision_hidden``.
- ``dropouts`` lists (audio, video, text, post-fusion) -> ``audio_dropout``, ``vision_dropout``, and
  for TFN ``fusion_dropout``. The text dropout has no effect in MMSA (its one-layer text LSTM sets
  it to 0), and LMF defines a post-fusion dropout that its forward never applies; neither appears
  here.
- LMF's ``text_out`` is ``text_hidden // 2`` in MMSA's code; it is written out here.
- ``early_stop`` (8 for both) -> ``patience``, on the validation loss (MMSA's ``KeyEval: Loss``);
  both trainers use Adam and an L1 loss; ``learning_rate`` -> ``lr``; TFN has no weight decay.
- TFN's output is ``sigmoid * 6 - 3`` in MMSA for every data set, CH-SIMS (labels in [-1, 1])
  included: ``output_bound`` 3 on ``sims`` keeps that; ``None`` scales to the data set's label range.
- LMF: MMSA's trainer gives the three modality factors their own ``factor_lr`` and leaves the
  fusion weights and bias out of the optimiser, so they keep their initial values
  (``learn_fusion_weights=False``; the LMF paper trains them).
"""

from __future__ import annotations

import copy
from typing import Any

_TRAIN = {"patience": 8, "loss": "l1", "optimizer": "adam"}

TFN: dict[str, dict[str, dict[str, Any]]] = {
    "mosi": {
        "model": {
            "text_hidden": 128, "audio_hidden": 32, "vision_hidden": 128, "text_out": 32,
            "post_fusion_dim": 64, "audio_dropout": 0.3, "vision_dropout": 0.3, "fusion_dropout": 0.5,
            "output_bound": None, "use_text_lengths": False,
        },
        "train": {**_TRAIN, "batch_size": 32, "lr": 1e-3, "weight_decay": 0.0},
    },
    "mosei": {
        "model": {
            "text_hidden": 128, "audio_hidden": 16, "vision_hidden": 128, "text_out": 128,
            "post_fusion_dim": 16, "audio_dropout": 0.4, "vision_dropout": 0.4, "fusion_dropout": 0.4,
            "output_bound": None, "use_text_lengths": False,
        },
        "train": {**_TRAIN, "batch_size": 128, "lr": 5e-3, "weight_decay": 0.0},
    },
    "sims": {
        "model": {
            "text_hidden": 128, "audio_hidden": 32, "vision_hidden": 128, "text_out": 256,
            "post_fusion_dim": 32, "audio_dropout": 0.4, "vision_dropout": 0.4, "fusion_dropout": 0.4,
            "output_bound": 3.0, "use_text_lengths": False,
        },
        "train": {**_TRAIN, "batch_size": 32, "lr": 5e-4, "weight_decay": 0.0},
    },
}

LMF: dict[str, dict[str, dict[str, Any]]] = {
    "mosi": {
        "model": {
            "text_hidden": 128, "audio_hidden": 16, "vision_hidden": 128, "text_out": 64, "rank": 3,
            "audio_dropout": 0.3, "vision_dropout": 0.3, "factor_lr": 1e-3,
            "learn_fusion_weights": False, "use_text_lengths": False,
        },
        "train": {**_TRAIN, "batch_size": 64, "lr": 1e-3, "weight_decay": 5e-3},
    },
    "mosei": {
        "model": {
            "text_hidden": 128, "audio_hidden": 16, "vision_hidden": 128, "text_out": 64, "rank": 4,
            "audio_dropout": 0.2, "vision_dropout": 0.2, "factor_lr": 1e-3,
            "learn_fusion_weights": False, "use_text_lengths": False,
        },
        "train": {**_TRAIN, "batch_size": 32, "lr": 1e-3, "weight_decay": 1e-3},
    },
    "sims": {
        "model": {
            "text_hidden": 64, "audio_hidden": 16, "vision_hidden": 64, "text_out": 32, "rank": 4,
            "audio_dropout": 0.2, "vision_dropout": 0.2, "factor_lr": 5e-4,
            "learn_fusion_weights": False, "use_text_lengths": False,
        },
        "train": {**_TRAIN, "batch_size": 64, "lr": 2e-3, "weight_decay": 5e-3},
    },
}

RECIPES = {"tfn": TFN, "lmf": LMF}


def recipe(backbone: str, kind: str) -> dict[str, dict[str, Any]]:
    """A fresh copy of ``{"model": ..., "train": ...}`` for TFN or LMF on data set ``kind``."""
    return pick_recipe(RECIPES[backbone], backbone, kind)


def pick_recipe(recipes: dict[str, dict[str, dict[str, Any]]], backbone: str, kind: str) -> dict[str, dict[str, Any]]:
    """A fresh copy of ``recipes[kind]`` (a backbone's table of published recipes per data set);
    ``custom`` data sets get MOSI's, an unknown kind is refused with the known ones."""
    if kind == "custom":
        kind = "mosi"
    if kind not in recipes:
        known = ", ".join([*sorted(recipes), "custom"])
        raise ValueError(f"{backbone}: no published recipe for data set kind {kind!r}; known: {known}")
    return copy.deepcopy(recipes[kind])


def check_int(owner: str, name: str, value: Any, low: int = 1) -> None:
    """Raise unless ``value`` is an integer >= ``low``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{owner}.{name} must be an integer >= {low}, got {value!r}")


def check_dropout(owner: str, name: str, value: Any) -> None:
    """Raise unless ``value`` is a probability in [0, 1)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value < 1.0:
        raise ValueError(f"{owner}.{name} must be a dropout probability in [0, 1), got {value!r}")


def check_bool(owner: str, name: str, value: Any) -> None:
    """Raise unless ``value`` is True or False."""
    if not isinstance(value, bool):
        raise ValueError(f"{owner}.{name} must be True or False, got {value!r}")
