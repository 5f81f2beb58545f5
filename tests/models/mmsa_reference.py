"""MMSA 2.2.1's own model classes, loaded from its wheel, for parity tests on shared weights.

``make test`` downloads the wheel into ``.whl/`` (``pip download MMSA==2.2.1 --no-deps``). Its
package ``__init__`` starts the whole framework (trainers, data loaders, GPU helpers), so the model
modules are imported from the wheel under a private package name with empty parent packages instead:
their own code runs unchanged. Tests skip when the wheel is absent, unless ``MSMIX_REQUIRE_MMSA`` is
set (CI), where its absence fails them.
"""

from __future__ import annotations

import importlib
import json
import os
import zipfile
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WHEEL_NAME = "MMSA-2.2.1-py3-none-any.whl"
PACKAGE = "_mmsa_reference"


def wheel_path() -> Path | None:
    """The MMSA 2.2.1 wheel: ``$MSMIX_MMSA_WHEEL``, else ``.whl/`` of this checkout; None if neither exists."""
    given = os.environ.get("MSMIX_MMSA_WHEEL")
    for path in ([Path(given)] if given else []) + [ROOT / ".whl" / WHEEL_NAME]:
        if path.is_file():
            return path
    return None


class Args(dict):
    """A dict read by attribute too, like the EasyDict MMSA passes its models."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value) -> None:
        self[name] = value


def _package(name: str, path: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__path__ = [path]
    sys.modules[name] = module
    return module


def mmsa_module(dotted: str) -> types.ModuleType:
    """``MMSA.<dotted>`` (e.g. ``models.singleTask.MULT``) imported from the wheel, or skip the test."""
    wheel = wheel_path()
    if wheel is None:
        message = f"MMSA 2.2.1 wheel not found (make test downloads it into .whl/{WHEEL_NAME})"
        if os.environ.get("MSMIX_REQUIRE_MMSA"):
            pytest.fail(message)
        pytest.skip(message)
    pytest.importorskip("transformers")  # MMSA's model modules import it at the top
    if PACKAGE not in sys.modules:
        inside = f"{wheel}/MMSA"
        _package(PACKAGE, inside)
        _package(f"{PACKAGE}.models", f"{inside}/models")
        _package(f"{PACKAGE}.models.singleTask", f"{inside}/models/singleTask")
        sub_nets = _package(f"{PACKAGE}.models.subNets", f"{inside}/models/subNets")
        bert = importlib.import_module(f"{PACKAGE}.models.subNets.BertTextEncoder")
        sub_nets.BertTextEncoder = bert.BertTextEncoder
    return importlib.import_module(f"{PACKAGE}.{dotted}")


def mmsa_config(model: str, dataset: str, **extra) -> Args:
    """``MMSA.get_config_regression(model, dataset)`` read from the wheel's config file, then ``extra``.

    Data-set keys come first (aligned or unaligned as the model asks), then the model's common and
    per-data-set keys, as MMSA merges them; ``extra`` sets what ``MMSA.run`` adds (``device`` ...).
    """
    mmsa_module("models.subNets.BertTextEncoder")  # skips or fails as mmsa_module does
    with zipfile.ZipFile(wheel_path()) as wheel:
        every = json.loads(wheel.read("MMSA/config/config_regression.json"))
    common, per_set = every[model]["commonParams"], every[model]["datasetParams"][dataset]
    data = every["datasetCommonParams"][dataset]
    data = data["aligned"] if common["need_data_aligned"] and "aligned" in data else data["unaligned"]
    return Args({"model_name": model, "dataset_name": dataset, **data, **common, **per_set, **extra})
