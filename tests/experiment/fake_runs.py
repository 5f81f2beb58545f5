"""A stand-in for ``msmix.train.run``: instant, deterministic rows, and a call log on disk.

Importable by name, so sweep workers in fresh processes can use it too. Every call appends
``<config_hash> <resume>`` to ``<out_dir>/calls.log`` before it "trains"; a ``fail_at`` file in
``out_dir`` holding N makes the N-th call (counted over the log) raise, and a ``hang_at`` file makes
the N-th call write ``hanging`` (its config hash and process id) and sleep, so a test can kill the
sweep process mid-run.
"""

from __future__ import annotations

import fcntl
import os
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from msmix.metrics import MOSI_KEYS


class CrashedRun(RuntimeError):
    """The failure a fake run raises on purpose."""


def fake_metrics(spec: Any) -> dict[str, float]:
    """Metrics that depend only on the spec (its mixer, settings and seed)."""
    rng = np.random.default_rng([spec.seed, zlib.crc32(spec.config_hash().encode())])
    return {key: float(value) for key, value in zip(MOSI_KEYS, rng.uniform(0.2, 0.9, len(MOSI_KEYS)))}


def calls(out_dir: str | Path) -> list[tuple[str, bool]]:
    """Every call so far: (config_hash, resume)."""
    log = Path(out_dir) / "calls.log"
    if not log.is_file():
        return []
    return [(h, r == "True") for h, r in (line.split() for line in log.read_text().splitlines())]


def _log_call(out_dir: Path, line: str) -> int:
    """Append ``line`` to the call log and return its own line number.

    Counting the log after writing would race: two workers that both append before either counts
    see the same total, and the call numbered N might never see N. The lock makes append-and-count
    one step.
    """
    with open(out_dir / "calls.log", "a+", encoding="utf-8") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.seek(0)
        count = len(log.read().splitlines()) + 1
        log.write(line)
        log.flush()
    return count


def _trigger(out_dir: Path, name: str, count: int) -> bool:
    marker = out_dir / name
    return marker.is_file() and int(marker.read_text()) == count


def fake_run(spec: Any, out_dir: str | None = None, resume: bool = False, progress: bool = True, **_: Any) -> dict[str, Any]:
    out = Path(out_dir)
    count = _log_call(out, f"{spec.config_hash()} {resume}\n")
    if _trigger(out, "fail_at", count):
        raise CrashedRun(f"call {count} fails on purpose")
    if _trigger(out, "hang_at", count):
        (out / "hanging.tmp").write_text(f"{spec.config_hash()} {os.getpid()}")
        os.replace(out / "hanging.tmp", out / "hanging")
        time.sleep(600)
    return {
        "data": spec.data, "backbone": spec.backbone, "mixer": spec.mixer, "seed": spec.seed,
        **fake_metrics(spec), "epochs": 2, "train_seconds": 0.01, "config_hash": spec.config_hash(),
        "mixer_config": spec.mixer_config, **{f"mixer.{k}": v for k, v in spec.mixer_config.items()},
    }


def threads_run(spec: Any, out_dir: str | None = None, **kw: Any) -> dict[str, Any]:
    """``fake_run`` whose row also says how many torch threads its process had."""
    import torch

    return {**fake_run(spec, out_dir=out_dir, **kw), "cpu_threads": torch.get_num_threads()}
