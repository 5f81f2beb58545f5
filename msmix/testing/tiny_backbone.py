"""``TinyBackbone``: a backbone small enough that a test or an example trains it in milliseconds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from msmix import MODALITIES
from msmix.data.batch import Batch
from msmix.data.spec import DataSpec
from msmix.models.attention import masked_mean
from msmix.models.base import Backbone, Encoded, FuseOutput
from msmix.models.recipes import check_dropout, check_int

TINY_RECIPE: dict[str, Any] = {
    "max_epochs": 3, "patience": 2, "batch_size": 16, "eval_batch_size": 64, "lr": 1e-2, "loss": "l1",
}
"""TinyBackbone's training recipe: a few short epochs, so trainer tests stay fast."""


@dataclass(frozen=True)
class TinyConfig:
    """Settings of ``TinyBackbone``.

    Attributes:
        hidden: latent size of every modality.
        dropout: dropout before the head (active in training mode only).
        sequence: the modality whose latent stays a masked sequence.
        head_hidden: width of the head's hidden layer; 0 for a single Linear.
    """

    hidden: int = 8
    dropout: float = 0.0
    sequence: str = "audio"
    head_hidden: int = 0

    def __post_init__(self) -> None:
        check_int("TinyConfig", "hidden", self.hidden)
        check_dropout("TinyConfig", "dropout", self.dropout)
        check_int("TinyConfig", "head_hidden", self.head_hidden, low=0)
        if self.sequence not in MODALITIES:
            raise ValueError(f"TinyConfig.sequence must be one of {MODALITIES}, got {self.sequence!r}")


class TinyBackbone(Backbone):
    """One Linear per modality and a small head, with both latent forms mixers meet.

    Every modality is projected frame by frame to ``hidden`` features. The ``sequence`` modality
    keeps its time axis: a B x T x hidden latent (through tanh) with its (B, T) mask. The others are
    averaged over their valid frames: B x hidden latents. ``fuse`` averages the sequence latent over
    its valid frames, concatenates the three in ``MODALITIES`` order and applies dropout and the head:
    one Linear, or with ``head_hidden > 0`` a Linear, tanh, Linear stack. Settings: ``TinyConfig``.
    """

    config_class = TinyConfig

    def __init__(self, spec: DataSpec, config: TinyConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        self.spec = spec
        self.config = self.settings(spec, config, overrides)
        c = self.config
        self.sequence = c.sequence
        self.latent_dims = {m: c.hidden for m in MODALITIES}
        self.proj = nn.ModuleDict({m: nn.Linear(spec.dims[m], c.hidden) for m in MODALITIES})
        self.dropout = nn.Dropout(c.dropout)
        width = len(MODALITIES) * c.hidden
        if c.head_hidden > 0:
            self.head: nn.Module = nn.Sequential(nn.Linear(width, c.head_hidden), nn.Tanh(), nn.Linear(c.head_hidden, 1))
        else:
            self.head = nn.Linear(width, 1)

    def encode(self, batch: Batch) -> Encoded:
        latents: dict[str, Tensor] = {}
        for m in MODALITIES:
            x, mask = getattr(batch, m), batch.mask(m)
            if m == self.sequence:
                latents[m] = torch.tanh(self.proj[m](x))
            else:
                latents[m] = self.proj[m](masked_mean(x, mask))
        masks = {m: batch.mask(m) if m == self.sequence else None for m in MODALITIES}
        return Encoded(latents, masks)

    def fuse(self, latents: dict[str, Tensor], masks: dict[str, Tensor | None] | None = None) -> FuseOutput:
        pooled = {**latents, self.sequence: masked_mean(latents[self.sequence], (masks or {}).get(self.sequence))}
        h = torch.cat([pooled[m] for m in MODALITIES], dim=1)
        return FuseOutput(pred=self.head(self.dropout(h)))

    @classmethod
    def default_config(cls, kind: str) -> dict[str, Any]:
        return {"model": {"hidden": 8, "dropout": 0.0}, "train": dict(TINY_RECIPE)}
