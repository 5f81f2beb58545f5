"""Backbones: TFN, LMF, MulT, MISA, ALMT, GLoMo, each split into ``encode`` and ``fuse``."""

from msmix.models import lmf as _lmf  # noqa: F401  (registers "lmf")
from msmix.models import tfn as _tfn  # noqa: F401  (registers "tfn")
from msmix.models.base import Backbone, Encoded, FuseOutput, available, backbone_class, create, register_backbone

__all__ = ["Backbone", "Encoded", "FuseOutput", "available", "backbone_class", "create", "register_backbone"]
