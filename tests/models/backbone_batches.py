"""Small hand-built specs and batches for backbone tests (toy shapes, random lengths)."""

from __future__ import annotations

import torch
from torch import Tensor

from msmix.data import Batch, DataSpec
from msmix.data.batch import lengths_to_mask

DIMS = {"text": 768, "audio": 5, "vision": 20}
SEQ_LENS = {"text": 8, "audio": 20, "vision": 20}


def toy_spec(kind: str = "custom", dims: dict[str, int] | None = None, label_range: float = 3.0) -> DataSpec:
    """A DataSpec with MOSI's feature sizes (or ``dims``) and short sequences."""
    dims = dict(DIMS if dims is None else dims)
    return DataSpec(kind=kind, dims=dims, seq_lens=dict(SEQ_LENS), label_range=label_range, name="test")


def toy_batch(
    b: int,
    seed: int = 0,
    spec: DataSpec | None = None,
    padding: str = "right",
    with_text_lengths: bool = False,
    pad_value: float = 0.0,
) -> Batch:
    """Random features with random lengths (sample 0 full, the last one a single frame).

    Padding frames hold ``pad_value`` so tests can check that they are ignored.
    """
    spec = spec or toy_spec()
    g = torch.Generator().manual_seed(seed)
    features: dict[str, Tensor] = {}
    lengths: dict[str, Tensor] = {}
    for m, t in SEQ_LENS.items():
        x = torch.randn(b, t, spec.dims[m], generator=g)
        n = torch.randint(1, t + 1, (b,), generator=g)
        n[0], n[-1] = t, 1
        valid = lengths_to_mask(n, t, padding)
        features[m] = torch.where(valid.unsqueeze(-1), x, torch.full_like(x, pad_value))
        if m != "text" or with_text_lengths:
            lengths[m] = n
    labels = torch.rand(b, generator=g) * 6 - 3
    return Batch(**features, labels=labels, lengths=lengths, ids=[f"s{i}" for i in range(b)], padding=padding)


def random_latents(b: int, dims: dict[str, int], seed: int = 0, scale: float = 1.0) -> dict[str, Tensor]:
    """(b, d) latents per modality, non-negative like the ReLU outputs they stand for."""
    g = torch.Generator().manual_seed(seed)
    return {m: torch.rand(b, d, generator=g) * scale for m, d in dims.items()}
