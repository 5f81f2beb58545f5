"""Does a training epoch run on a CUDA device without host synchronisation, and how long does it take?

For every backbone and mixer, on the demo data (MOSI's shapes; time-averaged audio and vision for
TFN and LMF, sequences for the others), one warm-up epoch, then one epoch
under ``torch.cuda.set_sync_debug_mode("warn")``: every operation that makes the host wait for the
device (``.item()``, ``nonzero``, a copy from pageable memory, ...) warns, and the msmix line that
called it is reported with its count. The timed epoch is the watched one (training batches only,
no validation).

    PYTHONPATH=. python benchmarks/cuda_step_check.py --out cuda_step_check.json

On a machine without CUDA it runs on the CPU, without the guard, as a dry run of the script.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

import torch

import msmix.data
import msmix.mixing
import msmix.models
from msmix.train import RunSpec, StackedTrainer, Trainer, assemble, resolve


def watched(work, cuda: bool) -> tuple[object, Counter[str], float]:
    """Run ``work()`` with synchronising CUDA operations reported; its result, the msmix lines that
    synchronised (with counts) and the seconds it took."""
    syncs: Counter[str] = Counter()

    def record(message, category, filename, lineno, file=None, line=None) -> None:
        if "ynchroniz" in str(message):
            frames = [f for f in traceback.extract_stack() if "/msmix/" in f.filename or f.filename.endswith(__file__)]
            where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "(outside msmix)"
            syncs[where] += 1

    if cuda:
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("warn")
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = record
        try:
            result = work()
        finally:
            if cuda:
                torch.cuda.set_sync_debug_mode(0)
                torch.cuda.synchronize()
    return result, syncs, time.perf_counter() - started


def warmed_trainer(backbone: str, mixer: str, data: msmix.data.Dataset, device: str) -> Trainer:
    """A trainer of the backbone's recipe on ``device`` that has trained one epoch (kernels chosen,
    allocator and cuDNN plans warm), ready for a watched ``_train_epoch(2)``."""
    spec = RunSpec(data="toy", backbone=backbone, mixer=mixer, seed=1111, train={"device": device, "max_epochs": 2})
    trainer = assemble(resolve(spec, data.spec), data, progress=False)
    trainer._train_epoch(1)
    return trainer


def warmed_stacked(backbone: str, data: msmix.data.Dataset, device: str, seeds: int = 2) -> StackedTrainer:
    """``seeds`` MS-Mix runs of the backbone's recipe stacked on ``device``, warmed by one stacked
    epoch (the second epoch's per-member learning rates differ, so its step takes the scaled path)."""
    specs = [RunSpec(data="toy", backbone=backbone, mixer="msmix", seed=1111 + s, train={"device": device, "max_epochs": 2})
             for s in range(seeds)]
    stacked = StackedTrainer([assemble(resolve(spec, data.spec), data, progress=False) for spec in specs], progress=False)
    for member in stacked.members:
        member.start()
    stacked._train_epoch([1.0] * seeds)
    return stacked


def epoch(backbone: str, mixer: str, data: msmix.data.Dataset, device: str) -> dict:
    trainer = warmed_trainer(backbone, mixer, data, device)
    cuda = device == "cuda"
    sums, syncs, seconds = watched(lambda: trainer._train_epoch(2), cuda)
    finite = bool(torch.isfinite(sums).all()) if sums is not None else False
    problem = ", ".join(f"{where} x{n}" for where, n in syncs.most_common())
    return {"backbone": backbone, "mixer": mixer, "device": device, "no_sync": not syncs, "problem": problem,
            "epoch_seconds": round(seconds, 4), "finite_losses": finite}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="*", default=msmix.models.available())
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":  # the watch must see a deliberate synchronisation, or its silence means nothing
        _, seen, _ = watched(lambda: torch.ones(3, device="cuda").sum().item(), cuda=True)
        assert sum(seen.values()) >= 1, "the synchronisation watch did not see a deliberate .item()"
        print(f"the watch sees a deliberate .item(): {dict(seen)}")
    averaged, sequences = msmix.data.load("toy", time_average=True), msmix.data.load("toy")
    rows = [
        epoch(b, m, averaged if msmix.models.backbone_class(b).needs_time_average else sequences, device)
        for b in args.backbones
        for m in msmix.mixing.available()
    ]
    data = averaged
    name = torch.cuda.get_device_name() if device == "cuda" else platform.processor() or platform.machine()
    print(f"{name}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}; demo data, {len(data.train)} training samples\n")
    print("| backbone | mixer | no host sync | epoch s | synchronising lines (count) |\n| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['backbone']} | {r['mixer']} | {'yes' if r['no_sync'] else 'NO'} | {r['epoch_seconds']:.4f} | {r['problem']} |")
    if args.out:
        args.out.write_text(json.dumps({"device": name, "torch": torch.__version__, "rows": rows}, indent=1))
    return 0 if all(r["finite_losses"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
