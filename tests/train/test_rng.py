"""Capturing and restoring every generator gives back the same random streams."""

from __future__ import annotations

import random

import numpy as np
import torch

from msmix.train.rng import capture_rng_state, restore_rng_state, seed_everything


def draws(generators: dict[str, torch.Generator]) -> list:
    return [
        random.random(),
        float(np.random.rand()),
        float(np.random.randn()),
        torch.rand(3).tolist(),
        *[torch.randperm(10, generator=g).tolist() for g in generators.values()],
    ]


def test_restore_repeats_every_stream():
    seed_everything(5)
    generators = {"a": torch.Generator().manual_seed(1), "b": torch.Generator().manual_seed(2)}
    draws(generators)
    np.random.randn()  # leave a cached Gaussian in NumPy's legacy state
    state = capture_rng_state(generators)
    first = draws(generators)
    assert draws(generators) != first
    restore_rng_state(state, generators)
    assert draws(generators) == first


def test_state_is_plain_types_and_tensors():
    state = capture_rng_state({"g": torch.Generator()})
    assert isinstance(state["numpy"]["keys"], list) and isinstance(state["numpy"]["pos"], int)
    assert isinstance(state["python"]["state"], list)
    assert isinstance(state["torch"], torch.Tensor) and isinstance(state["generators"]["g"], torch.Tensor)


def test_seed_everything_repeats():
    seed_everything(3)
    first = (random.random(), float(np.random.rand()), torch.rand(2).tolist())
    seed_everything(3)
    assert (random.random(), float(np.random.rand()), torch.rand(2).tolist()) == first
