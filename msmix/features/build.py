"""``build_features``: an MMSA-format feature pickle from a ``label.csv`` and optional media.

Clips are processed in chunks whose results are kept in ``<out>.parts/`` until the pickle is
written, so a run that is stopped (or crashes on one bad file) goes on where it stopped when run
again with the same settings. A modality without a source (no media folder, no OpenFace CSVs,
or no file for a clip) is marked missing, never filled in: its length is 0, so every mask reads it
as padding only.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from msmix.data.dataset import SPLITS
from msmix.data.label_csv import read_label_csv
from msmix.features.audio import AudioExtractor, audio_extractor, audio_frames
from msmix.features.frames import pad_frames, split_ragged
from msmix.features.media import AUDIO_SUFFIXES, OPENFACE_SUFFIXES, MediaIndex
from msmix.features.text import MMSA_TEXT_LENGTH, TextEncoder
from msmix.features.vision import VISION_DIM, openface_frames
from msmix.train.checkpoint import atomic_write


@dataclass(frozen=True)
class FeatureSettings:
    """How features are extracted.

    Attributes:
        text_encoder: a local transformers folder or cached name; None: all-MiniLM-L6-v2.
        text_length: tokens per transcript, padded and cut (MMSA: 50).
        audio: the audio extractor, ``egemaps`` (25-d) or ``librosa`` (33-d).
        max_frames: longer audio or vision sequences keep this many evenly spaced frames.
        chunk: clips per saved piece of work (what a resumed run does not redo).
    """

    text_encoder: str | None = None
    text_length: int = MMSA_TEXT_LENGTH
    audio: str = "egemaps"
    max_frames: int = 500
    chunk: int = 128

    def __post_init__(self) -> None:
        audio_extractor(self.audio)
        for name in ("text_length", "max_frames", "chunk"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


@dataclass
class FeatureReport:
    """What was written: the file, clip counts per modality and the feature widths."""

    path: Path
    clips: int
    with_audio: int
    with_vision: int
    dims: dict[str, int]
    thinned: dict[str, int] = field(default_factory=dict)
    resumed_chunks: int = 0

    def summary(self) -> str:
        """A few lines for the command line."""
        lines = [
            f"wrote {self.path}: {self.clips} clips; text {self.dims['text']}-d, audio {self.dims['audio']}-d, vision {self.dims['vision']}-d",
            f"  audio for {self.with_audio} of {self.clips} clips, vision for {self.with_vision} of {self.clips}"
            + (" (the rest are marked missing: length 0)" if min(self.with_audio, self.with_vision) < self.clips else ""),
        ]
        for m, n in self.thinned.items():
            if n:
                lines.append(f"  {n} {m} sequences were longer than max_frames and keep evenly spaced frames")
        if self.resumed_chunks:
            lines.append(f"  {self.resumed_chunks} chunks were taken from an earlier, stopped run")
        return "\n".join(lines)


def build_features(
    label_csv: str | Path,
    out: str | Path,
    media: Sequence[str | Path] = (),
    openface: Sequence[str | Path] = (),
    settings: FeatureSettings | None = None,
    progress: bool = True,
) -> FeatureReport:
    """Write the MMSA-format pickle ``out`` for every clip of ``label_csv`` and return a report.

    Args:
        label_csv: MMSA's ``label.csv`` (either layout, see ``msmix.data.read_label_csv``).
        out: the ``.pkl`` to write (written whole at the end, never half).
        media: folders with each clip's audio or video, for the audio features.
        openface: folders with each clip's OpenFace CSV, for the vision features.
        settings: extraction settings (defaults: MiniLM text, eGeMAPS audio).
        progress: show a progress bar over the clips.
    """
    settings = settings or FeatureSettings()
    out = Path(out)
    table = read_label_csv(label_csv)
    audio_index = MediaIndex(media) if media else None
    vision_index = MediaIndex(openface) if openface else None
    parts = _Parts(out, _fingerprint(label_csv, settings, audio_index, vision_index))
    encoder = TextEncoder.load(settings.text_encoder)
    extractor = audio_extractor(settings.audio)
    chunks = [table.iloc[i : i + settings.chunk] for i in range(0, len(table), settings.chunk)]
    resumed = sum(parts.has(i) for i in range(len(chunks)))
    from tqdm.auto import tqdm

    with tqdm(total=len(table), desc="features", unit="clip", disable=not progress) as bar:
        for i, rows in enumerate(chunks):
            if parts.has(i):
                bar.update(len(rows))
            else:
                parts.save(i, _chunk_features(rows, encoder, settings, extractor, audio_index, vision_index, bar.update))
    data, report = _assemble(table, [parts.load(i) for i in range(len(chunks))], encoder, settings, extractor.dim)
    data["config"] = _config(settings, encoder, label_csv, audio_index is not None, vision_index is not None)
    atomic_write(out, lambda f: pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL))  # whole or not at all
    parts.remove()
    report.path, report.resumed_chunks = out, resumed
    return report


def _chunk_features(
    rows: pd.DataFrame,
    encoder: TextEncoder,
    settings: FeatureSettings,
    extractor: AudioExtractor,
    audio_index: MediaIndex | None,
    vision_index: MediaIndex | None,
    advance: Callable[[int], object],
) -> dict[str, np.ndarray]:
    """One chunk's arrays: text for all its clips at once, then each clip's media (``advance(1)``
    after each, so the bar moves with the slow part)."""
    tokens = encoder.tokens(rows["text"].tolist(), settings.text_length)
    piece = {"text": encoder.states(tokens), "text_bert": tokens}
    sources = {
        "audio": (audio_index, AUDIO_SUFFIXES, lambda p: audio_frames(p, extractor), extractor.dim),
        "vision": (vision_index, OPENFACE_SUFFIXES, openface_frames, VISION_DIM),
    }
    clips: dict[str, list[np.ndarray]] = {name: [] for name in sources}
    for video_id, clip_id in zip(rows["video_id"], rows["clip_id"]):
        for name, (index, suffixes, read, dim) in sources.items():
            path = index.find(video_id, clip_id, suffixes) if index is not None else None
            clips[name].append(read(path) if path is not None else np.zeros((0, dim), np.float32))
        advance(1)
    for name, (_, _, _, dim) in sources.items():
        piece[name] = np.concatenate(clips[name]) if clips[name] else np.zeros((0, dim), np.float32)
        piece[f"{name}_lengths"] = np.array([len(c) for c in clips[name]], dtype=np.int64)
    return piece


def _assemble(
    table: pd.DataFrame, pieces: list[dict[str, np.ndarray]], encoder: TextEncoder, settings: FeatureSettings, audio_dim: int
) -> tuple[dict, FeatureReport]:
    joined = {key: np.concatenate([p[key] for p in pieces]) for key in ("text", "text_bert", "audio_lengths", "vision_lengths")}
    padded, thinned = {}, {}
    for name, dim in (("audio", audio_dim), ("vision", VISION_DIM)):
        clips = [c for p in pieces for c in split_ragged(p[name], p[f"{name}_lengths"])]
        padded[name], padded[f"{name}_lengths"], thinned[name] = pad_frames(clips, dim, settings.max_frames)
    data = {}
    for split in SPLITS:
        rows = np.flatnonzero((table["split"] == split).to_numpy())
        data[split] = {
            "id": table["id"].to_numpy()[rows].astype(object),
            "raw_text": table["text"].to_numpy()[rows].astype(object),
            "text": joined["text"][rows],
            "text_bert": joined["text_bert"][rows],
            "audio": padded["audio"][rows],
            "vision": padded["vision"][rows],
            "audio_lengths": padded["audio_lengths"][rows],
            "vision_lengths": padded["vision_lengths"][rows],
            "regression_labels": table["label"].to_numpy(dtype=np.float32)[rows],
        }
    report = FeatureReport(
        path=Path(), clips=len(table),
        with_audio=int((padded["audio_lengths"] > 0).sum()), with_vision=int((padded["vision_lengths"] > 0).sum()),
        dims={"text": encoder.dim, "audio": audio_dim, "vision": VISION_DIM}, thinned=thinned,
    )
    return data, report


def _config(settings: FeatureSettings, encoder: TextEncoder, label_csv: str | Path, audio: bool, vision: bool) -> dict:
    """What made the file, in plain types (MMSA-FET files carry a ``config`` too)."""
    return {
        "made_by": "msmix features",
        "label_csv": Path(label_csv).name,
        "text_encoder": Path(encoder.source).name,
        "text_length": settings.text_length,
        "audio": settings.audio if audio else "missing",
        "vision": "openface_aus" if vision else "missing",
        "max_frames": settings.max_frames,
    }


def _fingerprint(label_csv: str | Path, settings: FeatureSettings, audio: MediaIndex | None, vision: MediaIndex | None) -> str:
    """Everything that changes the output: the label file's bytes, the settings, the media files."""
    digest = hashlib.sha256(Path(label_csv).read_bytes())
    digest.update(json.dumps(asdict(settings), sort_keys=True).encode())
    for index in (audio, vision):
        digest.update(json.dumps(sorted(index.files) if index else None).encode())
    return digest.hexdigest()


class _Parts:
    """Finished chunks kept beside the output until it is written; other settings' chunks are dropped."""

    def __init__(self, out: Path, fingerprint: str) -> None:
        self.folder = out.with_name(out.name + ".parts")
        stamp = self.folder / "fingerprint"
        if self.folder.exists() and (not stamp.exists() or stamp.read_text() != fingerprint):
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp.write_text(fingerprint)

    def _path(self, i: int) -> Path:
        return self.folder / f"chunk-{i:05d}.npz"

    def has(self, i: int) -> bool:
        return self._path(i).exists()

    def save(self, i: int, piece: dict[str, np.ndarray]) -> None:
        atomic_write(self._path(i), lambda f: np.savez(f, **piece))

    def load(self, i: int) -> dict[str, np.ndarray]:
        with np.load(self._path(i), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

