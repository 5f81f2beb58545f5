"""Backbones, each split into ``encode`` and ``fuse``: TFN and LMF so far (MulT, MISA, ALMT and GLoMo are planned)."""

from msmix.models import lmf as _lmf  # noqa: F401  (registers "lmf")
from msmix.models import tfn as _tfn  # noqa: F401  (registers "tfn")
from msmix.models.base import (
    BACKBONES,
    Backbone,
    Encoded,
    FuseOutput,
    available,
    backbone_class,
    create,
    register_backbone,
)

__all__ = ["BACKBONES", "Backbone", "Encoded", "FuseOutput", "available", "backbone_class", "create", "register_backbone"]
