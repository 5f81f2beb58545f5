"""Fixtures: generated MMSA-format dicts and files (see ``mmsa_files``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from mmsa_files import build_mmsa, write_pickle


@pytest.fixture
def make_mmsa() -> Callable[..., dict]:
    """``make_mmsa(kind, layout, seed=, padding=, sizes=)``: an MMSA-format dict (see ``build_mmsa``)."""
    return build_mmsa


@pytest.fixture
def write_pkl(tmp_path: Path) -> Callable[..., Path]:
    """``write_pkl(data, name="data.pkl", protocol=4)``: the dict pickled into a temporary file."""

    def write(data: object, name: str = "data.pkl", protocol: int = 4) -> Path:
        return write_pickle(tmp_path / name, data, protocol)

    return write
