"""The Backbone protocol and the registry behind ``msmix.models.create``.

A backbone is split in two so that any Mixer can work between the halves:
``encode(batch) -> Encoded`` (per-modality latents and their masks) and
``fuse(latents, masks) -> FuseOutput`` (predictions and the architecture's own auxiliary losses).
``forward(batch)`` is ``fuse(encode(batch))``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from msmix.data.batch import Batch
from msmix.data.spec import DataSpec


@dataclass
class Encoded:
    """Per-modality latents (B x d or B x T x d) and, for sequences, their (B, T) masks."""

    latents: dict[str, Tensor]
    masks: dict[str, Tensor | None] = field(default_factory=dict)


@dataclass
class FuseOutput:
    """Predictions (B, 1) and named auxiliary losses (e.g. MISA's diff / CMD / reconstruction)."""

    pred: Tensor
    aux_losses: dict[str, Tensor] = field(default_factory=dict)


class Backbone(nn.Module):
    """Base class of every backbone.

    Subclasses set ``latent_dims`` (feature size per modality of what ``encode`` returns),
    ``uses_sequences`` (whether ``encode`` reads time steps, for attributions) and implement
    ``encode`` and ``fuse``. ``default_config(kind)`` returns the published per-data-set
    hyper-parameters (model and training recipe) that ``create`` starts from.
    """

    name: ClassVar[str] = ""
    latent_dims: dict[str, int]
    needs_time_average: ClassVar[bool] = False

    def encode(self, batch: Batch) -> Encoded:  # pragma: no cover - interface
        raise NotImplementedError

    def fuse(self, latents: dict[str, Tensor], masks: dict[str, Tensor | None] | None = None) -> FuseOutput:  # pragma: no cover
        raise NotImplementedError

    def forward(self, batch: Batch) -> FuseOutput:
        enc = self.encode(batch)
        return self.fuse(enc.latents, enc.masks)

    @classmethod
    def default_config(cls, kind: str) -> dict[str, Any]:
        return {}


_REGISTRY: dict[str, type[Backbone]] = {}


def register_backbone(name: str) -> Callable[[type[Backbone]], type[Backbone]]:
    """Class decorator: make a Backbone buildable as ``msmix.models.create(name, spec)``."""

    def add(cls: type[Backbone]) -> type[Backbone]:
        if name in _REGISTRY:
            raise ValueError(f"backbone {name!r} is registered twice")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return add


def available() -> list[str]:
    return sorted(_REGISTRY)


def backbone_class(name: str) -> type[Backbone]:
    if name not in _REGISTRY:
        raise KeyError(f"unknown backbone {name!r}; available: {', '.join(available())}")
    return _REGISTRY[name]


def create(name: str, spec: DataSpec, **config: Any) -> Backbone:
    """Build a backbone for a data set; ``config`` overrides the published defaults."""
    cls = backbone_class(name)
    model_keys = cls.default_config(spec.kind).get("model", {})
    unknown = set(config) - set(model_keys)
    if unknown:
        raise TypeError(f"{name}: unknown settings {sorted(unknown)}; known: {sorted(model_keys)}")
    return cls(spec, **{**model_keys, **config})
