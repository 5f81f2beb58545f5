"""What a loaded data set holds, for ``msmix inspect`` and the workbench: a table and a problem list."""

from __future__ import annotations

import pandas as pd
import torch

from msmix import MODALITIES
from msmix.data.dataset import Dataset


def _share(mask: torch.Tensor) -> float:
    return float(mask.double().mean()) if mask.numel() else float("nan")


def describe(ds: Dataset) -> pd.DataFrame:
    """One row per split: size, label statistics (std with n - 1), label signs and feature shapes.

    The ``data`` column names the data set (``"toy (synthetic)"`` for the demo set), so every
    display of the table says what it shows.
    """
    rows = []
    for name, split in ds.splits().items():
        y = split.labels.double().cpu()
        n = len(split)
        rows.append(
            {
                "data": ds.spec.name or ds.spec.kind,
                "split": name,
                "n": n,
                "label_mean": float(y.mean()) if n else float("nan"),
                "label_std": float(y.std()) if n > 1 else float("nan"),
                "label_min": float(y.min()) if n else float("nan"),
                "label_max": float(y.max()) if n else float("nan"),
                "share_positive": _share(y > 0),
                "share_negative": _share(y < 0),
                "share_zero": _share(y == 0),
                **{f"{m}_shape": tuple(getattr(split, m).shape) for m in MODALITIES},
            }
        )
    return pd.DataFrame(rows).set_index("split")


def inspect_problems(ds: Dataset) -> list[str]:
    """Plain sentences about what looks wrong or was changed: cleaned values, loading notes,
    empty splits, samples without valid frames, repeated ids."""
    problems = list(ds.notes)
    problems += [f"{where}: {n} non-finite values set to 0" for where, n in ds.cleaned.items() if n]
    seen: dict[str, str] = {}
    for name, split in ds.splits().items():
        if len(split) == 0:
            problems.append(f"{name}: the split is empty")
        for m, lengths in split.lengths.items():
            empty = int((lengths == 0).sum())
            if empty:
                problems.append(f"{name}/{m}: {empty} sample(s) have no valid frames")
        repeated = len(split.ids) - len(set(split.ids))
        if repeated:
            problems.append(f"{name}: {repeated} repeated id(s)")
        shared = sorted({i for i in split.ids if seen.get(i, name) != name})
        if shared:
            problems.append(f"{name}: {len(shared)} id(s) also in {seen[shared[0]]}, e.g. {shared[0]}")
        for i in split.ids:
            seen.setdefault(i, name)
    return problems
