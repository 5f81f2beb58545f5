"""``check_backbone``: the contract every backbone meets, checked with one call.

    >>> from msmix.testing import TinyBackbone, check_backbone
    >>> check_backbone(TinyBackbone)
    >>> check_backbone("tfn")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from msmix.data.spec import DataSpec
from msmix.models import Backbone
from msmix.testing import backbone_checks as checks
from msmix.testing.backbone_batches import backbone_spec
from msmix.testing.backbone_subject import BackboneSubject, backbone_subject
from msmix.testing.runner import run_checks

_CHECKS: dict[str, Callable[[BackboneSubject], None]] = {
    "registration": checks.check_registration,
    "default_config": checks.check_default_config,
    "encode": checks.check_encode,
    "forward_is_fuse_of_encode": checks.check_forward_is_fuse_of_encode,
    "fuse_takes_twice_the_batch": checks.check_fuse_takes_twice_the_batch,
    "eval_predictions_are_per_sample": checks.check_eval_predictions_are_per_sample,
    "gradients_reach_every_parameter": checks.check_gradients_reach_every_parameter,
    "training_batch_of_one": checks.check_a_training_batch_of_one,
    "time_averaging": checks.check_time_averaging,
    "padding_is_masked": checks.check_padding_is_masked,
    "latent_mixers_feed_fuse": checks.check_latent_mixers_feed_fuse,
}

BACKBONE_CHECKS: tuple[str, ...] = tuple(_CHECKS)

PADDING_FIXES: dict[str, dict[str, Any]] = {
    "mult": {"mask_padding": True},
    "almt": {"mask_padding": True},
    "glomo": {"mask_padding": True},
    "misa": {"pack_with_own_lengths": True},
}
"""The setting that fixes each reference's reading of padding frames (the default reproduces it)."""
"""The names of the backbone checks, in the order ``check_backbone`` runs them."""


def check_backbone(
    backbone: str | type[Backbone],
    spec: DataSpec | None = None,
    settings: Mapping[str, Any] | None = None,
    only: Iterable[str] | None = None,
) -> None:
    """Check that a backbone keeps the Backbone contract; raise ``AssertionError`` (one line) if not.

    ``encode`` gives latents of ``latent_dims`` with (B, T) masks where they are sequences; ``fuse``
    gives (B, 1) predictions, also for two stacked batches; ``forward == fuse(encode())``; in
    evaluation mode predictions repeat and each depends on its own sample and on every modality of
    it; gradients reach every trainable parameter; a training batch of one works; time-averaging
    backbones ignore padding frames; ``default_config`` gives valid recipes for every kind; a
    registered backbone is built by ``msmix.models.create``, which refuses unknown settings.

    Args:
        backbone: a registered name, or a Backbone subclass (registered or not).
        spec: the data set to build it for; by default MOSI's feature sizes with short sequences.
        settings: model settings over the backbone's defaults.
        only: names from ``BACKBONE_CHECKS`` to run; all of them by default.

    An error inside a check becomes an AssertionError naming the check. The global random state is
    left as it was; the checks themselves are deterministic.
    """
    run_checks("backbone", _CHECKS, only, lambda: backbone_subject(backbone, spec or backbone_spec(), settings))
