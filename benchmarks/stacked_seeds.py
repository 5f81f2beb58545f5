"""Throughput of N seeds trained stacked against the same N seeds trained one after another.

    PYTHONPATH=. python benchmarks/stacked_seeds.py [--data FILE.pkl] [--backbones tfn lmf] [--seeds 5] [--epochs 3]

Each backbone trains its published recipe with MS-Mix for ``--epochs`` epochs on each seed, first
as separate runs (the ordinary Trainer, in turn), then as one StackedTrainer; the table gives both
wall times, their ratio (the stacked speed-up: seeds per second, stacked over sequential) and, on
CUDA, the peak memory of each. Early stopping is off (patience beyond the epochs), so both sides
train exactly the same epochs; one untimed run goes first, so neither side pays first-use costs.
Part (e) of ``gpu_check.py``; without ``--data`` it runs on the demo data set (synthetic).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

import msmix.data
import msmix.models
from msmix.train import RunSpec
from msmix.train.assemble import assemble
from msmix.train.resolve import resolve
from msmix.train.stacked import StackedTrainer

import gpu_epoch_times  # benchmarks/, beside this script

STACKABLE = [b for b in msmix.models.available() if msmix.models.backbone_class(b).stackable]


@dataclass
class StackedTime:
    backbone: str
    seeds: int
    epochs: int
    sequential_seconds: float
    stacked_seconds: float
    sequential_peak_mib: float | None
    stacked_peak_mib: float | None
    vmap_fallbacks: tuple[str, ...] = ()  # operators vmap ran once per member (no batching rule)

    @property
    def speedup(self) -> float:
        return self.sequential_seconds / self.stacked_seconds


def measure(backbone: str, data: msmix.data.Dataset, seeds: int, epochs: int, device: str) -> StackedTime:
    """Wall seconds (and peak memory on CUDA) of ``seeds`` MS-Mix runs in turn, then stacked."""
    train = {"max_epochs": epochs, "patience": epochs + 1, "device": device}
    specs = [RunSpec(data="given", backbone=backbone, mixer="msmix", seed=s, train=train) for s in range(1, seeds + 1)]

    def trainers() -> list:
        return [assemble(resolve(spec, data.spec), data, progress=False) for spec in specs]

    trainers()[0].fit()  # untimed warm-up, so neither side pays first-use costs (allocator, kernels)
    sequential, seq_peak = _timed(lambda: [t.fit() for t in trainers()], device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stacked, stacked_peak = _timed(lambda: StackedTrainer(trainers(), progress=False).fit(), device)
    fallbacks = sorted({m.group(1) for w in caught if (m := FALLBACK.search(str(w.message)))})
    return StackedTime(backbone, seeds, epochs, sequential, stacked, seq_peak, stacked_peak, tuple(fallbacks))


FALLBACK = re.compile(r"batching rule for (aten::\w+(?:\.\w+)?)")
"""vmap's warning when an operator has no batching rule and runs once per member instead."""


def _timed(work: Callable[[], object], device: str) -> tuple[float, float | None]:
    cuda = device == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    work()
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return seconds, torch.cuda.max_memory_allocated() / 2**20 if cuda else None


def table(rows: list[StackedTime], device: str) -> str:
    def mib(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    lines = [
        f"Device: {device}. MS-Mix, published recipe, every seed the same epochs; ratio = sequential / stacked.",
        "",
        "| backbone | seeds | epochs | sequential s | stacked s | speed-up | peak MiB sequential | peak MiB stacked "
        "| run once per member (no vmap rule) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.backbone} | {r.seeds} | {r.epochs} | {r.sequential_seconds:.1f} | {r.stacked_seconds:.1f} | "
        f"{r.speedup:.2f}x | {mib(r.sequential_peak_mib)} | {mib(r.stacked_peak_mib)} | {', '.join(r.vmap_fallbacks) or 'none'} |"
        for r in rows
    ]
    return "\n".join(lines)


def load(path: str | None, backbone: str) -> msmix.data.Dataset:
    """The feature file (default: the demo data) as ``backbone`` reads it."""
    return gpu_epoch_times.load_mosi_shaped(Path(path or "toy"), backbone)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="an MMSA feature pickle (default: the synthetic demo data)")
    parser.add_argument("--backbones", nargs="+", choices=STACKABLE, default=["tfn", "lmf"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    rows = [measure(b, load(args.data, b), args.seeds, args.epochs, args.device) for b in args.backbones]
    print(table(rows, torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {torch.get_num_threads()} threads"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
