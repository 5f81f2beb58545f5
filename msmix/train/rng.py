"""Seeding and the capture/restore of every random number generator a run touches.

States are stored as tensors and plain lists/ints so that a checkpoint loads with
``torch.load(weights_only=True)``. On a CPU PyTorch's kernels are deterministic for a fixed thread
count; on a GPU exact repeats also need ``torch.use_deterministic_algorithms(True)`` (and
``CUBLAS_WORKSPACE_CONFIG``), which this module leaves to the user because it slows training.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's global generators (all CUDA devices included)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def derived_seed(seed: int, stream: int) -> int:
    """An independent 63-bit seed for random stream ``stream`` of a run seeded with ``seed``."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1, np.uint64)[0] >> np.uint64(1))


def capture_rng_state(generators: dict[str, torch.Generator]) -> dict[str, Any]:
    """The global generators' states plus those of ``generators`` (name -> generator)."""
    version, mt_state, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    return {
        "python": {"version": version, "state": list(mt_state), "gauss": gauss},
        "numpy": {
            "name": name,
            "keys": keys.tolist(),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "generators": {k: g.get_state() for k, g in generators.items()},
    }


def restore_rng_state(state: dict[str, Any], generators: dict[str, torch.Generator]) -> None:
    """Undo ``capture_rng_state``: set every generator back to the stored state."""
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    npy = state["numpy"]
    np.random.set_state(
        (npy["name"], np.asarray(npy["keys"], dtype=np.uint32), npy["pos"], npy["has_gauss"], npy["cached_gaussian"])
    )
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    for name, generator in generators.items():
        generator.set_state(state["generators"][name])
