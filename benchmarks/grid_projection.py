"""The paper's grid (6 backbones x 3 data sets x 6 mixers x 5 seeds = 540 runs), projected from
measured epoch times. Part (f) of ``gpu_check.py``.

Per backbone, one epoch's seconds at MOSI's shapes come from part (e) (MS-Mix, the costliest
mixer, per seed: stacked where the backbone stacks, else in turn) or, for a backbone (e) did not
time, from part (c) (fp32, no mixer). A run's epochs are the median epochs our real-text MOSI runs
took (``notebooks/results/real_text_mosi.csv``, early stopping included), else the published
recipe's ``max_epochs``. CMU-MOSEI and CH-SIMS are scaled from MOSI by their train-split sizes
(``msmix.data.kinds``), which assumes an epoch costs in proportion to its samples (their sequence
lengths are close to MOSI's or shorter, so this errs long). It is a projection from measured
parts, not a measurement of the grid.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import msmix.models
from msmix.data.kinds import KNOWN_KINDS

DATA_SETS = ("mosi", "mosei", "sims")
MIXERS, SEEDS = 6, 5
REAL_RUNS = Path(__file__).resolve().parents[1] / "notebooks" / "results" / "real_text_mosi.csv"


def epochs_per_run(backbone: str) -> tuple[float, str]:
    """A run's epochs, and where the number comes from."""
    if REAL_RUNS.is_file():
        runs = pd.read_csv(REAL_RUNS, usecols=["backbone", "epochs"])
        epochs = runs.loc[runs["backbone"] == backbone, "epochs"]
        if len(epochs):
            return float(epochs.median()), "median of the real-text MOSI runs"
    recipe = msmix.models.backbone_class(backbone).default_config("mosi")
    return float(recipe["train"].get("max_epochs", 30)), "recipe max_epochs"


def size_factor(data: str) -> float:
    """The data set's train split over MOSI's."""
    return KNOWN_KINDS[data].split_sizes[0] / KNOWN_KINDS["mosi"].split_sizes[0]


def project(epoch_seconds: dict[str, tuple[float, str]]) -> str:
    """A markdown table of each backbone's share of the grid and the total, from ``epoch_seconds``
    (backbone -> seconds per MOSI epoch of one seed, and how it was measured)."""
    scale = sum(size_factor(d) for d in DATA_SETS)
    lines = [
        "| backbone | s per MOSI epoch | measured as | epochs per run | from | grid hours |",
        "|---|---|---|---|---|---|",
    ]
    total = 0.0
    for backbone, (seconds, how) in epoch_seconds.items():
        epochs, source = epochs_per_run(backbone)
        hours = seconds * epochs * scale * MIXERS * SEEDS / 3600
        total += hours
        lines.append(f"| {backbone} | {seconds:.3f} | {how} | {epochs:.0f} | {source} | {hours:.2f} |")
    missing = [b for b in msmix.models.available() if b not in epoch_seconds]
    lines += ["", f"Projected grid ({len(epoch_seconds)} of 6 backbones x {len(DATA_SETS)} data sets x {MIXERS} mixers "
              f"x {SEEDS} seeds): **{total:.2f} h** on this device."]
    if missing:
        lines.append(f"Not timed, so not in the total: {', '.join(missing)}.")
    return "\n".join(lines)
