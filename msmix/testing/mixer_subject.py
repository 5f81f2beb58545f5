"""What the mixer contract checks: a Mixer class, the latent sizes to build it for, and how to build it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from msmix.mixing import Mixer, available, create


@dataclass(frozen=True)
class MixerSubject:
    """A mixer under check.

    Attributes:
        cls: its class.
        dims: latent feature size per modality.
        registered_name: the name ``msmix.mixing.create`` builds it by; None for a class that is not
            registered (then it is built as ``cls(dims=dims)``).
    """

    cls: type[Mixer]
    dims: dict[str, int]
    registered_name: str | None

    @property
    def label(self) -> str:
        """How failures name it."""
        return f"mixer {self.registered_name!r}" if self.registered_name else f"mixer class {self.cls.__name__}"

    def build(self, seed: int = 0, **settings: Any) -> Mixer:
        """A fresh mixer with its default settings (or ``settings``), parameters drawn after
        ``torch.manual_seed(seed)``."""
        torch.manual_seed(seed)
        if self.registered_name is not None:
            return create(self.registered_name, dict(self.dims), **settings)
        return self.cls(dims=dict(self.dims), **settings)


def mixer_subject(mixer: str | type[Mixer], dims: dict[str, int]) -> MixerSubject:
    """Resolve a registered name (a KeyError lists the known ones) or a Mixer subclass."""
    if isinstance(mixer, str):
        return MixerSubject(type(create(mixer, dict(dims))), dict(dims), mixer)
    if not (isinstance(mixer, type) and issubclass(mixer, Mixer)):
        raise TypeError(f"expected a mixer name or a Mixer subclass, got {mixer!r}")
    return MixerSubject(mixer, dict(dims), registered_name_of(mixer, dims))


def registered_name_of(cls: type[Mixer], dims: dict[str, int]) -> str | None:
    """The name ``cls`` is registered under, or None (a subclass inherits ``name`` but is not registered)."""
    name = getattr(cls, "name", "")
    return name if name and name in available() and type(create(name, dict(dims))) is cls else None
