"""``benchmarks/grid_projection.py``: the paper's grid projected from epoch times."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import grid_projection  # noqa: E402

TRAIN_SPLITS = {"mosi": 1284, "mosei": 16326, "sims": 1368}  # MMSA's files


def test_the_projection_is_epochs_times_seconds_over_every_run_of_the_grid() -> None:
    report = grid_projection.project({"tfn": (2.0, "given"), "misa": (0.5, "given")})
    expected = 0.0
    for backbone, seconds in (("tfn", 2.0), ("misa", 0.5)):
        epochs, _ = grid_projection.epochs_per_run(backbone)
        for data in TRAIN_SPLITS:  # 6 mixers x 5 seeds on each data set, scaled by its train split
            expected += 6 * 5 * epochs * seconds * TRAIN_SPLITS[data] / TRAIN_SPLITS["mosi"]
    total = float(re.search(r"\*\*([0-9.]+) h\*\*", report).group(1))
    assert total == pytest.approx(expected / 3600, abs=0.006)
    assert "Not timed, so not in the total: almt, glomo, lmf, mult." in report


def test_epochs_fall_back_to_the_recipe_without_recorded_runs(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(grid_projection, "REAL_RUNS", tmp_path / "absent.csv")
    assert grid_projection.epochs_per_run("almt") == (200.0, "recipe max_epochs")
