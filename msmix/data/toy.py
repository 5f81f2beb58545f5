"""The embedded demo data set ``"toy"``: synthetic features in exactly the MMSA pickle format.

Nothing here is CMU-MOSI. A latent sentiment ``s`` per sample drives all three modalities along
a fixed direction per modality, text strongest, audio weaker, vision weakest, under per-sample
("speaker") and per-frame noise; ``|s|`` (intensity) drives a second direction. A share of samples
carries one conflicting modality, driven by ``-s`` (as sarcasm or a flat voice would be), which is
what MS-Mix's similarity-aware pair selection is meant to notice. By default every modality of
a sample carries the same intensity |s| up to a fixed per-modality strength, so SIG's per-modality
ratios have nothing of their own to exploit; ``expressiveness`` > 0 gives each sample and modality
its own gain on s (log-normal with that spread: a clip that says more with its voice than with its
words), the case SIG is built for. Labels imitate MOSI's: the mean
of five annotators' integer scores in [-3, 3] (multiples of 0.2). Sequences have random valid
lengths, zero-padded (text's are not stored: MMSA files carry only audio and vision lengths);
audio holds a few ``-inf`` and vision a few NaN values, as real files do.

The dict goes through the same reader as real files, so the demo exercises the real loader.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from msmix import MODALITIES
from msmix.data.dataset import SPLITS


@dataclass(frozen=True)
class ToySize:
    """Samples per split (train, valid, test) and padded lengths per modality (text, audio, vision)."""

    n: tuple[int, int, int]
    seq_lens: tuple[int, int, int]


TOY_SIZES: dict[str, ToySize] = {
    "small": ToySize(n=(400, 100, 200), seq_lens=(8, 20, 20)),  # trains in seconds on a CPU
    "mosi": ToySize(n=(1284, 229, 686), seq_lens=(50, 375, 500)),  # MOSI unaligned_50's shapes
}
TOY_DIMS: dict[str, int] = {"text": 768, "audio": 5, "vision": 20}  # MOSI's feature sizes

TOY_NAME = "toy (synthetic)"  # DataSpec.name of the demo set, however it was loaded
TEXT_PREFIX = "synthetic sample "  # every raw_text starts so; the reader marks such files synthetic
SIGNAL = {"text": 3.0, "audio": 0.45, "vision": 0.3}  # sentiment along each modality's direction
INTENSITY = {"text": 0.3, "audio": 0.5, "vision": 0.5}  # |sentiment| along a second direction
SENTIMENT_STD = 1.4
CONFLICT_SHARE = 0.15
ANNOTATORS = 5
ANNOTATOR_NOISE = 0.5
NONFINITE_RATE = {"audio": 0.01, "vision": 0.005}  # -inf in audio, NaN in vision (valid frames)


@dataclass
class ToyData:
    """A generated demo set: the MMSA dict plus the latent truth behind it (for tests and demos).

    Attributes:
        mmsa: the MMSA-format dict (``train`` / ``valid`` / ``test``).
        sentiment: per split, the latent sentiment ``s`` of each sample.
        conflict: per split, the index in ``MODALITIES`` of each sample's conflicting modality, or -1.
    """

    mmsa: dict
    sentiment: dict[str, np.ndarray]
    conflict: dict[str, np.ndarray]


def _unit(rng: np.random.Generator, dim: int) -> np.ndarray:
    v = rng.standard_normal(dim)
    return v / np.linalg.norm(v)


def _valid_mask(lengths: np.ndarray, max_len: int, padding: str) -> np.ndarray:
    steps = np.arange(max_len)
    if padding == "right":
        return steps < lengths[:, None]
    return steps >= (max_len - lengths)[:, None]


def _modality(
    rng: np.random.Generator, m: str, drive: np.ndarray, mask: np.ndarray, look: dict[str, np.ndarray]
) -> np.ndarray:
    """(n, T, D) float32 frames of one modality for the given per-sample drives; zeros off ``mask``."""
    dim = TOY_DIMS[m]
    intensity = np.abs(drive) - SENTIMENT_STD * np.sqrt(2 / np.pi)
    per_sample = (
        rng.standard_normal((len(drive), dim))  # "speaker" noise, shared by a sample's frames
        + SIGNAL[m] * drive[:, None] * look["direction"]
        + INTENSITY[m] * intensity[:, None] * look["intensity"]
    ).astype(np.float32)
    owner = np.nonzero(mask)[0]  # the sample of each valid frame
    # Per-frame noise: uniform with unit variance, several times cheaper to draw than Gaussian.
    frames = rng.random((owner.size, dim), dtype=np.float32)
    frames -= np.float32(0.5)
    frames *= np.float32(np.sqrt(12.0))
    frames += per_sample[owner]
    frames *= look["scale"].astype(np.float32)
    frames += look["offset"].astype(np.float32)
    x = np.zeros(mask.shape + (dim,), dtype=np.float32)
    x[mask] = frames
    return x


def _split(
    rng: np.random.Generator,
    name: str,
    n: int,
    seq_lens: tuple[int, int, int],
    padding: str,
    looks: dict,
    expressiveness: float = 0.0,
) -> tuple[dict, np.ndarray, np.ndarray]:
    s = np.clip(rng.normal(0.0, SENTIMENT_STD, n), -3, 3)
    scores = np.clip(np.rint(s[:, None] + rng.normal(0.0, ANNOTATOR_NOISE, (n, ANNOTATORS))), -3, 3)
    labels = np.round(scores.mean(axis=1), 6)  # float64, multiples of 1/ANNOTATORS
    conflict = np.where(rng.random(n) < CONFLICT_SHARE, rng.integers(0, len(MODALITIES), n), -1)
    # drawn only when asked for, so the default data stay the same numbers
    gains = np.exp(rng.normal(0.0, expressiveness, (len(MODALITIES), n))) if expressiveness > 0 else np.ones((len(MODALITIES), n))
    data: dict = {}
    lengths = {}
    for i, m in enumerate(MODALITIES):
        lengths[m] = rng.integers(max(1, seq_lens[i] // 3), seq_lens[i] + 1, n)
        mask = _valid_mask(lengths[m], seq_lens[i], padding)
        data[m] = _modality(rng, m, gains[i] * np.where(conflict == i, -s, s), mask, looks[m])
        if m in NONFINITE_RATE:
            frames = np.nonzero((rng.random(mask.shape) < NONFINITE_RATE[m]) & mask)
            if m == "audio":  # a log-energy feature of silence
                data[m][frames + (0,)] = -np.inf
            else:
                data[m][frames + (rng.integers(0, TOY_DIMS[m], len(frames[0])),)] = np.nan
    polarity = np.where(labels > 0, "positive", np.where(labels < 0, "negative", "neutral"))
    clips_per_video = 12
    data["id"] = [f"toy-{name}-{i // clips_per_video:03d}$_${i % clips_per_video + 1}" for i in range(n)]
    data["raw_text"] = [
        f"{TEXT_PREFIX}{i} ({p}" + (f"; {MODALITIES[c]} conflicts)" if c >= 0 else ")")
        for i, (p, c) in enumerate(zip(polarity, conflict))
    ]
    data["audio_lengths"] = lengths["audio"]
    data["vision_lengths"] = lengths["vision"]
    data["regression_labels"] = labels
    data["classification_labels"] = np.select([labels < 0, labels == 0], [0.0, 1.0], 2.0)
    data["annotations"] = [p.capitalize() for p in polarity]
    return data, s, conflict


def is_toy(raw_texts: list[str]) -> bool:
    """Whether these transcripts are the demo set's (so a written toy file still says synthetic)."""
    return bool(raw_texts) and all(t.startswith(TEXT_PREFIX) for t in raw_texts)


def generate_toy(
    seed: int = 0, size: str | ToySize = "small", padding: str = "right", expressiveness: float = 0.0
) -> ToyData:
    """Generate the demo set from ``seed``: the same seed always gives the same data.

    Args:
        seed: the random seed.
        size: ``"small"`` (400/100/200 samples, lengths 8/20/20), ``"mosi"`` (MOSI unaligned_50's
            1284/229/686 samples and lengths 50/375/500), or a ``ToySize``.
        padding: where padding frames go: ``"right"`` (after the valid frames, the default) or
            ``"left"``.
        expressiveness: spread (log scale) of a per-sample, per-modality gain on the sentiment
            drive; 0 (the default) gives every modality of a sample the same intensity.
    """
    if isinstance(size, str):
        if size not in TOY_SIZES:
            raise ValueError(f"toy size must be one of {sorted(TOY_SIZES)} or a ToySize, got {size!r}")
        size = TOY_SIZES[size]
    if padding not in ("right", "left"):
        raise ValueError(f"padding must be 'right' or 'left', got {padding!r}")
    if isinstance(expressiveness, bool) or not isinstance(expressiveness, (int, float)) or not 0 <= expressiveness <= 2:
        raise ValueError(f"expressiveness must be a number in [0, 2] (a log-normal spread), got {expressiveness!r}")
    rng = np.random.default_rng(seed)
    looks = {
        m: {
            "direction": _unit(rng, d),
            "intensity": _unit(rng, d),
            "scale": np.exp(rng.normal(0.0, 0.5, d)),
            "offset": rng.normal(0.0, 0.5, d),
        }
        for m, d in TOY_DIMS.items()
    }
    mmsa, sentiment, conflict = {}, {}, {}
    for name, n in zip(SPLITS, size.n):
        mmsa[name], sentiment[name], conflict[name] = _split(rng, name, n, size.seq_lens, padding, looks, expressiveness)
    return ToyData(mmsa, sentiment, conflict)


def toy_mmsa_dict(
    seed: int = 0, size: str | ToySize = "small", padding: str = "right", expressiveness: float = 0.0
) -> dict:
    """The demo set as an MMSA pickle dict (see ``generate_toy``)."""
    return generate_toy(seed, size, padding, expressiveness).mmsa


def write_toy_pickle(
    path: str | Path, seed: int = 0, size: str | ToySize = "small", padding: str = "right"
) -> Path:
    """Write the demo set as an MMSA-format ``.pkl`` file (e.g. a MOSI-shaped file for benchmarks)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        pickle.dump(toy_mmsa_dict(seed, size, padding), f, protocol=4)
    return path
