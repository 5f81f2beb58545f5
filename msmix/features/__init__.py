"""Features from raw data: MMSA-format pickles from a ``label.csv``, transcripts and media.

``build_features`` writes what ``msmix.data.load`` reads: per-token text states of a local
transformers encoder (all-MiniLM-L6-v2 by default) with MMSA's ``text_bert`` tokens, audio frame
features (openSMILE eGeMAPS or librosa) where media exist, facial action units from OpenFace
CSVs where given; a modality without a source is marked missing (length 0).
"""

from msmix.features.audio import AUDIO_EXTRACTORS, audio_frames, decode_audio
from msmix.features.build import FeatureReport, FeatureSettings, build_features
from msmix.features.text import TextEncoder
from msmix.features.vision import openface_frames

__all__ = [
    "AUDIO_EXTRACTORS", "FeatureReport", "FeatureSettings", "TextEncoder", "audio_frames", "build_features",
    "decode_audio", "openface_frames",
]
