"""Mixers: MS-Mix and its rivals, interchangeable between a backbone's ``encode`` and ``fuse``."""

from msmix.mixing import manifold as _manifold  # noqa: F401  (registers "manifold")
from msmix.mixing import mixup as _mixup  # noqa: F401  (registers "mixup")
from msmix.mixing import msmix as _msmix  # noqa: F401  (registers "msmix")
from msmix.mixing import multimix as _multimix  # noqa: F401  (registers "multimix")
from msmix.mixing import none as _none  # noqa: F401  (registers "none")
from msmix.mixing import powmix as _powmix  # noqa: F401  (registers "powmix")
from msmix.mixing.base import Latents, Masks, Mixer, MixResult, available, create, register_mixer
from msmix.mixing.diagnostics import polarity_conflict_rate, random_pairing_conflict_rate
from msmix.mixing.msmix import MSMix, MSMixConfig
from msmix.mixing.objective import LossParts, ObjectiveConfig, mixup_loss, objective
from msmix.mixing.sal import sal_batch_kl, sal_per_sample
from msmix.mixing.sass import PairSelection, compatible_pairs, normalize_offdiagonal, select_pairs, similarity_matrix
from msmix.mixing.sig import IntensityPredictor, label_ratio, mixing_ratios, normalized_intensity

__all__ = [
    "IntensityPredictor",
    "Latents",
    "LossParts",
    "MSMix",
    "MSMixConfig",
    "Masks",
    "MixResult",
    "Mixer",
    "ObjectiveConfig",
    "PairSelection",
    "available",
    "compatible_pairs",
    "create",
    "label_ratio",
    "mixing_ratios",
    "mixup_loss",
    "normalize_offdiagonal",
    "normalized_intensity",
    "objective",
    "polarity_conflict_rate",
    "random_pairing_conflict_rate",
    "register_mixer",
    "sal_batch_kl",
    "sal_per_sample",
    "select_pairs",
    "similarity_matrix",
]
