"""``load``: the one entry point to data, for the trainer, the CLI and the workbench."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from msmix.data.dataset import Dataset
from msmix.data.errors import DataError
from msmix.data.mmsa import dataset_from_mmsa, read_mmsa
from msmix.data.toy import TOY_SIZES, toy_mmsa_dict

TOY = "toy"


def _load_toy(source: str, kind: str | None, seed: int, expressiveness: float, options: dict[str, Any]) -> Dataset:
    size = source.partition(":")[2] or "small"
    if size not in TOY_SIZES:
        raise ValueError(f"unknown toy size in {source!r}; use one of " + ", ".join(f"'toy:{s}'" for s in TOY_SIZES))
    if kind not in (None, "mosi"):
        raise ValueError(f"the toy data imitate MOSI (kind 'mosi'), got kind={kind!r}")
    mmsa = toy_mmsa_dict(seed, size, expressiveness=expressiveness)
    ds = dataset_from_mmsa(mmsa, path=TOY, kind="mosi", copy=False, **options)
    extra = {**ds.spec.extra, "seed": seed, "size": size, **({"expressiveness": expressiveness} if expressiveness else {})}
    spec = replace(ds.spec, extra=extra)
    expressive = f", expressiveness {expressiveness:g}" if expressiveness else ""
    return replace(ds, spec=spec, source=f"toy (synthetic, seed {seed}, size {size}{expressive})")


def load(
    source: str | Path,
    kind: str | None = None,
    *,
    seed: int | None = None,
    expressiveness: float | None = None,
    **options: Any,
) -> Dataset:
    """Load a data set: the synthetic demo set or an MMSA feature pickle.

    Args:
        source: ``"toy"`` (the demo set, small: 400/100/200 samples), ``"toy:mosi"`` (the demo set
            in MOSI unaligned_50's sizes and lengths), or the path of an MMSA ``.pkl`` file.
        kind: ``mosi`` / ``mosei`` / ``sims`` / ``custom``; None infers it (see ``read_mmsa``).
        seed: the demo set's seed (default 0); only for ``"toy"``.
        expressiveness: the demo set's per-sample, per-modality gain spread (default 0, every
            modality of a sample equally intense; see ``msmix.data.toy``); only for ``"toy"``.
        **options: ``label_range``, ``time_average``, ``padding``, ``standardize``, ``strict``,
            ``device``, ``dtype``, as documented in ``msmix.data.mmsa.read_mmsa``.

    Example:
        >>> ds = load("toy")
        >>> ds.spec.synthetic, len(ds.train), ds.spec.dims
        (True, 400, {'text': 768, 'audio': 5, 'vision': 20})
    """
    recorded = {"source": str(source), **recorded_options(kind, seed, options)}
    if expressiveness is not None:
        recorded["expressiveness"] = expressiveness
    if isinstance(source, str) and (source == TOY or source.startswith(TOY + ":")):
        toy = _load_toy(source, kind, 0 if seed is None else seed, expressiveness or 0.0, options)
        return replace(toy, load_args=recorded)
    for name, value in (("seed", seed), ("expressiveness", expressiveness)):
        if value is not None:
            raise ValueError(f"{name} only applies to the toy data, not to the file {source}")
    path = Path(source)
    if path.suffix.lower() == ".csv":
        raise DataError(
            "a label CSV holds no features; read it with msmix.data.read_label_csv",
            path=str(path), expected="an MMSA feature .pkl", found="a .csv file",
        )
    return replace(read_mmsa(path, kind=kind, **options), load_args=recorded)


PLACEMENT = ("device", "dtype")
"""Options that say where the tensors live, not what they hold: not recorded."""


def recorded_options(kind: str | None, seed: int | None, options: dict[str, Any]) -> dict[str, Any]:
    """The options of ``load`` that shape a data set's values, as plain types for a checkpoint."""
    recorded = {name: value for name, value in options.items() if name not in PLACEMENT}
    if kind is not None:
        recorded["kind"] = kind
    if seed is not None:
        recorded["seed"] = seed
    return recorded
