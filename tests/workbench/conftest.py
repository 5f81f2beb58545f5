"""Fixtures for the workbench tests: a small synthetic Dataset and a tiny backbone.

They stand in for the demo data and a real backbone so every panel can be built and driven in
well under a second, without a browser.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from msmix import MODALITIES
from msmix.data.batch import Batch
from msmix.data.dataset import Dataset, Split
from msmix.data.spec import DataSpec
from msmix.models.base import Backbone, Encoded, FuseOutput

DIMS = {"text": 5, "audio": 3, "vision": 4}
LENS = {"text": 6, "audio": 1, "vision": 1}
HIDDEN = 4


def make_split(name: str, n: int, seed: int) -> Split:
    gen = torch.Generator().manual_seed(seed)
    labels = (torch.rand(n, generator=gen) * 6 - 3).round(decimals=1)
    labels[::7] = 0.0
    sentiment = labels / 3
    feats = {
        m: torch.randn(n, LENS[m], DIMS[m], generator=gen) + sentiment.view(n, 1, 1) * (i + 1)
        for i, m in enumerate(MODALITIES)
    }
    lengths = torch.randint(2, LENS["text"] + 1, (n,), generator=gen)
    valid = torch.arange(LENS["text"]).unsqueeze(0) < lengths.unsqueeze(1)
    feats["text"] = feats["text"] * valid.unsqueeze(-1)
    return Split(
        name=name, labels=labels, ids=[f"v{i // 3}$_${i % 3}" for i in range(n)],
        raw_text=[f"{name} sample {i} says {'good' if y > 0 else 'bad'}" for i, y in enumerate(labels.tolist())],
        lengths={"text": lengths}, **feats,
    )


def make_dataset() -> Dataset:
    spec = DataSpec(kind="mosi", dims=dict(DIMS), seq_lens=dict(LENS), label_range=3.0,
                    name="tiny (synthetic)", synthetic=True)
    return Dataset(train=make_split("train", 40, 1), valid=make_split("valid", 16, 2),
                   test=make_split("test", 20, 3), spec=spec, source="tests")


class TinyBackbone(Backbone):
    """Linear per-frame encoders; text stays a masked sequence latent, audio and vision are vectors."""

    def __init__(self, spec: DataSpec | None = None) -> None:
        super().__init__()
        self.latent_dims = {m: HIDDEN for m in MODALITIES}
        self.encoders = nn.ModuleDict({m: nn.Linear(DIMS[m], HIDDEN) for m in MODALITIES})
        self.head = nn.Sequential(nn.Linear(3 * HIDDEN, 8), nn.Tanh(), nn.Linear(8, 1))

    def encode(self, batch: Batch) -> Encoded:
        text = self.encoders["text"](batch.text)
        latents = {"text": text, **{m: self.encoders[m](getattr(batch, m)).mean(dim=1) for m in ("audio", "vision")}}
        return Encoded(latents, {"text": batch.mask("text")})

    def fuse(self, latents: dict[str, Tensor], masks: dict[str, Tensor | None] | None = None) -> FuseOutput:
        mask = (masks or {}).get("text")
        text = latents["text"]
        weights = torch.ones(text.shape[:2], dtype=text.dtype) if mask is None else mask.to(text.dtype)
        pooled = (text * weights.unsqueeze(-1)).sum(1) / weights.sum(1, keepdim=True).clamp_min(1.0)
        return FuseOutput(self.head(torch.cat([pooled, latents["audio"], latents["vision"]], dim=-1)))


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    return make_dataset()


@pytest.fixture
def backbone() -> TinyBackbone:
    torch.manual_seed(0)
    return TinyBackbone()
