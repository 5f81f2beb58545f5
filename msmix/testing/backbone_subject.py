"""What the backbone contract checks: a Backbone class, the spec to build it for, and how to build it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from msmix.data.spec import DataSpec
from msmix.models import Backbone, available, backbone_class, create


@dataclass(frozen=True)
class BackboneSubject:
    """A backbone under check.

    Attributes:
        cls: its class.
        spec: the data set it is built for.
        registered_name: the name ``msmix.models.create`` builds it by; None for a class that is not
            registered (then it is built as ``cls(spec, **settings)``, as ``create`` would).
        settings: model settings over the defaults.
    """

    cls: type[Backbone]
    spec: DataSpec
    registered_name: str | None
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How failures name it."""
        return f"backbone {self.registered_name!r}" if self.registered_name else f"backbone class {self.cls.__name__}"

    def build(self, seed: int = 0) -> Backbone:
        """A fresh model, its weights drawn after ``torch.manual_seed(seed)``."""
        torch.manual_seed(seed)
        if self.registered_name is not None:
            return create(self.registered_name, self.spec, **self.settings)
        return self.cls(self.spec, **self.settings)


def registered_name_of(cls: type[Backbone]) -> str | None:
    """The name ``cls`` is registered under, or None (a subclass inherits ``name`` but is not registered)."""
    name = getattr(cls, "name", "")
    return name if name and name in available() and backbone_class(name) is cls else None


def backbone_subject(
    backbone: str | type[Backbone], spec: DataSpec, settings: Mapping[str, Any] | None = None
) -> BackboneSubject:
    """Resolve a registered name (a KeyError lists the known ones) or a Backbone subclass."""
    if isinstance(backbone, str):
        return BackboneSubject(backbone_class(backbone), spec, backbone, dict(settings or {}))
    if not (isinstance(backbone, type) and issubclass(backbone, Backbone)):
        raise TypeError(f"expected a backbone name or a Backbone subclass, got {backbone!r}")
    return BackboneSubject(backbone, spec, registered_name_of(backbone), dict(settings or {}))
