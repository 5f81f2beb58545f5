"""Mixers: MS-Mix and its rivals, interchangeable between a backbone's ``encode`` and ``fuse``."""

from msmix.mixing.base import Latents, Masks, Mixer, MixResult, available, create, register_mixer

__all__ = ["Latents", "Masks", "MixResult", "Mixer", "available", "create", "register_mixer"]
