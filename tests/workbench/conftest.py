"""Fixtures for the workbench tests: ``msmix.testing``'s tiny data set and backbone.

They stand in for the demo data and a real backbone so every panel can be built and driven in
well under a second, without a browser. Here text is the masked sequence latent (attributions per
token), audio and vision are single frames, and the head has a hidden layer.
"""

from __future__ import annotations

import pytest
import torch

from msmix.data.dataset import Dataset
from msmix.testing import TinyBackbone, tiny_dataset


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    return tiny_dataset(n=40, seed=1, sequence="text")


@pytest.fixture
def backbone(dataset: Dataset) -> TinyBackbone:
    torch.manual_seed(0)
    return TinyBackbone(dataset.spec, hidden=4, sequence="text", head_hidden=8)
