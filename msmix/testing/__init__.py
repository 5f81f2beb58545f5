"""Test helpers for backbones and mixers, usable without msmix's own test suite.

``check_backbone`` and ``check_mixer`` check the contracts every backbone and every mixer meet, with
one call each; ``TinyBackbone`` and ``tiny_dataset`` are a backbone and a data set small enough to
train in milliseconds. Not imported by ``import msmix``; it needs torch only (no test framework).

    >>> from msmix.testing import TinyBackbone, check_backbone, check_mixer, tiny_dataset
    >>> check_backbone(TinyBackbone)
    >>> check_mixer("msmix")
"""

from msmix.testing.backbone_batches import BACKBONE_DIMS, BACKBONE_SEQ_LENS, backbone_batch, backbone_spec
from msmix.testing.backbone_contract import BACKBONE_CHECKS, PADDING_FIXES, check_backbone
from msmix.testing.latent_batches import LATENT_DIMS, LAYOUTS, LatentBatch, latent_batch
from msmix.testing.mixer_contract import MIXER_CHECKS, check_mixer
from msmix.testing.tiny_backbone import TINY_RECIPE, TinyBackbone
from msmix.testing.tiny_bert import TINY_BERT_VOCAB, write_tiny_bert
from msmix.testing.tiny_data import TINY_DIMS, tiny_dataset, tiny_spec

__all__ = [
    "BACKBONE_CHECKS",
    "BACKBONE_DIMS",
    "BACKBONE_SEQ_LENS",
    "LATENT_DIMS",
    "LAYOUTS",
    "LatentBatch",
    "MIXER_CHECKS",
    "PADDING_FIXES",
    "TINY_BERT_VOCAB",
    "TINY_DIMS",
    "TINY_RECIPE",
    "TinyBackbone",
    "backbone_batch",
    "backbone_spec",
    "check_backbone",
    "check_mixer",
    "latent_batch",
    "tiny_dataset",
    "tiny_spec",
    "write_tiny_bert",
]
