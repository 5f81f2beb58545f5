"""The Mixer contract (``msmix.testing.check_mixer``), checked on every registered mixer against
float64 loop re-derivations.

mixed[m][r] = sum_i weights[m][r, i] * z_i (padded frames counted as zero), labels = weights["label"] @ y,
rows of every weight matrix convex, the pair view consistent with the weights, mixed masks valid
where a parent with non-zero weight is valid, k = 0 for a batch of one, (B, 1) labels read as (B,),
determinism under a seed, gradients back to the latents, and ``create``'s errors. Each check runs as
its own test, so a failure names the mixer and the rule.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from msmix.mixing import available, create
from msmix.testing import MIXER_CHECKS, check_mixer

MIXERS = available()


def test_every_rival_and_msmix_are_registered() -> None:
    assert {"none", "mixup", "manifold", "multimix", "powmix"} <= set(MIXERS)


@pytest.mark.parametrize("check", MIXER_CHECKS)
@pytest.mark.parametrize("name", MIXERS)
def test_mixer_contract(name: str, check: str) -> None:
    check_mixer(name, only=[check])


@pytest.mark.parametrize("name", MIXERS)
@pytest.mark.parametrize("b", [2, 5])
def test_only_none_mixes_nothing(name: str, layout: str, b: int, latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(b, layout)
    res = create(name, dims)(batch.latents, batch.labels, generator=torch.Generator().manual_seed(0), masks=batch.masks)
    assert (res.k == 0) == (name == "none")


def test_create_rejects_an_unknown_name(dims: dict[str, int]) -> None:
    with pytest.raises(KeyError, match="no_such_mixer"):
        create("no_such_mixer", dims)
