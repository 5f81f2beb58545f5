"""Seconds per epoch of MMSA 2.2.1's own pipeline (its data loader and trainer) for TFN and LMF.

This is the MMSA half of the speed comparison: the same MOSI-shaped file, model config and batch
size are then timed through msmix, and the ratio recorded. It runs inside a virtual environment of
MMSA's own, never msmix's, and imports nothing from msmix.

Set-up (once, outside the repository; Python 3.11 takes the CPU torch wheel already on disk):

    python3.11 -m venv /path/to/mmsa-venv
    /path/to/mmsa-venv/bin/pip install torch==2.13.0
    /path/to/mmsa-venv/bin/pip install MMSA==2.2.1

Importing MMSA also imports transformers (pulled in by the wheel). TFN, LMF and MulT build no
BERT; MISA always fine-tunes one, read from ``--bert`` (a local folder: nothing is downloaded).

torch 2.13 no longer accepts the ``verbose`` argument MMSA's MulT trainer passes to
``ReduceLROnPlateau``; the script hands that trainer a ``ReduceLROnPlateau`` that drops it (it only
printed learning-rate changes), so MMSA's MulT runs unchanged otherwise.

Run:

    # a MOSI-shaped unaligned_50 pickle with a quarter of MOSI's samples (random values);
    # 320 rather than 321 train samples: MMSA keeps a last batch of one, which its BatchNorm rejects
    /path/to/mmsa-venv/bin/python benchmarks/mmsa_epoch.py --make-data /tmp/mosi_quarter.pkl \\
        --n-train 320 --n-valid 57 --n-test 171
    # one JSON line per model on stdout
    /path/to/mmsa-venv/bin/python benchmarks/mmsa_epoch.py --data /tmp/mosi_quarter.pkl \\
        --model tfn lmf --epochs 5 --threads 2

How it times: the script builds ``args`` the way ``MMSA.run`` does (``get_config_regression(model,
"mosi")`` plus the run-time keys), on the CPU or on ``--device cuda``, then calls
``MMDataLoader`` and ``ATIO().getTrain(args).do_train`` unchanged. Each epoch of ``do_train``
(train pass with its metrics, validation pass, checkpoint save when validation improves) ends
with the validation ``do_test`` call, which is wrapped to record the time and to stop training
after ``--epochs`` epochs. The first epoch is reported but left out of the median. Both wall-clock
and this process's CPU seconds per epoch are printed: on a machine shared with other work the wall
time grows with the load and the CPU time far less (with ``--threads 1`` it is the cleaner figure).
On such a machine also set ``OMP_WAIT_POLICY=PASSIVE`` (for both sides of a comparison): with more
than one thread, OpenMP's spinning threads otherwise fight the other work and an epoch can take
four times longer.
DataLoader workers default to 0, which on a 2-core machine beats MMSA_run's 4. Progress bars are
off unless ``--progress`` is given (their cost, if anything, flatters MMSA).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

MOSI_UNALIGNED_SHAPES = {"text": (50, 768), "audio": (375, 5), "vision": (500, 20)}
MOSI_SPLIT_SIZES = {"train": 1284, "valid": 229, "test": 686}


def make_mosi_like_split(rng: np.random.Generator, n: int, split: str) -> dict[str, Any]:
    """One split in MMSA's unaligned_50 layout, random values, valid frames first."""
    lengths = {m: rng.integers(1, MOSI_UNALIGNED_SHAPES[m][0] + 1, size=n) for m in ("audio", "vision")}
    feats = {m: rng.standard_normal((n, *shape), dtype=np.float32) for m, shape in MOSI_UNALIGNED_SHAPES.items()}
    valid = {}
    for m in ("audio", "vision"):
        steps = np.arange(MOSI_UNALIGNED_SHAPES[m][0])
        valid[m] = steps[None, :] < lengths[m][:, None]
        feats[m][~valid[m]] = 0.0
    # the real MOSI audio holds -inf inside valid frames
    feats["audio"][valid["audio"][..., None] & (rng.random(feats["audio"].shape) < 1e-3)] = -np.inf
    labels = np.round(rng.uniform(-3, 3, size=n) * 5) / 5
    token_ids = rng.integers(1000, 30000, size=(n, 50)).astype(np.float32)
    text_bert = np.stack([token_ids, np.ones((n, 50), np.float32), np.zeros((n, 50), np.float32)], axis=1)
    return {
        "id": [f"{split}{i // 10:04d}$_${i % 10 + 1}" for i in range(n)],
        "raw_text": [f"synthetic {split} sample {i}" for i in range(n)],
        "text": feats["text"],
        "text_bert": text_bert,
        "audio": feats["audio"],
        "vision": feats["vision"],
        "audio_lengths": lengths["audio"].tolist(),
        "vision_lengths": lengths["vision"].tolist(),
        "regression_labels": labels.astype(np.float64),
        "classification_labels": (np.sign(labels) + 1).astype(np.float64),
        "annotations": [("Negative", "Neutral", "Positive")[int(np.sign(v)) + 1] for v in labels],
    }


def make_data(path: Path, sizes: dict[str, int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    data = {split: make_mosi_like_split(rng, n, split) for split, n in sizes.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(data, f, protocol=4)


def _check_no_batch_of_one(data: Path, n_train: int, batch_size: int) -> None:
    """MMSA's loader keeps a last train batch of one sample, on which BatchNorm raises mid-epoch."""
    if n_train % batch_size == 1:
        raise SystemExit(
            f"{data}: {n_train} train samples leave a last batch of one at batch size {batch_size}, "
            "which MMSA's BatchNorm rejects; use a train size that is not 1 modulo the batch size"
        )


def _clock() -> tuple[float, float]:
    """Wall time, and this process's CPU time (all its threads; DataLoader workers excluded)."""
    return time.perf_counter(), time.process_time()


def _median_after_first(seconds: list[float]) -> float:
    """The first epoch pays one-off costs (allocator, lazy init), so it is left out when it can be."""
    return round(statistics.median(seconds[1:] or seconds), 4)


class _EpochsDone(Exception):
    """Raised from inside ``do_train`` once enough epochs are timed."""


def _accept_removed_verbose_argument() -> None:
    """Let MMSA's MulT trainer build its ReduceLROnPlateau on a torch that removed ``verbose``."""
    import importlib

    import torch

    mult_trainer = importlib.import_module("MMSA.trains.singleTask.MULT")  # the module, not its class

    class ReduceLROnPlateau(torch.optim.lr_scheduler.ReduceLROnPlateau):
        def __init__(self, *args: Any, verbose: bool = False, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)

    mult_trainer.ReduceLROnPlateau = ReduceLROnPlateau


def time_mmsa_epochs(model_name: str, data: Path, opts: argparse.Namespace) -> dict[str, Any]:
    """Run MMSA's own loader and trainer for ``opts.epochs`` epochs; return the timings."""
    import torch
    from MMSA.config import get_config_regression
    from MMSA.data_loader import MMDataLoader
    from MMSA.models import AMIO
    from MMSA.trains import ATIO
    from MMSA.utils import count_parameters, setup_seed

    with tempfile.TemporaryDirectory() as tmp:
        args = get_config_regression(model_name, "mosi")
        args.update(
            featurePath=str(data),
            custom_feature=None,
            feature_T="",
            feature_A="",
            feature_V="",
            device=torch.device(opts.device),
            train_mode="regression",
            cur_seed=1,
            model_save_path=Path(tmp) / f"{model_name}-mosi.pth",
            early_stop=10**9,  # the wrapped validation call ends training instead
        )
        if opts.batch_size:
            args.batch_size = opts.batch_size
        if model_name == "misa":
            if opts.bert is None:
                raise SystemExit("misa fine-tunes BERT: give --bert FOLDER (a local transformers BERT with vocab.txt)")
            args.pretrained = str(opts.bert)
        _accept_removed_verbose_argument()
        setup_seed(opts.seed)
        started = time.perf_counter()
        loaders = MMDataLoader(args, opts.num_workers)
        _check_no_batch_of_one(data, len(loaders["train"].dataset), args.batch_size)
        model = AMIO(args).to(args.device)
        trainer = ATIO().getTrain(args)
        setup_seconds = time.perf_counter() - started

        stamps: list[tuple[float, float]] = []
        validate = trainer.do_test

        def timed_validation(*a: Any, **kw: Any) -> dict[str, float]:
            result = validate(*a, **kw)
            stamps.append(_clock())
            if len(stamps) > opts.epochs:
                raise _EpochsDone
            return result

        trainer.do_test = timed_validation
        stamps.append(_clock())
        try:
            trainer.do_train(model, loaders)
        except _EpochsDone:
            pass
        del trainer.do_test  # back to the trainer's own method
        wall = [b[0] - a[0] for a, b in zip(stamps, stamps[1:])]
        cpu = [b[1] - a[1] for a, b in zip(stamps, stamps[1:])]
        if opts.profile:
            print(profile_epoch(trainer, model, loaders, opts.profile), file=sys.stderr)

    return {
        "pipeline": "MMSA 2.2.1",
        "model": model_name,
        "seconds_per_epoch": _median_after_first(wall),
        "cpu_seconds_per_epoch": _median_after_first(cpu),
        "epoch_seconds": [round(s, 4) for s in wall],
        "setup_seconds": round(setup_seconds, 3),
        "parameters": count_parameters(model),
        "batch_size": args.batch_size,
        "threads": torch.get_num_threads(),
        "num_workers": opts.num_workers,
        "samples": {split: len(loader.dataset) for split, loader in loaders.items()},
        "torch": torch.__version__,
        "device": opts.device,
    }


def profile_epoch(trainer: Any, model: Any, loaders: dict[str, Any], top: int) -> str:
    """torch.profiler table (top ops by self CPU time) of one more epoch of ``do_train``."""
    from torch.profiler import ProfilerActivity, profile

    validate = trainer.do_test

    def stop_after_validation(*a: Any, **kw: Any) -> dict[str, float]:
        validate(*a, **kw)
        raise _EpochsDone

    trainer.do_test = stop_after_validation
    started = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        try:
            trainer.do_train(model, loaders)
        except _EpochsDone:
            pass
    wall = time.perf_counter() - started
    steps = len(loaders["train"])
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=top)
    return f"profiled epoch: {wall:.3f} s wall, {steps} train steps\n{table}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, help="MMSA-format MOSI pickle (unaligned_50 layout)")
    p.add_argument("--model", nargs="+", choices=("tfn", "lmf", "mult", "misa"), default=["tfn", "lmf"])
    p.add_argument("--bert", type=Path, help="local BERT folder MISA fine-tunes (MMSA's `pretrained`)")
    p.add_argument("--epochs", type=int, default=5, help="epochs to time, the first one excluded from the median")
    p.add_argument("--batch-size", type=int, default=None, help="default: the published MOSI config's")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch intra-op threads")
    p.add_argument("--device", default="cpu", help="where MMSA trains: cpu (default) or cuda")
    p.add_argument("--num-workers", type=int, default=0, help="DataLoader workers (MMSA_run's default is 4)")
    p.add_argument("--seed", type=int, default=1111)
    p.add_argument("--profile", type=int, default=0, metavar="TOP", help="profile one extra epoch, print TOP ops to stderr")
    p.add_argument("--progress", action="store_true", help="keep MMSA's tqdm bars")
    p.add_argument("--make-data", type=Path, metavar="PATH", help="write a MOSI-shaped pickle and exit")
    p.add_argument("--n-train", type=int, default=MOSI_SPLIT_SIZES["train"])
    p.add_argument("--n-valid", type=int, default=MOSI_SPLIT_SIZES["valid"])
    p.add_argument("--n-test", type=int, default=MOSI_SPLIT_SIZES["test"])
    opts = p.parse_args(argv)
    if opts.make_data is None and opts.data is None:
        p.error("give --data PATH to time, or --make-data PATH to write a test file")
    if opts.epochs < 1:
        p.error(f"--epochs must be at least 1, got {opts.epochs}")
    return opts


def main(argv: list[str] | None = None) -> None:
    opts = parse_args(argv)
    if opts.make_data is not None:
        sizes = {"train": opts.n_train, "valid": opts.n_valid, "test": opts.n_test}
        make_data(opts.make_data, sizes, opts.seed)
        print(json.dumps({"wrote": str(opts.make_data), "samples": sizes}))
        return
    if not opts.data.is_file():
        raise SystemExit(f"--data: no file at {opts.data}")
    if not opts.progress:
        os.environ["TQDM_DISABLE"] = "1"
    import torch

    torch.set_num_threads(opts.threads)
    for name in opts.model:
        print(json.dumps(time_mmsa_epochs(name, opts.data, opts)), flush=True)


if __name__ == "__main__":
    main()
