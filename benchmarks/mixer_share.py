"""MS-Mix's share of a training step, from whole training passes of the real trainer: part (g) of
``gpu_check.py``.

The issue's goal is one MS-Mix call at most 10 % of a step. ``mixer_cost.py`` times the call's
pieces on a CPU; on a GPU a step is bound by kernel launches and the host, so the honest measure
is the trainer's own training pass (every batch: encode, mix, fuse, objective, backward, Adam; no
validation and no per-epoch intensity probe). Each backbone's published MOSI recipe (fp32) trains
on the MOSI-shaped file with no mixer, with Manifold Mixup and with MS-Mix, the three timed in turn
each round so a change of load hits all alike, after one untimed pass. Manifold Mixup mixes the
same 2B rows through random pairs without any predictor, so MS-Mix minus Manifold is the call
itself (intensity predictors, SAL, SASS, SIG); MS-Mix minus no mixer adds fusing the mixed half
of the batch, the price of any latent mixup.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch

import msmix.data
from msmix.train import Trainer

import gpu_epoch_times  # benchmarks/, beside this script

MIXERS = ("none", "manifold", "msmix")
GOAL = 0.10


@dataclass
class MixerShare:
    backbone: str
    batch_size: int
    seconds: dict[str, float]  # median seconds of a training pass, per mixer

    @property
    def call_share(self) -> float:
        """(MS-Mix - Manifold) / MS-Mix: what the MS-Mix call adds to a step."""
        return (self.seconds["msmix"] - self.seconds["manifold"]) / self.seconds["msmix"]

    @property
    def mixing_share(self) -> float:
        """(MS-Mix - none) / MS-Mix: the call plus fusing the mixed half of the batch."""
        return (self.seconds["msmix"] - self.seconds["none"]) / self.seconds["msmix"]


def measure(backbone: str, data: msmix.data.Dataset, device: str, passes: int) -> MixerShare:
    """Median seconds of a training pass with each of MIXERS, over ``passes`` timed passes."""
    trainers = {m: _started_trainer(backbone, m, data, device) for m in MIXERS}
    seconds: dict[str, list[float]] = {m: [] for m in MIXERS}
    for epoch in range(1, passes + 2):
        for m, trainer in trainers.items():
            _synchronize(device)
            start = time.perf_counter()
            trainer._train_epoch(epoch)
            _synchronize(device)
            if epoch > 1:  # the first pass chooses kernels and warms the allocator
                seconds[m].append(time.perf_counter() - start)
    batch = trainers["msmix"].config.batch_size
    return MixerShare(backbone, batch, {m: statistics.median(s) for m, s in seconds.items()})


def _started_trainer(backbone: str, mixer: str, data: msmix.data.Dataset, device: str) -> Trainer:
    trainer = gpu_epoch_times.recipe_trainer(backbone, mixer, data, device)
    trainer.start()
    return trainer


def _synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def table(rows: list[MixerShare]) -> str:
    lines = ["| backbone | batch | none s/pass | manifold s/pass | msmix s/pass | MS-Mix call share | all mixing share | goal |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        s = r.seconds
        lines.append(f"| {r.backbone} | {r.batch_size} | {s['none']:.4f} | {s['manifold']:.4f} | {s['msmix']:.4f} | "
                     f"{100 * r.call_share:.1f}% | {100 * r.mixing_share:.1f}% | <= {100 * GOAL:.0f}% (call) |")
    return "\n".join(lines)
