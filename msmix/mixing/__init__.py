"""Mixers: MS-Mix and its rivals, interchangeable between a backbone's ``encode`` and ``fuse``."""

from msmix.mixing import manifold as _manifold  # noqa: F401  (registers "manifold")
from msmix.mixing import mixup as _mixup  # noqa: F401  (registers "mixup")
from msmix.mixing import multimix as _multimix  # noqa: F401  (registers "multimix")
from msmix.mixing import none as _none  # noqa: F401  (registers "none")
from msmix.mixing import powmix as _powmix  # noqa: F401  (registers "powmix")
from msmix.mixing.base import Latents, Masks, Mixer, MixResult, available, create, register_mixer

__all__ = ["Latents", "Masks", "MixResult", "Mixer", "available", "create", "register_mixer"]
