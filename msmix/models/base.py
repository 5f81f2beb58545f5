"""The Backbone protocol and the registry behind ``msmix.models.create``.

A backbone is split in two so that any Mixer can work between the halves:
``encode(batch) -> Encoded`` (per-modality latents and their masks) and
``fuse(latents, masks) -> FuseOutput`` (predictions and the architecture's own auxiliary losses).
``forward(batch)`` is ``fuse(encode(batch))``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any, ClassVar

from torch import Tensor, nn

from msmix.data.batch import Batch
from msmix.data.spec import DataSpec
from msmix.registry import Registry
from msmix.settings import settings_from


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

    Subclasses set ``config_class`` (the dataclass of their settings), ``latent_dims`` (feature
    size per modality of what ``encode`` returns) and ``needs_time_average`` (whether they read
    audio and vision averaged over time, as TFN and LMF do), implement ``encode`` and ``fuse``, and
    take ``(spec, config=None, **overrides)``: a settings dataclass from ``make_config``, or
    keyword overrides of the published ones (``settings`` turns either into ``self.config``).
    ``default_config(kind)`` returns the published per-data-set hyper-parameters (model and
    training recipe). Adding a backbone is one file with such a class and ``@register_backbone``.
    """

    name: ClassVar[str] = ""
    config_class: ClassVar[type]
    latent_dims: dict[str, int]
    needs_time_average: ClassVar[bool] = False
    stackable: ClassVar[bool] = True
    """Whether ``torch.func.vmap`` can run it, so seeds can train stacked (``msmix.train.stacked``)."""

    def encode(self, batch: Batch) -> Encoded:  # pragma: no cover - interface
        raise NotImplementedError

    def fuse(self, latents: dict[str, Tensor], masks: dict[str, Tensor | None] | None = None) -> FuseOutput:  # pragma: no cover
        raise NotImplementedError

    def forward(self, batch: Batch) -> FuseOutput:
        enc = self.encode(batch)
        return self.fuse(enc.latents, enc.masks)

    def extra_repr(self) -> str:
        """The settings, ``name=value`` each, so ``print(model)`` shows what it was built with."""
        config = getattr(self, "config", None)
        if not is_dataclass(config):
            return ""
        return ", ".join(f"{k}={v}" for k, v in asdict(config).items())

    @property
    def masks_padding(self) -> bool:
        """Whether the padding frames of audio and vision (beyond their lengths) leave every output
        unchanged. True unless a setting reproduces a reference that reads them."""
        return True

    @classmethod
    def default_config(cls, kind: str) -> dict[str, Any]:
        """The published ``{"model": ..., "train": ...}`` settings for data set ``kind``."""
        return {}

    @classmethod
    def make_config(cls, kind: str, overrides: Mapping[str, Any] | None = None) -> Any:
        """The settings dataclass: the published model settings for ``kind``, then ``overrides``
        (unknown names are refused with the known ones)."""
        defaults = cls.default_config(kind).get("model", {})
        return settings_from(cls.config_class, cls.name or cls.__name__, overrides or {}, defaults=defaults)

    @classmethod
    def settings(cls, spec: DataSpec, config: Any, overrides: Mapping[str, Any]) -> Any:
        """What a constructor keeps as ``self.config``: ``config`` as given, or ``make_config`` of the overrides."""
        if config is None:
            return cls.make_config(spec.kind, overrides)
        if overrides:
            raise TypeError(f"{cls.name or cls.__name__}: give a config or keyword settings, not both")
        return config


BACKBONES: Registry[type[Backbone]] = Registry("backbone")
register_backbone = BACKBONES.register
"""Class decorator: make a Backbone buildable as ``msmix.models.create(name, spec)``."""


def available() -> list[str]:
    """Names accepted by ``create``."""
    return BACKBONES.available()


def backbone_class(name: str) -> type[Backbone]:
    """The Backbone class registered as ``name`` (a KeyError lists the known names)."""
    return BACKBONES.get(name)


def create(name: str, spec: DataSpec, config: Any = None, **overrides: Any) -> Backbone:
    """Build a backbone for a data set from its settings dataclass, or from overrides of the
    published settings (``msmix.models.create("lmf", ds.spec, rank=4)``)."""
    return backbone_class(name)(spec, config=config, **overrides)
