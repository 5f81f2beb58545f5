"""Checkpoint files: atomic writes, safe reads, and ``load_checkpoint`` for trained runs.

A run folder holds ``last.pt`` (everything needed to resume, written after every epoch),
``best.pt`` (the weights of the best epoch and what is needed to rebuild the model and mixer),
``history.json`` (the epoch table), and, when written by ``msmix.train.run``, ``spec.json`` and
``result.json``. Checkpoints hold tensors and plain Python types only, so they load with
``torch.load(weights_only=True)``: opening a file never runs code from it.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from msmix.data.dataset import Dataset
from msmix.data.spec import DataSpec
from msmix.mixing.base import Mixer
from msmix.models.base import Backbone
from msmix.train.config import TrainConfig
from msmix.train.history import EpochRecord, history_frame

LAST, BEST, HISTORY = "last.pt", "best.pt", "history.json"
FORMAT = 1


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(file_object)`` on a temporary file beside ``path``, then rename it over ``path``.

    A reader (or a resumed run) sees either the old file or the new one, never half of one, even
    if the process dies while writing.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_CRC_LOCK = threading.Lock()


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """``torch.save`` ``payload`` atomically, without the zip format's CRC32 of each record.

    ``torch.load`` never checks those checksums (a flipped byte in a tensor loads silently either
    way), and computing them takes as long as writing the data: about 30 ms of the 60 ms that
    ``torch.save`` spends on TFN's 115 MB checkpoint, written every epoch. The atomic rename
    already rules out half-written files. torch's switch is process-wide, so it is set and
    restored under a lock.
    """
    set_crc = getattr(torch.serialization, "set_crc32_options", None)
    if set_crc is None:  # torch older than 2.6: checksums are always computed
        atomic_write(path, lambda f: torch.save(payload, f))
        return
    with _CRC_LOCK:
        before = torch.serialization.get_crc32_options()
        set_crc(False)
        try:
            atomic_write(path, lambda f: torch.save(payload, f))
        finally:
            set_crc(before)


def save_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps(data, indent=2, sort_keys=True, allow_nan=True) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint file onto the CPU with ``weights_only=True``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{path} is not an msmix checkpoint (expected format {FORMAT}, found {found!r})")
    return state


@dataclass
class LoadedRun:
    """A trained run rebuilt from its checkpoint: the model and mixer (eval mode), their settings,
    and how its data were read (``data_args``, used by ``load_data``)."""

    model: Backbone
    mixer: Mixer
    spec: DataSpec
    backbone: str
    mixer_name: str
    model_config: dict[str, Any]
    mixer_config: dict[str, Any]
    train_config: TrainConfig
    history: pd.DataFrame
    data_source: str
    epoch: int = 0
    data_args: dict[str, Any] | None = None

    def load_data(self, source: str | None = None, **overrides: Any) -> Dataset:
        """A data set read as this run read its training data (``data_args``): from ``source``
        (default: the run's own data), with ``overrides`` for single options, e.g. ``device``.

        Checkpoints written before the arguments were recorded hold None; this then refuses
        rather than guess how the data were read.
        """
        import msmix.data

        if self.data_args is None:
            raise ValueError(
                "this checkpoint does not record how its data were loaded; call msmix.data.load with the "
                "options the run used (a run folder's spec.json lists them)"
            )
        args = dict(self.data_args)
        recorded_source = args.pop("source")
        if source is not None and source != recorded_source:
            args.pop("seed", None)  # the demo data's seed says nothing about other data
        return msmix.data.load(source or recorded_source, **{**args, **overrides})


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> LoadedRun:
    """Rebuild a trained model and mixer from a run folder (its ``best.pt``) or a checkpoint file.

    The backbone and mixer are built as a run builds them (``msmix.train.assemble.build``) from
    the stored DataSpec and settings, then given the stored weights. The history is the run's
    full table (``history.json`` beside the file) where available, else the one inside the
    checkpoint.
    """
    from msmix.mixing.base import mixer_class
    from msmix.models.base import backbone_class
    from msmix.train.assemble import build

    path = Path(path)
    if path.is_dir():
        candidates = [path / BEST, path / LAST]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            raise FileNotFoundError(f"{path} holds no checkpoint (expected {BEST} or {LAST})")
        path = found
    state = read_checkpoint(path)
    meta = state["meta"]
    spec = DataSpec.from_dict(meta["spec"])
    backbone, mixing = backbone_class(meta["backbone"]), mixer_class(meta["mixer"])
    model, mixer = build(backbone, backbone.make_config(spec.kind, meta["model_config"]),
                         mixing, mixing.make_config(meta["mixer_config"]), spec)
    model.load_state_dict(state["model"])
    mixer.load_state_dict(state["mixer"])
    model.to(device).eval()
    mixer.to(device).eval()
    history_file = path.parent / HISTORY
    if history_file.is_file():
        records = json.loads(history_file.read_text())
    else:
        records = state["history"]
    return LoadedRun(
        model=model,
        mixer=mixer,
        spec=spec,
        backbone=meta["backbone"],
        mixer_name=meta["mixer"],
        model_config=dict(meta["model_config"]),
        mixer_config=dict(meta["mixer_config"]),
        train_config=TrainConfig.from_dict(meta["train_config"]),
        history=history_frame([EpochRecord.from_dict(r) for r in records]),
        data_source=meta["data_source"],
        epoch=int(state["epoch"]),
        data_args=dict(meta["data_args"]) if "data_args" in meta else None,
    )
