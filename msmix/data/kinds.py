"""Facts about the three MMSA data sets, and telling which one a file holds from its dimensions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from msmix.data.errors import DataError

# The conventional label ranges a custom data set's labels are matched against (CH-SIMS, MOSI).
_CONVENTIONAL_RANGES = (1.0, 3.0)


@dataclass(frozen=True)
class KnownKind:
    """Feature sizes, label range and split sizes of one MMSA data set (from MMSA's files)."""

    name: str
    audio_dim: int
    vision_dim: int
    label_range: float
    split_sizes: tuple[int, int, int]
    text_dim: int = 768


KNOWN_KINDS: dict[str, KnownKind] = {
    "mosi": KnownKind("CMU-MOSI", 5, 20, 3.0, (1284, 229, 686)),
    "mosei": KnownKind("CMU-MOSEI", 74, 35, 3.0, (16326, 1871, 4659)),
    "sims": KnownKind("CH-SIMS", 33, 709, 1.0, (1368, 456, 457)),
}


def infer_kind(dims: dict[str, int], has_config: bool, path: str) -> tuple[str, list[str]]:
    """The kind a file holds and notes on why: ``custom`` for MMSA-FET or ``msmix features``
    output (a ``config`` key) and for a known data set's audio/vision sizes with another text
    width (say, 384-d sentence-encoder states beside MOSI's 5/20); else the data set whose dims match.

    Raises:
        DataError: the audio/vision dims match none of MOSI, MOSEI or CH-SIMS.
    """
    if has_config:
        return "custom", []
    for kind, facts in KNOWN_KINDS.items():
        if (dims["audio"], dims["vision"]) == (facts.audio_dim, facts.vision_dim):
            if dims["text"] != facts.text_dim:
                note = (
                    f"audio/vision sizes match {facts.name} but text features have {dims['text']} dims where "
                    f"{facts.name} files have {facts.text_dim}: read as 'custom' (pass kind={kind!r} to treat it as {facts.name})"
                )
                return "custom", [note]
            return kind, []
    known = ", ".join(f"{k} {f.audio_dim}/{f.vision_dim}" for k, f in KNOWN_KINDS.items())
    raise DataError(
        "cannot tell which data set this is; pass kind= ('custom' for features of other sizes)",
        path=path,
        key="audio/vision",
        expected=f"audio/vision dims of {known}",
        found=f"{dims['audio']}/{dims['vision']}",
    )


def kind_notes(kind: str, dims: dict[str, int]) -> list[str]:
    """Notes when a file given an explicit known kind has other feature sizes than that data set."""
    facts = KNOWN_KINDS.get(kind)
    if facts is None:
        return []
    standard = {"text": facts.text_dim, "audio": facts.audio_dim, "vision": facts.vision_dim}
    return [
        f"{m} features have {dims[m]} dims where {facts.name} files have {standard[m]}"
        for m in standard
        if dims[m] != standard[m]
    ]


def label_range_from_labels(labels: np.ndarray) -> float:
    """The smallest conventional range (1 as CH-SIMS, 3 as MOSI) holding every label, else max |label|."""
    largest = float(np.max(np.abs(labels))) if labels.size else 0.0
    for bound in _CONVENTIONAL_RANGES:
        if largest <= bound:
            return bound
    return largest
