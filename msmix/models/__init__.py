"""Backbones, each split into ``encode`` and ``fuse``: TFN, LMF, MulT, MISA, ALMT and GLoMo.

Every module of this package is imported here, so a new backbone is one file whose class carries
``@register_backbone("name")`` (``msmix.testing.check_backbone("name")`` checks its contract).
"""

import importlib as _importlib
import pkgutil as _pkgutil

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

for _module in _pkgutil.iter_modules(__path__):  # registers every backbone defined in this package
    _importlib.import_module(f"{__name__}.{_module.name}")
