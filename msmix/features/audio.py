"""Audio features: a clip's sound decoded with PyAV and described frame by frame.

Two extractors, chosen by name:

- ``egemaps``: openSMILE's eGeMAPSv02 low-level descriptors, 25 per 10 ms frame (loudness,
  spectral slopes, F0, jitter, shimmer, formants, MFCC 1-4, ...), computed by the ``opensmile``
  package's own binary and configs.
- ``librosa``: 20 MFCCs, the zero-crossing rate and 12 chroma bins, 33 per frame at 22,050 Hz
  with a hop of 512 samples (about 43 frames a second), the recipe of CH-SIMS's 33-d features.

Any container PyAV reads works (wav, flac, mp3, mp4, mkv, webm, ...): the first audio stream is
resampled to the extractor's rate and its channels averaged (FFmpeg's own stereo-to-mono mix
scales by 1/sqrt(2) instead, which would make every loudness depend on the channel count).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from msmix.data.errors import DataError


@dataclass(frozen=True)
class AudioExtractor:
    """A named frame-feature recipe: its width, sample rate and the function computing it."""

    name: str
    dim: int
    sample_rate: int
    frames: Callable[[np.ndarray, int], np.ndarray]
    """(samples,) float32 mono signal, rate -> (T, dim) float32."""


def decode_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """(samples,) float32 mono signal of the first audio stream at ``sample_rate``.

    Raises:
        DataError: the file cannot be decoded or holds no audio stream.
    """
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise DataError("no audio stream", path=str(path), expected="a file with sound")
            resampler = av.AudioResampler(format="fltp", rate=sample_rate)  # planar, channels kept
            pieces = []
            for frame in container.decode(container.streams.audio[0]):
                pieces.extend(f.to_ndarray().mean(axis=0) for f in resampler.resample(frame))
            pieces.extend(f.to_ndarray().mean(axis=0) for f in resampler.resample(None))
    except av.error.FFmpegError as error:
        raise DataError("cannot decode the audio", path=str(path), expected="an audio or video file", found=str(error)) from error
    return np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, np.float32)


def _egemaps(signal: np.ndarray, rate: int) -> np.ndarray:
    import opensmile

    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=opensmile.FeatureLevel.LowLevelDescriptors
    )
    return smile.process_signal(signal, rate).to_numpy(dtype=np.float32)


LIBROSA_HOP = 512


def _librosa(signal: np.ndarray, rate: int) -> np.ndarray:
    import librosa

    mfcc = librosa.feature.mfcc(y=signal, sr=rate, n_mfcc=20, hop_length=LIBROSA_HOP)
    zcr = librosa.feature.zero_crossing_rate(signal, hop_length=LIBROSA_HOP)
    chroma = librosa.feature.chroma_stft(y=signal, sr=rate, hop_length=LIBROSA_HOP)
    t = min(mfcc.shape[1], zcr.shape[1], chroma.shape[1])
    return np.concatenate([mfcc[:, :t], zcr[:, :t], chroma[:, :t]]).T.astype(np.float32)


AUDIO_EXTRACTORS: dict[str, AudioExtractor] = {
    "egemaps": AudioExtractor("egemaps", 25, 16_000, _egemaps),
    "librosa": AudioExtractor("librosa", 33, 22_050, _librosa),
}

MIN_SAMPLES = 2048
"""Shorter signals (about 0.1 s) have no complete analysis window: the clip counts as silent."""


def audio_extractor(name: str) -> AudioExtractor:
    """The extractor called ``name`` (a ValueError lists the known ones)."""
    try:
        return AUDIO_EXTRACTORS[name]
    except KeyError:
        raise ValueError(f"unknown audio extractor {name!r}; use one of {', '.join(AUDIO_EXTRACTORS)}") from None


def audio_frames(path: str | Path, extractor: AudioExtractor) -> np.ndarray:
    """(T, dim) float32 frame features of one clip; (0, dim) when it holds too little sound.

    Non-finite values (openSMILE's F0 on silence can be, MOSI's COVAREP features were) become 0.
    """
    signal = decode_audio(path, extractor.sample_rate)
    if signal.size < MIN_SAMPLES:
        return np.zeros((0, extractor.dim), np.float32)
    frames = extractor.frames(signal, extractor.sample_rate)
    if frames.ndim != 2 or frames.shape[1] != extractor.dim:
        raise AssertionError(f"{extractor.name} gave frames of shape {frames.shape}, expected (T, {extractor.dim})")
    return np.nan_to_num(frames, nan=0.0, posinf=0.0, neginf=0.0)
