"""``build_features``: the MMSA pickle it writes, read back by ``msmix.data.load``; missing
modalities marked, never filled in; a stopped run resumed to the same file."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

import msmix.features.build as build_module
from msmix.data import load
from msmix.features import FeatureSettings, build_features
from msmix.features.text import TextEncoder
from tests.features.conftest import SENTENCES, write_label_csv

SETTINGS = FeatureSettings(text_length=16, chunk=2)


def _tone(path: Path, seconds: float, rate: int = 16_000, freq: float = 220.0) -> Path:
    import soundfile

    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)
    return path


def _read(path: Path) -> dict:
    with open(path, "rb") as f:
        return pickle.load(f)


def test_text_only_file_has_every_clip_and_marks_audio_and_vision_missing(tmp_path: Path, minilm: str) -> None:
    csv = write_label_csv(tmp_path)
    report = build_features(csv, tmp_path / "out.pkl", settings=SETTINGS, progress=False)
    data = _read(tmp_path / "out.pkl")
    assert report.clips == 6 and report.with_audio == 0 and report.with_vision == 0
    assert data["config"]["audio"] == "missing" and data["config"]["vision"] == "missing"
    encoder = TextEncoder.load(minilm)
    for split, mode in (("train", "train"), ("valid", "dev"), ("test", "test")):
        rows = [r for r in SENTENCES if r[3] == mode]
        got = data[split]
        assert list(got["id"]) == [i.replace("_", "$_$") for i, _, _, _ in rows]
        assert list(got["raw_text"]) == [t for _, t, _, _ in rows]
        np.testing.assert_allclose(got["regression_labels"], [y for _, _, y, _ in rows], rtol=0, atol=1e-6)
        tokens = encoder.tokens([t for _, t, _, _ in rows], 16)
        np.testing.assert_array_equal(got["text_bert"], tokens)
        np.testing.assert_allclose(got["text"], encoder.states(tokens), atol=1e-5)
        for m, dim in (("audio", 25), ("vision", 35)):
            assert got[m].shape == (len(rows), 1, dim) and not got[m].any()
            np.testing.assert_array_equal(got[f"{m}_lengths"], 0)
    assert not (tmp_path / "out.pkl.parts").exists()


def test_the_loader_reads_it_as_custom_with_the_missing_modalities(tmp_path: Path, minilm: str) -> None:
    build_features(write_label_csv(tmp_path), tmp_path / "out.pkl", settings=SETTINGS, progress=False)
    ds = load(tmp_path / "out.pkl")
    assert ds.spec.kind == "custom" and ds.spec.dims == {"text": 384, "audio": 25, "vision": 35}
    assert ds.spec.missing == ("audio", "vision")
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (3, 1, 2)
    assert ds.train.text_bert is not None
    assert not any("padding zeroed" in note for note in ds.notes)


def test_clips_with_media_get_audio_frames_the_others_stay_missing(tmp_path: Path, minilm: str) -> None:
    media = tmp_path / "media"
    (media / "vidA").mkdir(parents=True)
    _tone(media / "vidA" / "1.wav", 1.0)  # MMSA's <video_id>/<clip_id> layout
    _tone(media / "vidC_2.wav", 0.5)  # the <video_id>_<clip_id> layout
    report = build_features(write_label_csv(tmp_path), tmp_path / "out.pkl", media=[media], settings=SETTINGS, progress=False)
    data = _read(tmp_path / "out.pkl")
    assert report.with_audio == 2
    # eGeMAPS LLDs come every 10 ms, less the frames its longest (60 ms) window cannot fill.
    assert 94 <= int(data["train"]["audio_lengths"][0]) <= 100
    assert 44 <= int(data["test"]["audio_lengths"][1]) <= 50
    np.testing.assert_array_equal(data["train"]["audio_lengths"][1:], 0)
    np.testing.assert_array_equal(data["test"]["audio_lengths"][:1], 0)
    assert not data["train"]["audio"][1:].any()
    ds = load(tmp_path / "out.pkl")
    assert ds.spec.missing == ("vision",)


def test_a_long_clip_keeps_evenly_spaced_frames(tmp_path: Path, minilm: str) -> None:
    media = tmp_path / "media"
    media.mkdir()
    _tone(media / "vidA_1.wav", 2.0)
    settings = FeatureSettings(text_length=16, chunk=2, max_frames=40)
    report = build_features(write_label_csv(tmp_path), tmp_path / "out.pkl", media=[media], settings=settings, progress=False)
    data = _read(tmp_path / "out.pkl")
    assert report.thinned == {"audio": 1, "vision": 0}
    assert data["train"]["audio"].shape[1] == 40 and data["train"]["audio_lengths"][0] == 40


def test_a_stopped_run_resumes_and_writes_the_same_file(tmp_path: Path, minilm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    csv = write_label_csv(tmp_path)
    fresh = build_features(csv, tmp_path / "fresh.pkl", settings=SETTINGS, progress=False)
    real_chunk = build_module._chunk_features
    calls = []

    def fail_on_the_second_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_chunk(*args, **kwargs)

    monkeypatch.setattr(build_module, "_chunk_features", fail_on_the_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        build_features(csv, tmp_path / "out.pkl", settings=SETTINGS, progress=False)
    assert not (tmp_path / "out.pkl").exists()
    assert len(list((tmp_path / "out.pkl.parts").glob("chunk-*.npz"))) == 1
    monkeypatch.setattr(build_module, "_chunk_features", real_chunk)
    resumed = build_features(csv, tmp_path / "out.pkl", settings=SETTINGS, progress=False)
    assert resumed.resumed_chunks == 1 and fresh.resumed_chunks == 0
    a, b = _read(tmp_path / "fresh.pkl"), _read(tmp_path / "out.pkl")
    for split in ("train", "valid", "test"):
        for key, value in a[split].items():
            np.testing.assert_array_equal(b[split][key], value, err_msg=f"{split}/{key}")


def test_other_settings_do_not_reuse_old_chunks(tmp_path: Path, minilm: str) -> None:
    csv = write_label_csv(tmp_path)
    parts = tmp_path / "out.pkl.parts"
    parts.mkdir()
    (parts / "fingerprint").write_text("made with other settings")
    (parts / "chunk-00000.npz").write_bytes(b"stale")
    report = build_features(csv, tmp_path / "out.pkl", settings=SETTINGS, progress=False)
    assert report.resumed_chunks == 0 and _read(tmp_path / "out.pkl")["train"]["text"].shape == (3, 16, 384)


def test_the_progress_bar_counts_clips(tmp_path: Path, minilm: str, capsys: pytest.CaptureFixture) -> None:
    build_features(write_label_csv(tmp_path), tmp_path / "out.pkl", settings=SETTINGS, progress=True)
    err = capsys.readouterr().err
    assert "features" in err and "6/6" in err and "clip" in err
