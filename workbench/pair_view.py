"""What MS-Mix would do to one batch under given settings, step by step, for the SASS and SIG panels.

``pair_view`` runs the two steps ``MSMix.forward`` runs (``msmix.mixing.msmix.sass`` and
``sig_mix``) with a generator seeded the same way, so with the same seed it picks the same pairs
and ratios as the mixer itself. Unlike the mixer, it keeps what a display needs: the candidate mask and the
polarity-conflict rates of the selection and of a random pairing.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from msmix.data.dataset import Dataset
from msmix.mixing.base import Mixer, MixResult
from msmix.mixing.diagnostics import polarity_conflict_rate, random_pairing_conflict_rate
from msmix.mixing.msmix import PRESETS, MSMixConfig, sass, sig_mix
from msmix.mixing.sass import PairSelection
from workbench.sources import LatentBatch, encode_sample, intensities_of, load_data, resolve_model, resolve_msmix


@dataclass
class PairView:
    """One batch under one MS-Mix setting.

    Attributes:
        similarity: (B, B) the similarity pairs are thresholded on (min-maxed if the setting says so).
        selection: SASS's pairs (``index_a``, ``index_b``, ``candidate_mask``, ``n_candidates``, ...).
        mix: the MixResult MS-Mix would return (pairs, ratios, label ratio, mixed latents and
            labels, similarity, intensities), without the alignment loss.
        conflict_selected: polarity-conflict rate of the k drawn pairs (NaN when k = 0).
        conflict_candidates: the same over every candidate pair.
        conflict_random: expected rate of a uniformly random pairing of the batch.
    """

    similarity: Tensor
    selection: PairSelection
    mix: MixResult
    conflict_selected: float
    conflict_candidates: float
    conflict_random: float

    @property
    def k(self) -> int:
        return self.selection.k


def pair_view(
    latents: dict[str, Tensor],
    masks: dict[str, Tensor | None],
    labels: Tensor,
    intensities: dict[str, Tensor],
    config: MSMixConfig,
    seed: int = 0,
) -> PairView:
    """MS-Mix's selection and ratios for one batch (``config`` is resolved against its preset first).
    As in training, only the modalities with intensities (those the data hold) decide the pairs."""
    cfg = config.resolved()
    generator = torch.Generator().manual_seed(seed)
    similarity, selection = sass({m: latents[m] for m in intensities}, labels, masks, cfg, generator)
    mix = sig_mix(latents, labels, masks, intensities, similarity, selection, cfg, generator)
    a, b = selection.index_a, selection.index_b
    candidates = selection.candidate_mask.nonzero()
    return PairView(
        similarity=similarity,
        selection=selection,
        mix=mix,
        conflict_selected=polarity_conflict_rate(labels, a, b),
        conflict_candidates=polarity_conflict_rate(labels, candidates[:, 0], candidates[:, 1]),
        conflict_random=random_pairing_conflict_rate(labels),
    )


@dataclass
class PairInputs:
    """What the SASS and SIG panels start from: a batch of latents, its intensities, the settings."""

    sample: LatentBatch
    intensities: dict[str, Tensor]
    config: MSMixConfig
    note: str
    source: str
    history: pd.DataFrame | None = None  # the epoch history of the run the model came from, if any


def prepare(
    model: Any,
    data: Dataset | str,
    mixer: Mixer | None,
    split: str,
    batch_size: int,
    seed: int,
    settings: dict[str, Any],
) -> PairInputs:
    """Encode a batch (or take a ``LatentBatch`` as given), pick the MS-Mix mixer, apply the settings."""
    if isinstance(model, LatentBatch):
        sample, trained, what, source = model, None, "latents as given", ""
    else:
        dataset = load_data(data, model)
        found = resolve_model(model, dataset.spec, seed)
        sample = encode_sample(found.model, dataset, split, batch_size, seed)
        trained, what, source = found.mixer, found.description, dataset.source
    dims = {m: z.shape[-1] for m, z in sample.latents.items()}
    msmix_mixer, whose = resolve_msmix(dims, sample.spec, mixer, trained, seed)
    note = (f"{html.escape(what)}; {whose}; {len(sample)} samples of the {sample.split} split"
            + ("" if isinstance(model, LatentBatch) else f" (seed {seed})") + ".")
    history = getattr(model, "history", None)
    return PairInputs(sample, intensities_of(msmix_mixer, sample), with_settings(msmix_mixer.config, **settings),
                      note, source, history if isinstance(history, pd.DataFrame) else None)


def with_settings(config: MSMixConfig, **settings: Any) -> MSMixConfig:
    """``config`` with some settings replaced; a new ``preset`` decides whatever the others leave open."""
    if "preset" in settings:
        # the preset's keys, and SAL's scale, which follows the SAL form the preset picks
        config = replace(config, **{key: None for key in [*PRESETS.get(settings["preset"], {}), "sal_scale"]})
    return replace(config, **settings)
