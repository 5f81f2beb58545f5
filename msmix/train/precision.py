"""The arithmetic precision of a run's forward passes: fp32, or bf16 autocast.

With ``"bf16"`` the forward pass and the loss of each training step, and the forward passes of
evaluation, run under ``torch.autocast`` with bfloat16: matrix products and convolutions compute in
bf16 while weights, gradients and the optimiser's state stay float32. bfloat16 keeps float32's
exponent range, so no loss scaling is needed. ``"fp32"`` runs everything in float32, as before.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import torch

from msmix.train.errors import DeviceError

PRECISIONS = ("fp32", "bf16")


def check_precision_supported(precision: str, device: torch.device) -> None:
    """Refuse bf16 on a CUDA device that has no bfloat16 arithmetic (before Ampere)."""
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise DeviceError(f"train.precision 'bf16' was asked for, but the CUDA device {torch.cuda.get_device_name(device)} "
                          "has no bfloat16 support; use precision 'fp32'")


def autocast(precision: str, device: torch.device) -> AbstractContextManager[object]:
    """The context a forward pass runs in: bf16 autocast on ``device``, or nothing for fp32."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()
