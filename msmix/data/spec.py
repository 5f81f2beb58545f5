"""DataSpec: the few facts about a data set that models and mixers are built from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("mosi", "mosei", "sims", "custom")


@dataclass(frozen=True)
class DataSpec:
    """What a backbone or mixer needs to know about a data set.

    Attributes:
        kind: ``mosi``, ``mosei``, ``sims`` or ``custom``; picks metrics and default configs.
        dims: feature size per modality (``text``, ``audio``, ``vision``).
        seq_lens: padded sequence length per modality (1 when features are time-averaged).
        label_range: labels lie in ``[-label_range, label_range]`` (3 for MOSI/MOSEI, 1 for SIMS).
        aligned: whether the three modalities share one time axis (MMSA ``aligned_50``).
        name: a short human name for displays (``"toy (synthetic)"``, ``"mosi unaligned_50"``).
        synthetic: True for the generated demo data; every display must say so.
        missing: the modalities no sample holds (every length 0, e.g. text-only features);
            their latents carry no information, so MS-Mix leaves them out (see ``MSMix``).
    """

    kind: str
    dims: dict[str, int]
    seq_lens: dict[str, int]
    label_range: float = 3.0
    aligned: bool = False
    name: str = ""
    synthetic: bool = False
    missing: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"DataSpec.kind must be one of {KINDS}, got {self.kind!r}")
        object.__setattr__(self, "missing", tuple(self.missing))
        unknown = [m for m in self.missing if m not in self.dims]
        if unknown:
            raise ValueError(f"DataSpec.missing names {unknown[0]!r}, which is not among the modalities {sorted(self.dims)}")

    @property
    def metrics_kind(self) -> str:
        """Which MMSA metric family applies: ``sims`` for CH-SIMS, ``mosi`` otherwise."""
        return "sims" if self.kind == "sims" else "mosi"

    def to_dict(self) -> dict[str, Any]:
        """Plain types only, so the spec can live inside a ``weights_only`` checkpoint."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DataSpec":
        return cls(**d)
