"""The training forward pass: encode, mix, fuse originals and mixed samples together, score.

For a latent mixer: ``encode(batch)`` -> ``mixer(latents)`` -> one ``fuse`` over the B originals
and the k mixed samples concatenated (B + k rows). For an input mixer: ``mixer(batch features)``
-> the mixed inputs form a second Batch, encoded on its own (so batch-statistics layers see the
originals exactly as with a latent mixer) -> the same single ``fuse`` over B + k rows.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from msmix.data.batch import Batch
from msmix.mixing.base import Mixer, MixResult
from msmix.mixing.objective import LossParts, ObjectiveConfig, objective
from msmix.models.base import Backbone, Encoded, FuseOutput

Encode = Callable[[Batch], Encoded]
Fuse = Callable[..., FuseOutput]


def mixed_batch(batch: Batch, mix: MixResult) -> Batch:
    """The k mixed inputs of an input mixer as a Batch.

    A mixed sequence is valid where a parent is; with right (or left) padding that union is again
    a prefix (suffix), so its length is the mask's count of valid frames.
    """
    lengths = {m: mask.sum(dim=1) for m, mask in mix.masks.items() if mask is not None}
    return Batch(
        text=mix.mixed["text"],
        audio=mix.mixed["audio"],
        vision=mix.mixed["vision"],
        labels=mix.labels,
        lengths=lengths,
        padding=batch.padding,
    )


def concat_masks(
    first: dict[str, Tensor | None], second: dict[str, Tensor | None], sizes: dict[str, tuple[int, int, int]]
) -> dict[str, Tensor | None]:
    """Masks of two stacked batches; where only one side has a mask, the other's frames all count as valid.

    ``sizes[m]`` is ``(rows of first, rows of second, T)``; None where neither side has a mask.
    """
    masks: dict[str, Tensor | None] = {}
    for m, (n1, n2, steps) in sizes.items():
        a, b = first.get(m), second.get(m)
        if a is None and b is None:
            masks[m] = None
            continue
        like = a if a is not None else b
        a = a if a is not None else like.new_ones((n1, steps))
        b = b if b is not None else like.new_ones((n2, steps))
        masks[m] = torch.cat([a, b])
    return masks


def training_loss(
    model: Backbone,
    mixer: Mixer,
    batch: Batch,
    objective_config: ObjectiveConfig,
    generator: torch.Generator | None = None,
    encode: Encode | None = None,
    fuse: Fuse | None = None,
) -> LossParts:
    """The objective of one training batch (``encode``/``fuse`` default to the model's own).

    Args:
        model: the backbone (in train mode).
        mixer: the augmentation; its ``point`` says whether it mixes inputs or latents.
        batch: B original samples.
        objective_config: loss type and weights.
        generator: drives the mixer's random draws.
        encode, fuse: replacements for ``model.encode`` / ``model.fuse`` (e.g. compiled ones).
    """
    encode = encode or model.encode
    fuse = fuse or model.fuse
    if mixer.point == "input":
        mix = mixer(batch.features(), batch.labels, generator=generator, masks=batch.masks())
        enc = encode(batch)
        mixed = encode(mixed_batch(batch, mix)) if mix.k > 0 else None
    elif mixer.point == "latent":
        enc = encode(batch)
        mix = mixer(enc.latents, batch.labels, generator=generator, masks=enc.masks)
        mixed = Encoded(mix.mixed, mix.masks) if mix.k > 0 else None
    else:
        raise ValueError(f"mixer {mixer.name!r} has point {mixer.point!r}; expected 'input' or 'latent'")
    b = len(batch)
    if mixed is None:
        out = fuse(enc.latents, enc.masks)
    else:
        latents = {m: torch.cat([z, mixed.latents[m]]) for m, z in enc.latents.items()}
        sizes = {m: (b, mix.k, z.shape[1]) for m, z in enc.latents.items()}
        out = fuse(latents, concat_masks(enc.masks, mixed.masks, sizes))
    pred = out.pred.reshape(-1)
    return objective(pred[:b], batch.labels, pred[b:], mix, objective_config, out.aux_losses)
