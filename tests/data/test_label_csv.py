"""MMSA label.csv in both layouts, checked against the real CMU-MOSI file and a plain csv reading."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from msmix.data import DataError, read_label_csv

REAL_MOSI = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cmu-mosi" / "label.csv"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "label.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.skipif(not REAL_MOSI.exists(), reason="the shared CMU-MOSI label.csv is not beside this checkout")
def test_real_mosi_label_file() -> None:
    df = read_label_csv(REAL_MOSI)
    assert len(df) == 2195
    assert df["split"].value_counts().to_dict() == {"train": 1281, "valid": 229, "test": 685}
    assert list(df.columns) == ["id", "video_id", "clip_id", "text", "label", "split"]
    with REAL_MOSI.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row, (_, got) in zip(rows, df.iterrows()):
        video, _, clip = row["id"].rpartition("_")
        assert got["id"] == f"{video}$_${clip}" and (got["video_id"], got["clip_id"]) == (video, clip)
        assert got["label"] == float(row["label"]) and got["text"] == row["text"]
        assert got["split"] == {"dev": "valid"}.get(row["mode"], row["mode"])
    assert df["label"].abs().max() <= 3.0


def test_mmsa_layout_with_sims_columns(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "video_id,clip_id,text,label,label_T,label_A,label_V,annotation,mode\n"
        "video_0001,0001,好的,0.8,1.0,0.6,0.4,Positive,train\n"
        "video_0001,0002,\"a, quoted\",-0.2,-0.4,0.0,0.2,Negative,valid\n"
        "video_0002,0001,,0.0,0.0,0.0,0.0,Neutral,TEST\n",
    )
    df = read_label_csv(path)
    assert list(df["id"]) == ["video_0001$_$0001", "video_0001$_$0002", "video_0002$_$0001"]
    assert list(df["clip_id"]) == ["0001", "0002", "0001"]  # kept as text: leading zeros matter
    assert list(df["text"]) == ["好的", "a, quoted", ""]
    assert list(df["label"]) == [0.8, -0.2, 0.0] and list(df["label_A"]) == [0.6, 0.0, 0.0]
    assert list(df["split"]) == ["train", "valid", "test"]
    assert list(df["annotation"]) == ["Positive", "Negative", "Neutral"]


def test_dev_is_valid(tmp_path: Path) -> None:
    df = read_label_csv(_write(tmp_path, "id,text,label,mode\nabc_def_3,x,1.5,dev\n"))
    assert (df.loc[0, "video_id"], df.loc[0, "clip_id"], df.loc[0, "split"]) == ("abc_def", "3", "valid")


@pytest.mark.parametrize("header", ["id,label,mode", "id,text,mode", "id,text,label", "text,label,mode"])
def test_missing_column(tmp_path: Path, header: str) -> None:
    path = _write(tmp_path, header + "\n" + ",".join(["a_1"] * len(header.split(","))) + "\n")
    with pytest.raises(DataError) as err:
        read_label_csv(path)
    assert err.value.path == str(path) and err.value.expected and header.replace(",", ", ") in err.value.found


def test_bad_label(tmp_path: Path) -> None:
    path = _write(tmp_path, "id,text,label,mode\na_1,x,0.4,train\na_2,y,strong,train\na_3,z,,test\n")
    with pytest.raises(DataError) as err:
        read_label_csv(path)
    e = err.value
    assert e.key == "label" and e.expected == "finite numbers" and e.found == "'strong' on line 3"
    assert "2 non-numeric" in str(e)


def test_unknown_fold(tmp_path: Path) -> None:
    path = _write(tmp_path, "id,text,label,mode\na_1,x,0.4,train\na_2,y,1,holdout\n")
    with pytest.raises(DataError) as err:
        read_label_csv(path)
    assert err.value.key == "mode" and err.value.found == "'holdout' on line 3"


def test_id_without_clip_number(tmp_path: Path) -> None:
    path = _write(tmp_path, "id,text,label,mode\nnounderscore,x,0.4,train\n")
    with pytest.raises(DataError) as err:
        read_label_csv(path)
    assert err.value.key == "id" and "line 2" in err.value.found


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read"):
        read_label_csv(tmp_path / "absent.csv")
