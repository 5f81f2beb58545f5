"""The training objective of N stacked members, each on its own batch with its own mixer.

The same path as ``msmix.train.step.training_loss``, member by member: encode, mix, fuse the B
originals and k mixed samples as one batch, score. Encoding and fusing run once for all members
(``StackedBackbone``); the mixer runs per member, with the member's own generator and parameters,
so every member draws exactly the pairs and ratios its separate run would. Its k is fixed by B and
the settings, so the members' mixed samples stack.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from msmix.data.batch import Batch
from msmix.mixing.base import Mixer, MixResult
from msmix.mixing.objective import LossParts, ObjectiveConfig, objective
from msmix.models.base import Encoded
from msmix.train.stacked_model import StackedBackbone
from msmix.train.step import concat_masks, mixed_batch


def stacked_training_loss(
    model: StackedBackbone,
    mixers: Sequence[Mixer],
    batches: Sequence[Batch],
    objective_config: ObjectiveConfig,
    generators: Sequence[torch.Generator],
) -> list[LossParts]:
    """Each member's loss parts for its batch (``training_loss`` for N members at once)."""
    point = mixers[0].point
    if point == "input":
        mixes = [
            mixer(batch.features(), batch.labels, generator=g, masks=batch.masks())
            for mixer, batch, g in zip(mixers, batches, generators)
        ]
        enc = model.encode(batches)
        mixed = model.encode([mixed_batch(b, mix) for b, mix in zip(batches, mixes)]) if mixes[0].k > 0 else None
    elif point == "latent":
        enc = model.encode(batches)
        mixes = [
            mixer(_member(enc.latents, i), batch.labels, generator=g, masks=_member(enc.masks, i))
            for i, (mixer, batch, g) in enumerate(zip(mixers, batches, generators))
        ]
        mixed = _stack_mixed(mixes) if mixes[0].k > 0 else None
    else:
        raise ValueError(f"mixer {mixers[0].name!r} has point {point!r}; expected 'input' or 'latent'")
    b = len(batches[0])
    if mixed is None:
        out = model.fuse(enc.latents, enc.masks)
    else:
        latents = {m: torch.cat([z, mixed.latents[m]], dim=1) for m, z in enc.latents.items()}
        out = model.fuse(latents, _joined_masks(enc, mixed, b, mixes[0].k))
    pred = out.pred.reshape(model.size, -1)
    return [
        objective(pred[i, :b], batch.labels, pred[i, b:], mix, objective_config, _member(out.aux_losses, i))
        for i, (batch, mix) in enumerate(zip(batches, mixes))
    ]


def _member(values: dict[str, Tensor | None], i: int) -> dict[str, Tensor | None]:
    """Member ``i``'s slice of stacked tensors (None stays None)."""
    return {name: None if v is None else v[i] for name, v in values.items()}


def _stack_mixed(mixes: Sequence[MixResult]) -> Encoded:
    """The members' mixed latents and masks, stacked (k is the same for every member)."""
    ks = {mix.k for mix in mixes}
    if len(ks) != 1:
        raise RuntimeError(f"stacked members mixed different numbers of samples: {sorted(ks)}")
    latents = {m: torch.stack([mix.mixed[m] for mix in mixes]) for m in mixes[0].mixed}
    masks = {
        m: None if mixes[0].masks.get(m) is None else torch.stack([mix.masks[m] for mix in mixes])
        for m in mixes[0].masks
    }
    return Encoded(latents, masks)


def _joined_masks(enc: Encoded, mixed: Encoded, b: int, k: int) -> dict[str, Tensor | None]:
    """Per member, the masks of the originals followed by those of the mixed samples."""
    sizes = {m: (b, k, z.shape[2]) for m, z in enc.latents.items()}  # z: (N, B, T, d) or (N, B, d)
    members = next(iter(enc.latents.values())).shape[0]
    joined = [concat_masks(_member(enc.masks, i), _member(mixed.masks, i), sizes) for i in range(members)]
    return {m: None if joined[0][m] is None else torch.stack([j[m] for j in joined]) for m in sizes}
