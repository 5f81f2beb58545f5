"""Check RunSpecs before training: names, settings and data that would only fail once a run starts.

A typo in a sweep's ``[mixer.msmix]`` table should stop the sweep before its first run, not after
hours of other runs. ``check_specs`` loads each data set once and resolves each distinct
configuration into its typed settings (``msmix.train.resolve``), the way ``msmix.train.run`` does,
without building a model.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import msmix.mixing
import msmix.models
from msmix.data.dataset import Dataset
from msmix.data.errors import DataError
from msmix.train import RunSpec, load_data
from msmix.train.resolve import SpecError, resolve
from msmix.train.run import data_options_for

__all__ = ["SpecError", "check_names", "check_specs", "load_spec_data"]


def check_names(backbones: Iterable[str], mixers: Iterable[str]) -> None:
    """Refuse backbone and mixer names that are not registered, listing the known ones."""
    for kind, names, known in (
        ("backbone", backbones, msmix.models.available()),
        ("mixer", mixers, msmix.mixing.available()),
    ):
        for name in names:
            if name not in known:
                raise SpecError(f"unknown {kind} {name!r}; available: {', '.join(known)}")


def load_spec_data(spec: RunSpec) -> Dataset:
    """The data set a spec trains on, loaded with the options ``run`` uses (cached)."""
    check_names([spec.backbone], [])
    try:
        return load_data(spec.data, **data_options_for(spec))
    except DataError:
        raise
    except (TypeError, ValueError) as err:
        raise SpecError(f"cannot load data {spec.data!r} with options {spec.data_options}: {err}") from None


def check_specs(specs: Iterable[RunSpec], data: Dataset | None = None) -> None:
    """Build every distinct configuration of ``specs`` once; raise SpecError on the first refusal.

    Args:
        specs: the runs to check.
        data: the loaded data set of all specs, if the caller has it; else each spec's is loaded.
    """
    specs = list(specs)
    check_names({s.backbone for s in specs}, {s.mixer for s in specs})
    seen: set[str] = set()
    for spec in specs:
        key = _key(spec.data, spec.data_options, spec.backbone, spec.model_config, spec.mixer, spec.mixer_config, spec.train)
        if key in seen:
            continue
        seen.add(key)
        dataset = data if data is not None else load_spec_data(spec)
        resolve(spec, dataset.spec)


def _key(*parts: Any) -> str:
    return json.dumps(parts, sort_keys=True, default=str)
