"""A modality missing (length 0: in some samples, or in all of them as in text-only features)
trains and predicts with every backbone and every mixer: finite losses, finite gradients."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from msmix.mixing import available as mixers
from msmix.mixing import create as create_mixer
from msmix.mixing.objective import ObjectiveConfig
from msmix.models import available as backbones
from msmix.models import create
from msmix.testing import PADDING_FIXES
from msmix.testing.backbone_batches import backbone_batch, backbone_spec
from msmix.train.step import training_loss

CASES = [(b, s) for b in backbones() for s in ({}, PADDING_FIXES.get(b)) if s is not None]


def _without(batch, modalities: tuple[str, ...], rows: torch.Tensor):
    """The batch with ``modalities`` absent from ``rows``: length 0, every frame padding (zeros)."""
    lengths = dict(batch.lengths)
    changed = {}
    for m in modalities:
        lengths[m] = lengths[m].clone()
        lengths[m][rows] = 0
        x = getattr(batch, m).clone()
        x[rows] = 0
        changed[m] = x
    return replace(batch, lengths=lengths, **changed)


@pytest.mark.parametrize("where", ["some samples", "every sample"])
@pytest.mark.parametrize("backbone,settings", CASES, ids=[f"{b}{'-fixed' if s else ''}" for b, s in CASES])
def test_every_mixer_trains_with_audio_and_vision_missing(backbone: str, settings: dict, where: str, one_thread: None) -> None:
    spec = backbone_spec()
    batch = backbone_batch(6, seed=2, spec=spec)
    rows = torch.tensor([1, 4]) if where == "some samples" else torch.arange(6)
    batch = _without(batch, ("audio", "vision"), rows)
    absent = ("audio", "vision") if where == "every sample" else ()
    spec = replace(spec, missing=absent)
    for name in mixers():
        torch.manual_seed(0)
        model = create(backbone, spec, **settings).train()
        mixer = create_mixer(name, model.latent_dims, spec.label_range, absent=absent).train()
        parts = training_loss(model, mixer, batch, ObjectiveConfig(), torch.Generator().manual_seed(0))
        assert torch.isfinite(parts.total), f"{backbone} + {name}: loss {parts.total}"
        parts.total.backward()
        for p_name, p in [*model.named_parameters(), *mixer.named_parameters()]:
            if p.grad is not None:
                assert torch.isfinite(p.grad).all(), f"{backbone} + {name}: gradient of {p_name} not finite"
        model.eval()
        with torch.no_grad():
            assert torch.isfinite(model(batch).pred).all()
