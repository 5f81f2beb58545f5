"""The names the command line offers: backbones, mixers and data set kinds, without importing them.

The registries themselves (``msmix.models``, ``msmix.mixing``, ``msmix.data.spec``) sit in packages
whose import loads torch, seconds under load; these copies let ``msmix list``, ``--help`` and
argument errors answer at once. ``tests/test_cli_startup.py`` checks that they equal the
registries, so adding a backbone or mixer there without adding it here fails the tests. Names
registered from Python at run time cannot reach the CLI, whose process never imports them.
"""

from __future__ import annotations

BACKBONES: dict[str, str] = {
    "lmf": "Low-rank Multimodal Fusion split into encode (sub-networks) and fuse (low-rank fusion).",
    "tfn": "Tensor Fusion Network split into encode (sub-networks) and fuse (tensor fusion + MLP).",
}
"""``msmix.models.available()``, each with its class docstring's first line."""

MIXERS: tuple[str, ...] = ("manifold", "mixup", "msmix", "multimix", "none", "powmix")
"""``msmix.mixing.available()``."""

KINDS: tuple[str, ...] = ("mosi", "mosei", "sims", "custom")
"""``msmix.data.spec.KINDS``: the values of ``--kind``."""
