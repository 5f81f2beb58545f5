"""The Backbone contract (``msmix.testing.check_backbone``), checked on every registered backbone.

``encode`` gives latents of ``latent_dims`` (with (B, T) masks where they are sequences), ``fuse``
gives (B, 1) predictions for any batch size (2B when originals and mixed samples go together),
``forward == fuse(encode())``, eval-mode predictions are per-sample and read every modality,
gradients reach every trainable parameter, a training batch of one works, time-averaging backbones
ignore padding frames, the others audio and vision padding (unless a setting reproduces a reference
that reads it), every latent mixer's output feeds ``fuse``, and the published recipes and
``create``'s errors behave. One torch thread: on a busy two-core machine the sequence backbones'
checks take many times longer with two. Each check runs as
its own test, so a failure names the backbone and the rule.
"""

from __future__ import annotations

import pytest

from msmix.models import available
from msmix.testing import BACKBONE_CHECKS, PADDING_FIXES, check_backbone

BACKBONES = [name for name in available() if not name.startswith("_")]


def test_the_six_backbones_are_registered() -> None:
    assert {"tfn", "lmf", "mult", "misa", "almt", "glomo"} <= set(BACKBONES)


@pytest.mark.parametrize("check", BACKBONE_CHECKS)
@pytest.mark.parametrize("name", BACKBONES)
def test_backbone_contract(name: str, check: str, one_thread: None) -> None:
    check_backbone(name, only=[check])


@pytest.mark.parametrize("name", sorted(PADDING_FIXES))
def test_backbones_keep_the_contract_with_padding_fixed_and_then_ignore_padding(name: str, one_thread: None) -> None:
    from msmix.models import create
    from msmix.testing import backbone_spec

    assert not create(name, backbone_spec()).masks_padding, f"{name}: the default reproduces the reference"
    assert create(name, backbone_spec(), **PADDING_FIXES[name]).masks_padding
    check_backbone(name, settings=PADDING_FIXES[name])
