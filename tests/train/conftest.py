"""Fixtures of the trainer tests: the ``_tiny`` backbone registered while each test runs, tiny data,
and one CPU thread per test (these tensors are far too small to gain from more)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from msmix.data import Dataset
from msmix.data.cache import load_data
from msmix.models import BACKBONES, Backbone, register_backbone
from msmix.testing import TinyBackbone, tiny_dataset


@pytest.fixture(autouse=True)
def tiny_backbone() -> Iterator[type[Backbone]]:
    """Register ``_tiny`` for each test here, and only while it runs (other tests list backbones)."""
    name = TinyBackbone.name
    register_backbone("_tiny")(TinyBackbone)
    yield TinyBackbone
    BACKBONES.unregister("_tiny")
    TinyBackbone.name = name


@pytest.fixture(autouse=True)
def _every_training_test_on_one_thread(one_thread: None) -> None:
    """``one_thread`` (tests/conftest.py) for every test here."""


@pytest.fixture
def tiny_data() -> Dataset:
    return tiny_dataset()


@pytest.fixture
def toy64() -> Iterator[Dataset]:
    """The toy data in float64, with float64 as the default dtype while the test runs (the exact
    comparisons of stacked and separate runs)."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield load_data("toy", dtype=torch.float64)
    torch.set_default_dtype(default)
