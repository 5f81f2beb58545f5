"""Backbones: TFN, LMF, MulT, MISA, ALMT, GLoMo, each split into ``encode`` and ``fuse``."""

from msmix.models.base import Backbone, Encoded, FuseOutput, available, backbone_class, create, register_backbone

__all__ = ["Backbone", "Encoded", "FuseOutput", "available", "backbone_class", "create", "register_backbone"]
