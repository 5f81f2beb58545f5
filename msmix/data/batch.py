"""Batch: what a backbone consumes, cut by index from device-resident split tensors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import torch
from torch import Tensor

from msmix import MODALITIES


def lengths_to_mask(lengths: Tensor, max_len: int, padding: str = "right") -> Tensor:
    """Boolean (B, T) mask of valid frames.

    ``padding="right"`` means valid frames come first (zeros after them); ``"left"`` means the
    zeros come first and the valid frames last.
    """
    steps = torch.arange(max_len, device=lengths.device)
    if padding == "right":
        return steps.unsqueeze(0) < lengths.unsqueeze(1)
    if padding == "left":
        return steps.unsqueeze(0) >= (max_len - lengths).unsqueeze(1)
    raise ValueError(f"padding must be 'right' or 'left', got {padding!r}")


class LazyIds(Sequence[str]):
    """The ids of a batch, read from the split's id list only when someone asks.

    Building them eagerly would copy the index to the host, one device sync per training step
    on a GPU, for strings the training loop never reads.
    """

    def __init__(self, pool: Sequence[str], index: Tensor) -> None:
        self._pool, self._index, self._ids = pool, index, None

    def _resolve(self) -> list[str]:
        if self._ids is None:
            self._ids = [self._pool[i] for i in self._index.tolist()]
        return self._ids

    def __getitem__(self, i):  # type: ignore[override]
        return self._resolve()[i]

    def __len__(self) -> int:
        return int(self._index.shape[0])

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    def __repr__(self) -> str:
        return repr(self._resolve())


@dataclass
class Batch:
    """A mini-batch of the three modalities.

    Attributes:
        text, audio, vision: (B, T, D) feature tensors (T = 1 for time-averaged features).
        lengths: per modality, (B,) valid-frame counts, or absent when every frame is valid.
        labels: (B,) float regression labels.
        ids: the samples' ids (``"video$_$clip"`` in MMSA files).
        index: (B,) positions of the samples in their split.
        modality_labels: per-modality labels (CH-SIMS ``T``/``A``/``V``), if the data set has them.
        padding: where the padding frames sit in each sequence (``"right"``: after valid frames).
        text_bert: (B, 3, T) token ids, attention mask and segment ids (MMSA's ``text_bert``), for
            backbones that run a text encoder themselves; None when the data set has none.
    """

    text: Tensor
    audio: Tensor
    vision: Tensor
    labels: Tensor
    lengths: dict[str, Tensor] = field(default_factory=dict)
    ids: Sequence[str] = field(default_factory=list)
    index: Tensor | None = None
    modality_labels: dict[str, Tensor] = field(default_factory=dict)
    padding: str = "right"
    text_bert: Tensor | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def features(self) -> dict[str, Tensor]:
        """The three modalities as a dict, the form mixers take."""
        return {m: getattr(self, m) for m in MODALITIES}

    def mask(self, modality: str) -> Tensor | None:
        """(B, T) validity mask of one modality, or None when every frame is valid."""
        lengths = self.lengths.get(modality)
        if lengths is None:
            return None
        return lengths_to_mask(lengths, getattr(self, modality).shape[1], self.padding)

    def masks(self) -> dict[str, Tensor | None]:
        return {m: self.mask(m) for m in MODALITIES}

    def with_features(self, features: dict[str, Tensor], labels: Tensor | None = None) -> "Batch":
        """A copy with some modalities (and optionally the labels) replaced."""
        changes: dict = {m: features[m] for m in MODALITIES if m in features}
        if labels is not None:
            changes["labels"] = labels
        return replace(self, **changes)

    def to(self, device: torch.device | str) -> "Batch":
        move = lambda t: t.to(device, non_blocking=True)  # noqa: E731
        return replace(
            self,
            text=move(self.text),
            audio=move(self.audio),
            vision=move(self.vision),
            labels=move(self.labels),
            lengths={k: move(v) for k, v in self.lengths.items()},
            index=None if self.index is None else move(self.index),
            modality_labels={k: move(v) for k, v in self.modality_labels.items()},
            text_bert=None if self.text_bert is None else move(self.text_bert),
        )
