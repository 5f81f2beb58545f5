"""``none``: k = 0 on every input, and the same input checks as every other mixer."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from msmix.mixing import create
from msmix.mixing.none import NoMixing


@pytest.mark.parametrize("b", [1, 2, 7])
def test_none_never_mixes(b: int, layout: str, latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(b, layout)
    mixer = create("none", dims)
    assert isinstance(mixer, NoMixing) and mixer.point == "latent"
    res = mixer(batch.latents, batch.labels, generator=torch.Generator().manual_seed(0), masks=batch.masks)
    assert res.k == 0 and res.aux_loss == 0
    assert res.index_a is None and res.ratios is None


def test_none_has_no_settings(dims: dict[str, int]) -> None:
    with pytest.raises(TypeError, match=r"unknown settings \['alpha'\]; known: \[\]"):
        create("none", dims, alpha=1.0)


def test_none_still_checks_its_input(dims: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="batch size"):
        create("none", dims)({"text": torch.zeros(3, 8)}, torch.zeros(2))
