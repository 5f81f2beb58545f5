"""Audio features of the real CMU-MOSI clips: decoding checked against soundfile, eGeMAPS loudness
against a frame-energy envelope, the librosa block against librosa's own functions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from msmix.data import DataError
from msmix.features.audio import (
    AUDIO_EXTRACTORS,
    LIBROSA_HOP,
    audio_extractor,
    audio_frames,
    decode_audio,
)
from tests.features.conftest import REAL_MP4, REAL_WAV, needs_real_media


@needs_real_media
def test_decoding_the_wav_equals_soundfile_mixed_to_mono() -> None:
    import soundfile

    stereo, rate = soundfile.read(REAL_WAV, dtype="float64")
    assert rate == 16_000 and stereo.ndim == 2
    decoded = decode_audio(REAL_WAV, 16_000)
    assert decoded.dtype == np.float32 and decoded.shape == (stereo.shape[0],)
    np.testing.assert_allclose(decoded, stereo.mean(axis=1), atol=1e-4)


@needs_real_media
def test_the_videos_sound_track_is_decoded_at_the_asked_rate() -> None:
    signal = decode_audio(REAL_MP4, 16_000)
    assert abs(signal.size / 16_000 - 7.44) < 0.1
    assert 0.005 < float(np.sqrt(np.mean(signal**2))) < 0.5  # speech, neither silence nor clipping


@needs_real_media
def test_egemaps_frames_of_the_real_clip() -> None:
    extractor = audio_extractor("egemaps")
    frames = audio_frames(REAL_WAV, extractor)
    seconds = decode_audio(REAL_WAV, 16_000).size / 16_000
    assert frames.shape[1] == 25 and frames.dtype == np.float32 and np.isfinite(frames).all()
    assert abs(frames.shape[0] - 100 * seconds) <= 6
    # eGeMAPS's first descriptor is loudness: it must follow the clip's own energy envelope.
    signal = decode_audio(REAL_WAV, 16_000)
    energy = np.array([np.sqrt(np.mean(signal[i * 160 : i * 160 + 400] ** 2)) for i in range(frames.shape[0])])
    assert np.corrcoef(frames[:, 0], energy)[0, 1] > 0.8


@needs_real_media
def test_librosa_frames_of_the_real_clip_are_mfcc_zcr_chroma() -> None:
    import librosa

    extractor = audio_extractor("librosa")
    frames = audio_frames(REAL_MP4, extractor)
    signal = decode_audio(REAL_MP4, extractor.sample_rate)
    assert frames.shape == (1 + signal.size // LIBROSA_HOP, 33)
    np.testing.assert_allclose(frames[:, :20], librosa.feature.mfcc(y=signal, sr=22_050, n_mfcc=20).T, rtol=1e-4, atol=1e-3)
    zcr = librosa.feature.zero_crossing_rate(signal).T[:, 0]
    np.testing.assert_allclose(frames[:, 20], zcr, atol=1e-6)
    chroma = frames[:, 21:]
    assert chroma.min() >= 0 and np.allclose(chroma.max(axis=1), 1.0, atol=1e-5)  # per-frame normalised


def test_the_extractors_widths_and_names() -> None:
    assert {n: e.dim for n, e in AUDIO_EXTRACTORS.items()} == {"egemaps": 25, "librosa": 33}
    with pytest.raises(ValueError, match="egemaps, librosa"):
        audio_extractor("covarep")


def test_too_short_a_sound_counts_as_silent(tmp_path: Path) -> None:
    import soundfile

    soundfile.write(tmp_path / "blip.wav", np.zeros(500, np.float32), 16_000)
    assert audio_frames(tmp_path / "blip.wav", audio_extractor("egemaps")).shape == (0, 25)


def test_an_undecodable_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"not audio at all" * 10)
    with pytest.raises(DataError, match="cannot decode the audio") as caught:
        decode_audio(bad, 16_000)
    assert str(bad) in str(caught.value)


@needs_real_media
@pytest.mark.parametrize("extractor", ["egemaps", "librosa"])
def test_msmix_features_reads_the_real_clips_by_their_ids(tmp_path: Path, minilm: str, extractor: str) -> None:
    """The shared folder names clips <video_id>_<clip_no>.wav/.mp4, as label.csv's ids do."""
    import pickle

    from msmix.features import FeatureSettings, build_features
    from tests.features.conftest import REAL_MOSI, write_label_csv

    rows = (("03bSnISJMiM_1", "anyhow it was really good", 2.4, "train"),
            ("Oz06ZWiO20M_6", "but it was not all that bad", -0.8, "test"),
            ("absentVideo_1", "no media for this one", 0.0, "dev"))
    settings = FeatureSettings(text_length=12, audio=extractor, max_frames=10_000)
    report = build_features(write_label_csv(tmp_path, rows), tmp_path / "real.pkl", media=[REAL_MOSI],
                            settings=settings, progress=False)
    with open(tmp_path / "real.pkl", "rb") as f:
        data = pickle.load(f)
    assert report.with_audio == 2 and data["valid"]["audio_lengths"].tolist() == [0]
    spec = audio_extractor(extractor)
    for split, clip in (("train", REAL_WAV), ("test", REAL_MP4)):
        n = int(data[split]["audio_lengths"][0])
        np.testing.assert_allclose(data[split]["audio"][0, :n], audio_frames(clip, spec), rtol=1e-6, atol=1e-6)
        assert not data[split]["audio"][0, n:].any()
