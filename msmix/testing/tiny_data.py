"""``tiny_dataset``: a small synthetic, deterministic Dataset for tests and examples.

Each sample's label drives every modality (so a model can learn it); labels have one decimal and
every seventh is exactly 0 (so the neutral class of MOSI's metrics is never empty). Text, and the
``sequence`` modality, are sequences of ``SEQ_LEN`` frames; the ``sequence`` modality has random
valid lengths (2 to ``SEQ_LEN``, right padding, zero-padded); the other modalities are single frames.
"""

from __future__ import annotations

import torch

from msmix import MODALITIES
from msmix.data.dataset import Dataset, Split
from msmix.data.spec import DataSpec

TINY_DIMS: dict[str, int] = {"text": 6, "audio": 3, "vision": 4}
SEQ_LEN = 6
TINY_NAME = "tiny (synthetic)"


def tiny_spec(sequence: str = "audio") -> DataSpec:
    """The DataSpec of ``tiny_dataset(sequence=...)``: MOSI-kind, labels in [-3, 3], synthetic."""
    if sequence not in MODALITIES:
        raise ValueError(f"sequence must be one of {MODALITIES}, got {sequence!r}")
    seq_lens = {m: SEQ_LEN if m in ("text", sequence) else 1 for m in MODALITIES}
    return DataSpec(kind="mosi", dims=dict(TINY_DIMS), seq_lens=seq_lens, label_range=3.0, name=TINY_NAME, synthetic=True)


def tiny_dataset(n: int = 64, seed: int = 0, sequence: str = "audio") -> Dataset:
    """``n`` training samples, ``n // 2`` validation and ``n // 2`` test samples (at least 2 each).

    The same arguments give the same tensors. Ids group three clips per video (``train0$_$2``);
    raw texts say ``good`` or ``bad`` after the label's sign.
    """
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    spec = tiny_spec(sequence)
    gen = torch.Generator().manual_seed(seed)
    sizes = {"train": n, "valid": max(2, n // 2), "test": max(2, n // 2)}
    splits = {name: tiny_split(name, size, spec, sequence, gen) for name, size in sizes.items()}
    return Dataset(**splits, spec=spec, source="tiny")


def tiny_split(name: str, n: int, spec: DataSpec, sequence: str, gen: torch.Generator) -> Split:
    """One split of ``tiny_dataset``, drawn from ``gen``."""
    labels = (torch.rand(n, generator=gen) * 6 - 3).round(decimals=1)
    labels[::7] = 0.0
    sentiment = (labels / 3).view(n, 1, 1)
    feats = {
        m: torch.randn(n, spec.seq_lens[m], spec.dims[m], generator=gen) + sentiment * (i + 1)
        for i, m in enumerate(MODALITIES)
    }
    t = spec.seq_lens[sequence]
    lengths = torch.randint(min(2, t), t + 1, (n,), generator=gen)
    valid = torch.arange(t).unsqueeze(0) < lengths.unsqueeze(1)
    feats[sequence] = feats[sequence] * valid.unsqueeze(-1)
    return Split(
        name=name,
        **feats,
        labels=labels,
        ids=[f"{name}{i // 3}$_${i % 3}" for i in range(n)],
        raw_text=[f"{name} sample {i} says {'good' if y > 0 else 'bad'}" for i, y in enumerate(labels.tolist())],
        lengths={sequence: lengths},
    )
