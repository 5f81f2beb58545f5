"""A backbone's predictions for a split or a batch: the one inference path of the trainer (validation,
test), the CLI (``msmix evaluate`` / ``predict``) and the workbench."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from msmix.data.batch import Batch
from msmix.data.dataset import Split
from msmix.models.base import Backbone, Encoded, FuseOutput


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` in eval mode inside the block, then back in the mode it was in."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def device_of(module: nn.Module) -> torch.device:
    """Where a module's parameters live (the CPU for a module without any)."""
    parameter = next(module.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def predict(
    model: Backbone,
    source: Split | Batch,
    batch_size: int = 256,
    encode: Callable[[Batch], Encoded] | None = None,
    fuse: Callable[..., FuseOutput] | None = None,
) -> Tensor:
    """(N,) float32 predictions on the model's device, in eval mode and without autograd.

    Args:
        model: the backbone.
        source: a whole split (scored in ``batch_size`` batches) or one batch; moved to the model's
            device batch by batch when it lives elsewhere.
        encode, fuse: replacements for ``model.encode`` / ``model.fuse`` (e.g. compiled ones).
    """
    encode = encode or model.encode
    fuse = fuse or model.fuse
    device = device_of(model)
    batches: Any = source.batches(batch_size) if isinstance(source, Split) else [source]
    with eval_mode(model), torch.inference_mode():
        preds = []
        for batch in batches:
            enc = encode(batch.to(device))
            preds.append(fuse(enc.latents, enc.masks).pred.reshape(-1))
    return torch.cat(preds).float()
