"""The spec and input batches the backbone contract runs on: MOSI's feature sizes, short sequences,
random valid lengths."""

from __future__ import annotations

import torch
from torch import Tensor

from msmix.data.batch import Batch, lengths_to_mask
from msmix.data.spec import DataSpec
from msmix.testing.tiny_bert import TINY_BERT_VOCAB

BACKBONE_DIMS: dict[str, int] = {"text": 768, "audio": 5, "vision": 20}
BACKBONE_SEQ_LENS: dict[str, int] = {"text": 8, "audio": 20, "vision": 20}


def backbone_spec(kind: str = "custom", dims: dict[str, int] | None = None, label_range: float = 3.0) -> DataSpec:
    """A DataSpec with MOSI's feature sizes (or ``dims``) and short sequences."""
    dims = dict(BACKBONE_DIMS if dims is None else dims)
    return DataSpec(kind=kind, dims=dims, seq_lens=dict(BACKBONE_SEQ_LENS), label_range=label_range, name="test")


def backbone_batch(
    b: int,
    seed: int = 0,
    spec: DataSpec | None = None,
    padding: str = "right",
    with_text_lengths: bool = False,
    pad_value: float = 0.0,
    with_text_bert: bool = False,
) -> Batch:
    """Random features of ``spec``'s shapes with random lengths (sample 0 full, the last a single frame).

    Audio and vision carry lengths, text only with ``with_text_lengths``. Padding frames hold
    ``pad_value``, so a check can see whether they are ignored. Labels lie in [-3, 3].
    ``with_text_bert`` adds (B, 3, T) ``text_bert`` tokens: random ids below ``TINY_BERT_VOCAB``
    (a leading 1 as [CLS]), the attention mask of the text features' valid frames, zero segment ids.
    """
    spec = spec or backbone_spec()
    g = torch.Generator().manual_seed(seed)
    features: dict[str, Tensor] = {}
    lengths: dict[str, Tensor] = {}
    counts: dict[str, Tensor] = {}
    for m, t in spec.seq_lens.items():
        x = torch.randn(b, t, spec.dims[m], generator=g)
        n = torch.randint(1, t + 1, (b,), generator=g)
        n[0], n[-1] = t, 1
        valid = lengths_to_mask(n, t, padding)
        features[m] = torch.where(valid.unsqueeze(-1), x, torch.full_like(x, pad_value))
        counts[m] = n
        if m != "text" or with_text_lengths:
            lengths[m] = n
    labels = torch.rand(b, generator=g) * 6 - 3
    text_bert = None
    if with_text_bert:
        t = spec.seq_lens["text"]
        mask = lengths_to_mask(counts["text"], t, padding).long()
        ids = torch.randint(2, TINY_BERT_VOCAB, (b, t), generator=g)
        ids[:, 0] = 1
        text_bert = torch.stack([ids * mask, mask, torch.zeros_like(mask)], dim=1)
    return Batch(
        **features, labels=labels, lengths=lengths, ids=[f"s{i}" for i in range(b)], padding=padding, text_bert=text_bert
    )
