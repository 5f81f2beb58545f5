"""Does a run train on CUDA to the numbers it reaches on the CPU? Part (a) of ``gpu_check.py``.

Each backbone x mixer trains the same short fp32 run twice, from the same seed: on the CPU and on
the device under test. Both runs draw their random numbers from the same CPU streams
(``same_random_draws.SameRandomDraws``), use the math attention kernel (the fused ones draw their
dropout inside the kernel) and full-precision fp32 products (TF32 off), so what remains between them
is the order in which sums are taken. The table gives the largest relative difference among the
last epoch's train loss, validation loss, validation MAE and correlation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from msmix.data import Dataset
from msmix.train import RunSpec, assemble, resolve
from same_random_draws import SameRandomDraws

COMPARED = ("train_loss", "valid_loss", "valid_MAE", "valid_Corr")
TOLERANCE = 1e-3
"""Largest relative difference counted as equal: fp32 sums taken in another order differ by about
1e-7 relatively per operation; a few hundred steps of training grow that to 1e-5 .. 1e-4, while a
kernel computing something else (a wrong mask, a lost term) moves these numbers by far more."""


@dataclass
class Comparison:
    backbone: str
    mixer: str
    reference: dict[str, float]
    device_values: dict[str, float]

    @property
    def largest_difference(self) -> float:
        return max(abs(self.device_values[k] - v) / max(abs(v), 1e-12) for k, v in self.reference.items())

    @property
    def equal(self) -> bool:
        return self.largest_difference <= TOLERANCE


@contextlib.contextmanager
def comparable_arithmetic() -> Iterator[None]:
    """Full fp32 products and the math attention kernel, restored afterwards."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        with sdpa_kernel([SDPBackend.MATH]):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def trained(backbone: str, mixer: str, data: Dataset, device: str, epochs: int) -> dict[str, float]:
    """The compared numbers of the last epoch of a fresh fp32 run on ``device``."""
    train = {"device": device, "max_epochs": epochs, "patience": epochs, "precision": "fp32"}
    spec = RunSpec(data="toy", backbone=backbone, mixer=mixer, seed=1111, train=train)
    trainer = assemble(resolve(spec, data.spec), data, progress=False)
    with comparable_arithmetic(), SameRandomDraws():
        trainer.fit()
    last = trainer.history.iloc[-1]
    return {k: float(last[k]) for k in COMPARED}


def compare(backbone: str, mixer: str, data: Dataset, device: str, epochs: int) -> Comparison:
    return Comparison(backbone, mixer, trained(backbone, mixer, data, "cpu", epochs), trained(backbone, mixer, data, device, epochs))


def table(rows: list[Comparison], device: str) -> str:
    lines = [f"| backbone | mixer | CPU valid loss | {device} valid loss | largest relative difference | equal (<= {TOLERANCE:g}) |",
             "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r.backbone} | {r.mixer} | {r.reference['valid_loss']:.6f} | {r.device_values['valid_loss']:.6f} "
              f"| {r.largest_difference:.2e} | {'yes' if r.equal else 'NO'} |" for r in rows]
    return "\n".join(lines)
