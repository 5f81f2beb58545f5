"""``benchmarks/saved_activations.py`` runs and counts what a training step keeps for backward."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_it_prints_a_row_per_backbone_with_a_positive_count() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "saved_activations.py"), "--backbones", "lmf", "tfn",
                           "--batch", "2"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    rows = {line.split("|")[1].strip(): line.split("|") for line in done.stdout.splitlines() if line.startswith("| lmf") or line.startswith("| tfn")}
    assert set(rows) == {"lmf", "tfn"}
    assert all(float(row[3]) > 0 for row in rows.values())
    assert rows["tfn"][2].strip() == "32" and rows["lmf"][2].strip() == "64"  # the recipes' batch sizes
