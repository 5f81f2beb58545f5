"""Vision features: per-frame facial action units from OpenFace's CSV output (MMSA-FET's route).

OpenFace 2 (``FeatureExtraction -f clip.mp4``) writes one CSV per video with a row per frame;
its 17 AU intensities (``AU01_r`` ... ``AU45_r``) and 18 AU presences (``AU01_c`` ... ``AU45_c``)
make 35 features a frame. Frames where OpenFace found no face (``success`` 0) are left out.

No in-process extractor is offered: no face-analysis package on PyPI ships its model files
inside its wheel (MediaPipe 1.2.3's wheel holds no model, its face landmarker takes a separately
downloaded ``.task`` file; py-feat downloads its models at first use), and nothing here may
download at run time. Run OpenFace and point ``--openface`` at its CSVs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from msmix.data.errors import DataError

AU_INTENSITIES = tuple(f"AU{n:02d}_r" for n in (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45))
AU_PRESENCES = tuple(f"AU{n:02d}_c" for n in (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 28, 45))
OPENFACE_COLUMNS = AU_INTENSITIES + AU_PRESENCES
VISION_DIM = len(OPENFACE_COLUMNS)


def openface_frames(path: str | Path) -> np.ndarray:
    """(T, 35) float32 AU features of the frames where OpenFace found a face.

    Raises:
        DataError: the CSV cannot be read, lacks an AU column, or holds a non-numeric AU value.
    """
    path = str(path)
    try:
        table = pd.read_csv(path, skipinitialspace=True)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError("cannot read the OpenFace CSV", path=path, expected="OpenFace FeatureExtraction output", found=f"{type(error).__name__}: {error}") from error
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in OPENFACE_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(
            "missing action-unit columns", path=path, key=missing[0],
            expected="OpenFace's AU columns (AU01_r ... AU45_c; run FeatureExtraction with -aus or no filter)",
            found=f"{len(missing)} of {VISION_DIM} missing",
        )
    if "success" in table.columns:
        table = table[pd.to_numeric(table["success"], errors="coerce") == 1]
    values = table[list(OPENFACE_COLUMNS)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float32)
    if not np.isfinite(values).all():
        row, col = np.argwhere(~np.isfinite(values))[0]
        line = int(table.index[row]) + 2  # the header is line 1
        raise DataError(
            "non-numeric action unit", path=path, key=OPENFACE_COLUMNS[col], expected="numbers",
            found=f"{table[OPENFACE_COLUMNS[col]].iloc[row]!r} on line {line}",
        )
    return values
