"""The Mixer protocol, MixResult, and the registry behind ``msmix.mixing.create``.

A Mixer sits between a backbone's ``encode`` and ``fuse`` (``point = "latent"``) or before
``encode`` on the raw inputs (``point = "input"``). It turns a batch of B samples into k new ones.
The general form of its output is a k x B weight matrix per modality and one for the labels:
mixed sample r of modality m is ``sum_i weights[m][r, i] * z_i``. Pairwise mixers also expose the
pair view (``index_a``, ``index_b``, ``ratios``); MS-Mix adds ``similarity`` and ``intensities``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from msmix.registry import Registry
from msmix.settings import settings_from

Latents = dict[str, Tensor]
Masks = dict[str, Tensor | None]


@dataclass
class MixResult:
    """What one call of a Mixer produced.

    Attributes:
        weights: per modality and ``"label"``, a (k, B) matrix of mixing weights (rows sum to 1).
        mixed: per modality, the k new samples (k x d or k x T x d).
        labels: (k,) mixed labels.
        aux_loss: scalar auxiliary loss (MS-Mix's SAL; 0 for mixers without one).
        masks: per modality, (k, T) validity masks of mixed sequences (valid where either parent is).
        index_a, index_b: (k,) parents of each mixed sample, for pairwise mixers.
        ratios: per modality, (k,) weight of parent a, for pairwise mixers.
        label_ratio: (k,) weight of parent a's label, for pairwise mixers.
        similarity: (B, B) SASS similarity (MS-Mix only).
        intensities: per modality, (B,) SIG intensities (MS-Mix only).
        info: diagnostics for displays as 0-dim tensors (e.g. ``polarity_conflict_rate``,
            ``n_candidates``); a training step never reads them on the host.
    """

    weights: dict[str, Tensor]
    mixed: Latents
    labels: Tensor
    aux_loss: Tensor
    masks: Masks = field(default_factory=dict)
    index_a: Tensor | None = None
    index_b: Tensor | None = None
    ratios: dict[str, Tensor] | None = None
    label_ratio: Tensor | None = None
    similarity: Tensor | None = None
    intensities: dict[str, Tensor] | None = None
    info: dict[str, Tensor] = field(default_factory=dict)

    @property
    def k(self) -> int:
        """Number of mixed samples (0 when nothing was mixed)."""
        return int(self.labels.shape[0])

    @classmethod
    def empty(cls, latents: Latents, labels: Tensor) -> "MixResult":
        """A result with k = 0: nothing to mix (``none``, or a batch of one)."""
        b = labels.shape[0]
        zero_w = labels.new_zeros((0, b))
        return cls(
            weights={**{m: zero_w for m in latents}, "label": zero_w},
            mixed={m: z[:0] for m, z in latents.items()},
            labels=labels[:0],
            aux_loss=labels.new_zeros(()),
            masks={m: None for m in latents},
        )


class Mixer(nn.Module):
    """Base class of every augmentation: ``mixer(latents, labels, generator=None, masks=None)``.

    Subclasses set ``point`` (``"latent"`` or ``"input"``) and ``config_class`` (a dataclass of
    their settings, with the papers' defaults; every mixer names its number of mixed samples per
    batch ``n_mix``) and implement ``mix``. The constructor keeps ``dims`` and ``label_range`` and
    takes a config (from ``make_config``) or keyword settings; ``forward`` checks the batch,
    returns an empty result (k = 0) for a batch of one, and calls ``mix``.

    ``absent`` names modalities the data never hold (``DataSpec.missing``): their latents are
    mixed like the others (they carry nothing, so it changes nothing), but a mixer that reads the
    latents to decide, as MS-Mix does, leaves them out of its decisions.
    """

    point: ClassVar[str] = "latent"
    name: ClassVar[str] = ""
    predicts_intensities: ClassVar[bool] = False  # True where ``intensities`` is implemented
    config_class: ClassVar[type] = object

    def __init__(
        self,
        dims: dict[str, int],
        label_range: float = 3.0,
        config: Any = None,
        *,
        absent: Collection[str] = (),
        **settings: Any,
    ) -> None:
        super().__init__()
        if config is not None and settings:
            raise TypeError(f"mixer {self.name!r}: give a config or keyword settings, not both")
        self.dims = dict(dims)
        self.absent = tuple(m for m in self.dims if m in set(absent))
        unknown = sorted(set(absent) - set(self.dims))
        if unknown:
            raise ValueError(f"mixer {self.name!r}: absent names {unknown}, not among the modalities {sorted(self.dims)}")
        self.label_range = float(label_range)
        self.config = config if config is not None else self.make_config(settings)

    @classmethod
    def make_config(cls, settings: Mapping[str, Any]) -> Any:
        """The settings dataclass for these overrides, refusing unknown names with the known ones listed."""
        return settings_from(cls.config_class, f"mixer {cls.name!r}", settings)

    def forward(
        self,
        latents: Latents,
        labels: Tensor,
        generator: torch.Generator | None = None,
        masks: Masks | None = None,
    ) -> MixResult:
        """Mix a batch: latents (B x d or B x T x d per modality), labels (B,) or (B, 1), optional
        (B, T) masks of sequence latents; ``generator`` drives every random draw."""
        if labels.dim() == 2 and labels.shape[1] == 1:
            labels = labels.reshape(-1)
        masks = dict(masks or {})
        batch_size(latents, labels, masks)
        self.check_latents(latents, masks)
        if labels.shape[0] < 2:
            return MixResult.empty(latents, labels)
        return self.mix(latents, labels, masks, generator)

    def check_latents(self, latents: Latents, masks: Masks) -> None:
        """Checks beyond the common ones (one batch size, shapes of masks); none by default."""

    def intensities(self, latents: Latents, masks: Masks | None = None) -> dict[str, Tensor]:
        """Per modality, the (B,) sentiment intensities the mixer predicts from a batch's latents
        (MS-Mix's SIG predictors); empty for a mixer that predicts none (the default)."""
        return {}

    def mix(  # pragma: no cover - interface
        self, latents: Latents, labels: Tensor, masks: Masks, generator: torch.Generator | None
    ) -> MixResult:
        """The k mixed samples of a checked batch of B >= 2 samples (labels (B,), masks a dict)."""
        raise NotImplementedError


def batch_size(latents: Latents, labels: Tensor, masks: Masks | None = None) -> int:
    """Check a mixer's inputs and return the batch size B.

    Latents must be B x d or B x T x d with one B for all modalities and the labels (shape (B,));
    a mask must be a (B, T) tensor for a B x T x d latent of the same name.
    """
    if not latents:
        raise ValueError("latents must map at least one modality to a tensor, got an empty dict")
    if labels.dim() != 1:
        raise ValueError(f"labels must have shape (B,), got {tuple(labels.shape)}")
    b = labels.shape[0]
    for name, z in latents.items():
        if z.dim() not in (2, 3):
            raise ValueError(f"latent {name!r} must be B x d or B x T x d, got shape {tuple(z.shape)}")
        if z.shape[0] != b:
            raise ValueError(f"latent {name!r} has batch size {z.shape[0]}, but labels have {b}")
    for name, mask in (masks or {}).items():
        if mask is None:
            continue
        if name not in latents:
            raise ValueError(f"mask given for {name!r}, which is not among the latents {sorted(latents)}")
        z = latents[name]
        if z.dim() != 3 or tuple(mask.shape) != tuple(z.shape[:2]):
            raise ValueError(
                f"mask of {name!r} must have shape (B, T) = {tuple(z.shape[:2])} for a B x T x d latent; "
                f"got mask {tuple(mask.shape)} for latent {tuple(z.shape)}"
            )
    return b


MIXERS: Registry[type[Mixer]] = Registry("mixer")
register_mixer = MIXERS.register
"""Class decorator: make a Mixer buildable as ``msmix.mixing.create(name, ...)``."""


def available() -> list[str]:
    """Names accepted by ``create``."""
    return MIXERS.available()


def mixer_class(name: str) -> type[Mixer]:
    """The Mixer class registered as ``name`` (a KeyError lists the known names)."""
    return MIXERS.get(name)


def create(
    name: str,
    dims: dict[str, int],
    label_range: float = 3.0,
    config: Any = None,
    *,
    absent: Collection[str] = (),
    **settings: Any,
) -> Mixer:
    """Build a mixer by name.

    Args:
        name: one of ``available()``.
        dims: latent feature size per modality (MS-Mix's intensity predictors need them).
        label_range: labels lie in ``[-label_range, label_range]``.
        config: the mixer's settings dataclass (``mixer_class(name).make_config(...)``), or
        **settings: the mixer's settings as keywords (e.g. ``alpha``, ``threshold``, ``preset``).
        absent: modalities the data never hold (``DataSpec.missing``).
    """
    return mixer_class(name)(dims=dims, label_range=label_range, config=config, absent=absent, **settings)
