"""``msmix features``: a file ``msmix train`` reads, and one-line errors for what a user can fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from msmix.cli import main
from tests.features.conftest import write_label_csv


def _one_line_error(capsys: pytest.CaptureFixture, argv: list[str], *expected: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("msmix features: error:") and "\n" not in err and "Traceback" not in err
    for part in expected:
        assert part in err


def test_features_then_train_on_the_file(tmp_path: Path, minilm: str, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "mine.pkl"
    assert main(["features", str(write_label_csv(tmp_path)), "--out", str(out), "--text-length", "12", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}: 6 clips; text 384-d, audio 25-d, vision 35-d" in printed
    assert "audio for 0 of 6 clips, vision for 0 of 6" in printed
    argv = ["train", "--data", str(out), "--backbone", "lmf", "--mixer", "msmix", "--epochs", "1", "--quiet"]
    assert main(argv) == 0
    assert "Has0_acc_2" in capsys.readouterr().out


def test_a_missing_label_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _one_line_error(capsys, ["features", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "x.pkl")], "absent.csv")


def test_a_label_file_without_labels(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "label.csv"
    bad.write_text("id,text,mode\nv_1,hello,train\n")
    _one_line_error(capsys, ["features", str(bad), "--out", str(tmp_path / "x.pkl")], str(bad), "'label'")


def test_a_missing_media_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["features", str(write_label_csv(tmp_path)), "--out", str(tmp_path / "x.pkl"), "--media", str(tmp_path / "nope")]
    _one_line_error(capsys, argv, "nope", "does not exist")


def test_an_encoder_that_is_not_there(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["features", str(write_label_csv(tmp_path)), "--out", str(tmp_path / "x.pkl"), "--text-encoder", str(tmp_path / "enc")]
    _one_line_error(capsys, argv, "enc", "nothing is downloaded")


def test_out_must_be_a_pickle(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _one_line_error(capsys, ["features", str(write_label_csv(tmp_path)), "--out", str(tmp_path / "x.csv")], ".pkl")


def test_a_bad_frame_limit(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["features", str(write_label_csv(tmp_path)), "--out", str(tmp_path / "x.pkl"), "--max-frames", "0"]
    _one_line_error(capsys, argv, "max_frames must be >= 1")
