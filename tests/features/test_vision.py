"""OpenFace CSVs written the way FeatureExtraction writes them, read back against the values written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from msmix.data.errors import DataError
from msmix.features.vision import (
    AU_INTENSITIES,
    AU_PRESENCES,
    OPENFACE_COLUMNS,
    VISION_DIM,
    openface_frames,
)

AU_NUMBERS = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45)
OTHER_COLUMNS = (
    "frame", "face_id", "timestamp", "confidence", "success",
    "gaze_0_x", "gaze_0_y", "gaze_0_z", "gaze_angle_x", "gaze_angle_y",
    "pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz", "x_0", "y_0", "p_scale",
)
# OpenFace 2's own order: bookkeeping, gaze, pose, landmarks, then all intensities, then all presences
OPENFACE_ORDER = OTHER_COLUMNS + tuple(f"AU{n:02d}_r" for n in AU_NUMBERS) + tuple(
    f"AU{n:02d}_c" for n in (*AU_NUMBERS[:-1], 28, 45)
)


def _table(rng: np.random.Generator, frames: int, success: list[int] | None = None) -> list[dict[str, str]]:
    """Rows of text cells as OpenFace prints them: intensities 0-5 with two decimals, presences 0/1."""
    success = success if success is not None else [1] * frames
    rows = []
    for f in range(frames):
        row = {
            "frame": str(f + 1), "face_id": "0", "timestamp": f"{f * 0.033:.3f}",
            "confidence": f"{rng.uniform(0.8, 0.98):.2f}" if success[f] else "0.00", "success": str(success[f]),
        }
        for name in OTHER_COLUMNS[5:]:
            row[name] = f"{rng.normal() * 10:.3f}"
        for name in AU_INTENSITIES:
            row[name] = f"{rng.uniform(0, 5):.2f}" if success[f] else "0.00"
        for name in AU_PRESENCES:
            row[name] = f"{rng.integers(0, 2)}.00" if success[f] else "0.00"
        rows.append(row)
    return rows


def _write(path: Path, columns: list[str] | tuple[str, ...], rows: list[dict[str, str]]) -> Path:
    """A CSV with OpenFace's ``", "`` separators between header names and between values."""
    lines = [", ".join(columns)] + [", ".join(row[c] for c in columns) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _expected(rows: list[dict[str, str]]) -> np.ndarray:
    """The AU cells of the rows with success 1, parsed cell by cell in OPENFACE_COLUMNS order."""
    kept = [[np.float32(float(row[c])) for c in OPENFACE_COLUMNS] for row in rows if row["success"] == "1"]
    return np.array(kept, dtype=np.float32).reshape(len(kept), VISION_DIM)


def _shuffled(rng: np.random.Generator, columns: tuple[str, ...]) -> list[str]:
    return [columns[i] for i in rng.permutation(len(columns))]


def test_column_constants() -> None:
    assert AU_INTENSITIES == (
        "AU01_r", "AU02_r", "AU04_r", "AU05_r", "AU06_r", "AU07_r", "AU09_r", "AU10_r", "AU12_r",
        "AU14_r", "AU15_r", "AU17_r", "AU20_r", "AU23_r", "AU25_r", "AU26_r", "AU45_r",
    )
    assert AU_PRESENCES == (
        "AU01_c", "AU02_c", "AU04_c", "AU05_c", "AU06_c", "AU07_c", "AU09_c", "AU10_c", "AU12_c",
        "AU14_c", "AU15_c", "AU17_c", "AU20_c", "AU23_c", "AU25_c", "AU26_c", "AU28_c", "AU45_c",
    )
    assert OPENFACE_COLUMNS == AU_INTENSITIES + AU_PRESENCES and VISION_DIM == 35 == len(set(OPENFACE_COLUMNS))


def test_openface_order_all_frames_found(tmp_path: Path) -> None:
    rows = _table(np.random.default_rng(0), 12)
    got = openface_frames(_write(tmp_path / "clip.csv", OPENFACE_ORDER, rows))
    assert got.dtype == np.float32 and got.shape == (12, 35)
    np.testing.assert_array_equal(got, _expected(rows))
    assert got[3, OPENFACE_COLUMNS.index("AU28_c")] == float(rows[3]["AU28_c"])
    assert got[7, OPENFACE_COLUMNS.index("AU45_r")] == np.float32(float(rows[7]["AU45_r"]))


@pytest.mark.parametrize("seed", range(5))
def test_shuffled_columns_land_in_order_and_failed_frames_are_dropped(tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    frames = int(rng.integers(5, 30))
    success = [int(s) for s in rng.random(frames) < 0.7]
    success[0], success[-1] = 0, 1
    rows = _table(rng, frames, success)
    got = openface_frames(str(_write(tmp_path / "clip.csv", _shuffled(rng, OPENFACE_ORDER), rows)))
    assert got.dtype == np.float32 and got.shape == (sum(success), VISION_DIM)
    np.testing.assert_array_equal(got, _expected(rows))


def test_values_by_hand(tmp_path: Path) -> None:
    """Two frames with known values; the failed middle frame holds values that must not appear."""
    columns = ["success", "gaze_0_x", *reversed(OPENFACE_COLUMNS[1:]), "frame", "AU01_r"]
    rows = []
    for frame, success in ((1, 1), (2, 0), (3, 1)):
        row = {c: str(frame * 100 + i) for i, c in enumerate(OPENFACE_COLUMNS)}
        row.update(success=str(success), gaze_0_x="0.5", frame=str(frame))
        rows.append(row)
    got = openface_frames(_write(tmp_path / "hand.csv", columns, rows))
    assert got.tolist() == [[100.0 + i for i in range(35)], [300.0 + i for i in range(35)]]


def test_only_failed_frames_gives_no_frames(tmp_path: Path) -> None:
    rows = _table(np.random.default_rng(1), 4, [0, 0, 0, 0])
    got = openface_frames(_write(tmp_path / "noface.csv", OPENFACE_ORDER, rows))
    assert got.shape == (0, 35) and got.dtype == np.float32


def test_header_only_gives_no_frames(tmp_path: Path) -> None:
    got = openface_frames(_write(tmp_path / "header.csv", OPENFACE_ORDER, []))
    assert got.shape == (0, 35) and got.dtype == np.float32


def test_bad_values_outside_au_columns_or_in_failed_frames_are_ignored(tmp_path: Path) -> None:
    rows = _table(np.random.default_rng(2), 6, [1, 0, 1, 1, 0, 1])
    rows[0]["gaze_0_x"] = "nan"
    rows[2]["pose_Rx"] = "oops"
    rows[1]["AU06_r"] = "-nan(ind)"  # a failed frame: dropped before its values are checked
    rows[4]["AU28_c"] = ""
    got = openface_frames(_write(tmp_path / "clip.csv", OPENFACE_ORDER, rows))
    np.testing.assert_array_equal(got, _expected(rows))


@pytest.mark.parametrize("column", ["AU01_r", "AU12_r", "AU45_r", "AU01_c", "AU28_c", "AU45_c"])
def test_missing_au_column(tmp_path: Path, column: str) -> None:
    rng = np.random.default_rng(3)
    columns = [c for c in _shuffled(rng, OPENFACE_ORDER) if c != column]
    path = _write(tmp_path / "clip.csv", columns, _table(rng, 3))
    with pytest.raises(DataError) as err:
        openface_frames(path)
    assert err.value.path == str(path) and err.value.key == column
    assert str(path) in str(err.value) and repr(column) in str(err.value)
    assert "1 of 35 missing" in str(err.value)


def test_missing_columns_names_the_first_missing_in_feature_order(tmp_path: Path) -> None:
    columns = [c for c in OPENFACE_ORDER if c not in ("AU45_c", "AU09_r", "AU17_c")]
    path = _write(tmp_path / "clip.csv", columns, _table(np.random.default_rng(4), 2))
    with pytest.raises(DataError) as err:
        openface_frames(path)
    assert err.value.key == "AU09_r" and "3 of 35 missing" in str(err.value)


def test_no_au_columns_at_all(tmp_path: Path) -> None:
    """A CSV of another OpenFace run (e.g. ``-pose -gaze`` only) is not taken for one without faces."""
    path = _write(tmp_path / "pose.csv", OTHER_COLUMNS, _table(np.random.default_rng(5), 3))
    with pytest.raises(DataError) as err:
        openface_frames(path)
    assert err.value.key == "AU01_r" and "35 of 35 missing" in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize(("column", "value"), [("AU04_r", "abc"), ("AU45_c", ""), ("AU25_r", "nan"), ("AU01_c", "1.2.3")])
def test_non_numeric_au_value(tmp_path: Path, column: str, value: str) -> None:
    rng = np.random.default_rng(6)
    rows = _table(rng, 5, [1, 0, 1, 1, 1])
    rows[3][column] = value
    path = _write(tmp_path / "clip.csv", _shuffled(rng, OPENFACE_ORDER), rows)
    with pytest.raises(DataError) as err:
        openface_frames(path)
    assert err.value.path == str(path) and err.value.key == column
    assert str(path) in str(err.value) and repr(column) in str(err.value)


def test_first_bad_value_is_named(tmp_path: Path) -> None:
    """Two bad cells: the error names the column of the earlier frame's one."""
    rows = _table(np.random.default_rng(7), 4)
    rows[2]["AU02_r"] = "x"
    rows[1]["AU20_c"] = "y"
    path = _write(tmp_path / "clip.csv", OPENFACE_ORDER, rows)
    with pytest.raises(DataError) as err:
        openface_frames(path)
    assert err.value.key == "AU20_c"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(DataError) as err:
        openface_frames(path)
    assert err.value.path == str(path) and str(path) in str(err.value)
    assert "EmptyDataError" in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "clip.csv"
    with pytest.raises(DataError) as err:
        openface_frames(path)
    assert err.value.path == str(path) and str(path) in str(err.value)
    assert "FileNotFoundError" in str(err.value)


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        openface_frames(tmp_path)
    assert err.value.path == str(tmp_path) and "IsADirectoryError" in str(err.value)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "clip.csv"
    path.write_bytes(b"\xff\xfe\x00\x81frame, success\n\x9c\x00\xff, 1\n")
    with pytest.raises(DataError) as err:
        openface_frames(path)
    assert err.value.path == str(path) and str(path) in str(err.value)


def test_ragged_rows(tmp_path: Path) -> None:
    """A row with more cells than the header (a truncated or concatenated file) is a parse error."""
    rows = _table(np.random.default_rng(8), 3)
    path = _write(tmp_path / "clip.csv", OPENFACE_ORDER, rows)
    path.write_text(path.read_text(encoding="utf-8") + ", ".join(["1"] * (len(OPENFACE_ORDER) + 4)) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        openface_frames(path)
    assert err.value.path == str(path) and "ParserError" in str(err.value)


def test_a_bad_value_is_located_by_its_line_in_the_file(tmp_path: Path) -> None:
    """Frames dropped for a failed face fit must not shift the line the error names."""
    rows = _table(np.random.default_rng(3), 4, success=[1, 0, 1, 1])
    rows[2]["AU05_c"] = "oops"
    path = _write(tmp_path / "clip.csv", OPENFACE_ORDER, rows)
    with pytest.raises(DataError, match="'oops' on line 4") as caught:
        openface_frames(path)
    assert caught.value.key == "AU05_c"
