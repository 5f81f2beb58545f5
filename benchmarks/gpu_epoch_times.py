"""Seconds per epoch and peak memory of every backbone at MOSI's shapes: fp32, bf16, compiled, and
fp32 writing its checkpoints.

Part (c) of ``gpu_check.py``. Each backbone trains its published MOSI recipe (batch size included)
with no augmentation on a MOSI-shaped unaligned_50 file (``mmsa_epoch.make_data``, the file MMSA's
side of ``epoch_time.py`` reads), for a few epochs; an epoch is one training pass and one validation
pass, as in MMSA's trainer, and the first one (kernel selection, compilation) is left out of the
median. The variants: plain fp32, ``precision="bf16"`` (autocast), ``compile=True``
(``torch.compile`` of encode and fuse), ``graphs`` (compiled in ``"reduce-overhead"`` mode, which
replays CUDA graphs), ``checkpoints`` (plain fp32 writing ``last.pt`` after every epoch, as
runs with an output folder do by default: on a GPU that write can outlast a small backbone's
epoch, which ``checkpoint_seconds`` spaces out) and ``unpadded`` (fp32 without the zero-padding of
attention head sizes that lets CUDA's fused kernel serve GLoMo and MulT). Peak memory is
``torch.cuda.max_memory_allocated`` over the variant's run (not measured on a CPU).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import msmix.data
import msmix.mixing
import msmix.models
from msmix.models.attention import head_padding
from msmix.train import TrainConfig, Trainer

VARIANTS = {
    "fp32": {},
    "bf16": {"precision": "bf16"},
    "compile": {"compile": True},
    "graphs": {"compile": True, "compile_mode": "reduce-overhead"},
    "checkpoints": {},
    "unpadded": {},
}
COMPILED = ("compile", "graphs")
WRITES_CHECKPOINTS = ("checkpoints",)
"""Variants trained with a run folder: ``last.pt`` after every epoch (``checkpoint_seconds`` 0), as
``msmix train --out`` and sweeps do by default; the others keep nothing on disk."""
UNPADDED = ("unpadded",)
"""Variants whose attention keeps head sizes the fused CUDA kernels cannot take (GLoMo 3, MulT 6)
instead of zero-padding them (``msmix.models.attention.head_padding``): the math kernel's time and
memory, beside fp32's padded ones."""


@dataclass
class EpochTime:
    backbone: str
    variant: str
    batch_size: int
    seconds_per_epoch: float
    first_epoch_seconds: float
    peak_mib: float | None
    valid_loss: float = float("nan")  # after the last epoch: the variants' numerics side by side


def load_mosi_shaped(path: Path, backbone: str) -> msmix.data.Dataset:
    return msmix.data.load(str(path), time_average=msmix.models.backbone_class(backbone).needs_time_average)


def recipe_trainer(backbone: str, mixer: str, data: msmix.data.Dataset, device: str, run_dir: str | None = None,
                   **settings: Any) -> Trainer:
    """A Trainer of the backbone's published MOSI recipe (``settings`` override it) with ``mixer``,
    its weights drawn from seed 1111."""
    torch.manual_seed(1111)
    model = msmix.models.create(backbone, data.spec)
    config = TrainConfig.for_backbone(backbone, "mosi", device=device, **settings)
    return Trainer(model, msmix.mixing.create(mixer, model.latent_dims, data.spec.label_range), data, config,
                   run_dir=run_dir, progress=False)


def time_variant(backbone: str, variant: str, data: msmix.data.Dataset, device: str, epochs: int) -> EpochTime:
    """Train ``epochs`` epochs of the backbone's MOSI recipe in ``variant``; its median epoch after the
    first, from one epoch's end to the next (so a checkpoint write counts in its epoch)."""
    cuda = device == "cuda"
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    with tempfile.TemporaryDirectory() as folder:
        run_dir = folder if variant in WRITES_CHECKPOINTS else None
        trainer = recipe_trainer(backbone, "none", data, device, run_dir=run_dir, max_epochs=epochs, patience=epochs + 1,
                                 **VARIANTS[variant])
        ends: list[float] = []
        trainer.add_callback("on_epoch_end", lambda t, record: ends.append(time.perf_counter()))
        with head_padding(variant not in UNPADDED):
            trainer.fit()
    first = float(trainer.history["seconds"].iloc[0])
    between = [b - a for a, b in zip(ends, ends[1:])]
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
    return EpochTime(backbone, variant, trainer.config.batch_size, statistics.median(between or [first]), first, peak,
                     float(trainer.history["valid_loss"].iloc[-1]))


def table(rows: list[EpochTime]) -> str:
    """Times, memory, and each variant's last validation loss beside plain fp32's (same seed and data:
    compiled and bf16 runs should land close, not equal)."""
    lines = ["| backbone | variant | batch | s/epoch (median after the first) | first epoch s | peak MiB | last valid loss | minus fp32's |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    plain = {r.backbone: r.valid_loss for r in rows if r.variant == "fp32"}
    for r in rows:
        peak = f"{r.peak_mib:.0f}" if r.peak_mib is not None else "n/a (CPU)"
        delta = f"{r.valid_loss - plain[r.backbone]:+.2e}" if r.backbone in plain else "-"
        lines.append(f"| {r.backbone} | {r.variant} | {r.batch_size} | {r.seconds_per_epoch:.4f} | {r.first_epoch_seconds:.3f} | "
                     f"{peak} | {r.valid_loss:.4f} | {delta} |")
    return "\n".join(lines)
