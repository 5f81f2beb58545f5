"""Generated MMSA-format dicts with the real shapes and quirks of MOSI, MOSEI, CH-SIMS and MMSA-FET.

Small N, but the real padded lengths T and feature sizes D per modality, ``-inf`` in audio, NaN
in vision, ``"vid$_$clip"`` ids, float64 labels and lengths; written independently of
``msmix.data.toy`` so the reader is checked against arrays it did not make.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

SPLITS = ("train", "valid", "test")
MODALITIES = ("text", "audio", "vision")

# (padded lengths T, feature sizes D) per modality (text, audio, vision).
REAL_SHAPES: dict[tuple[str, str], tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    ("mosi", "aligned"): ((50, 50, 50), (768, 5, 20)),
    ("mosi", "unaligned"): ((50, 375, 500), (768, 5, 20)),
    ("mosei", "aligned"): ((50, 50, 50), (768, 74, 35)),
    ("mosei", "unaligned"): ((50, 500, 500), (768, 74, 35)),
    ("sims", "unaligned"): ((39, 400, 55), (768, 33, 709)),
    ("custom", "unaligned"): ((24, 60, 30), (768, 25, 49)),  # MMSA-FET output: odd sizes, float64
}
LABEL_RANGES = {"mosi": 3.0, "mosei": 3.0, "sims": 1.0, "custom": 1.0}
SIZES = (9, 6, 7)


def _labels(rng: np.random.Generator, n: int, bound: float) -> np.ndarray:
    """float64 labels on a 0.2 grid (scaled to ``bound``), including both ends and 0."""
    y = np.round(rng.uniform(-bound, bound, n) * 5 / bound) / 5 * bound
    y[:3] = (-bound, bound, 0.0)[:n]
    return y.astype(np.float64)


def build_mmsa(
    kind: str = "mosi",
    layout: str = "unaligned",
    *,
    seed: int = 0,
    padding: str = "right",
    sizes: tuple[int, int, int] = SIZES,
) -> dict:
    """An MMSA-format dict; with ``padding="left"`` the same values sit at the end of each sequence."""
    rng = np.random.default_rng(seed)
    seq_lens, dims = REAL_SHAPES[(kind, layout)]
    dtype = np.float64 if kind == "custom" else np.float32
    data: dict = {}
    for s, (split, n) in enumerate(zip(SPLITS, sizes)):
        d: dict = {}
        for m, t, dim in zip(MODALITIES, seq_lens, dims):
            values = rng.normal(0.0, 1.0, (n, t, dim)).astype(dtype)
            if layout == "unaligned" and m != "text":
                lengths = rng.integers(1, t + 1, n)
                lengths[0] = t  # one full sequence
                lengths[1] = max(1, t // 3)  # one short one
                valid = np.arange(t) < lengths[:, None]
                x = np.zeros_like(values)
                if padding == "right":
                    x[valid] = values[valid]
                else:
                    for i, k in enumerate(lengths):
                        x[i, t - k :] = values[i, :k]
                d[f"{m}_lengths"] = lengths.tolist() if split == "train" else lengths
            else:
                x = values
            if m == "audio":  # sample 0 is full, so frame 0 is valid on either side
                x[0, 0, 0] = -np.inf
                x[x > 2.5] = -np.inf
            if m == "vision":
                x[0, 0, dim - 1] = np.nan
                x[x < -2.5] = np.nan
            d[m] = x
        ids = [f"vid{s}{i // 4}$_${i % 4 + 1}" for i in range(n)]
        d["id"] = ids if split == "train" else np.array(ids, dtype=object)
        d["raw_text"] = [f"clip {i} of {split}" for i in range(n)]
        y = _labels(rng, n, LABEL_RANGES[kind])
        d["regression_labels"] = y
        d["classification_labels"] = np.sign(y) + 1
        d["annotations"] = np.array(["Negative", "Neutral", "Positive"])[(np.sign(y) + 1).astype(int)]
        if kind != "custom":
            d["text_bert"] = _tokens(rng, n, seq_lens[0])
        if kind == "sims":
            for part in ("T", "A", "V"):
                d[f"regression_labels_{part}"] = _labels(rng, n, 1.0)
        data[split] = d
    if kind == "custom":
        data["config"] = {"audio": {"tool": "opensmile", "args": {"feature_set": "eGeMAPS"}}, "video": None}
    return data


def _tokens(rng: np.random.Generator, n: int, steps: int) -> np.ndarray:
    """MMSA's ``text_bert`` layout as float64: ids (zero after each length), attention mask, segment ids."""
    lengths = rng.integers(2, steps + 1, n)
    mask = (np.arange(steps)[None, :] < lengths[:, None]).astype(np.float64)
    ids = rng.integers(1000, 30000, (n, steps)) * mask
    return np.stack([ids, mask, np.zeros_like(mask)], axis=1)


def write_pickle(path: Path, data: object, protocol: int = 4) -> Path:
    with path.open("wb") as f:
        pickle.dump(data, f, protocol=protocol)
    return path
