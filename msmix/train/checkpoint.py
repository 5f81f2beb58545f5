"""Checkpoint files: atomic writes, safe reads, and ``load_checkpoint`` for trained runs.

A run folder holds ``last.pt`` (everything needed to resume, written after every epoch),
``best.pt`` (the weights of the best epoch and what is needed to rebuild the model and mixer),
``history.json`` (the epoch table), and, when written by ``msmix.train.run``, ``spec.json`` and
``result.json``. Checkpoints hold tensors and plain Python types only, so they load with
``torch.load(weights_only=True)``: opening a file never runs code from it. Before and after
loading, a file is checked (``msmix.train.checkpoint_checks``), so an empty, truncated, hostile,
inconsistent or diverged one is refused with a CheckpointError naming it. A write that fails (a
full disk) keeps the previous file and raises an OutputError; a writer killed mid-write leaves a
temporary file that the next fit in that folder removes.
"""

from __future__ import annotations

import errno
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
from msmix.train.checkpoint_checks import check_archive, check_run_state, check_tensors, check_weights_fit
from msmix.train.errors import CheckpointError, OutputError
from msmix.train.history import EpochRecord, history_frame

LAST, BEST, HISTORY = "last.pt", "best.pt", "history.json"
FORMAT = 1
TMP_SUFFIX = ".tmp"


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(file_object)`` on a temporary file beside ``path``, then rename it over ``path``.

    A reader (or a resumed run) sees either the old file or the new one, never half of one, even
    if the process dies while writing; ``remove_leftovers`` deletes what such a death leaves. A
    write that fails for want of space or permission removes its temporary file, keeps the old
    ``path`` and raises an OutputError that says so.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=TMP_SUFFIX, dir=path.parent)
    except OSError as err:
        raise _output_error(path, err) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        cause = _os_error_in(err)
        if cause is not None:
            raise _output_error(path, cause) from None
        raise


def remove_leftovers(folder: Path) -> list[Path]:
    """Delete the temporary files that writers killed mid-write left in ``folder`` (a live writer's are kept)."""
    removed = []
    for tmp in folder.glob(f".*{TMP_SUFFIX}"):
        writer = tmp.name[1:].split(".")
        pid = next((int(part) for part in writer if part.isdigit()), None)
        if pid is not None and (pid == os.getpid() or not _alive(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _os_error_in(err: BaseException) -> OSError | None:
    """The OSError behind a failed write: ``err`` itself, or one that torch's writer turned into a RuntimeError."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, OutputError):
            return None
        if isinstance(current, OSError) and current.errno is not None:
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _output_error(path: Path, err: OSError) -> OutputError:
    reason = "no space left on the device" if err.errno in (errno.ENOSPC, errno.EDQUOT) else (err.strerror or str(err))
    kept = f"; the previous {path.name} is kept" if path.is_file() else ""
    return OutputError(f"cannot write {path}: {reason}{kept}")


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


def read_checkpoint(path: str | Path, resumable: bool = False) -> dict[str, Any]:
    """Load a run's checkpoint onto the CPU with ``weights_only=True``, checked before and after.

    Raises CheckpointError, naming the file and what was expected, for a file that is empty,
    truncated, not a checkpoint, names code in its pickle, declares tensors larger than its data,
    lacks a run's parts (``resumable``: also last.pt's training state) or holds non-finite weights.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    check_archive(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # the file's content, not our code: report torch's reason in one line
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(path, f"cannot be loaded: {reason}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(path, f"not an msmix checkpoint (expected format {FORMAT}, found {found!r})")
    check_tensors(state, path)
    check_run_state(state, path, resumable)
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
    the stored DataSpec and settings, then given the stored weights; the file is checked first
    (``read_checkpoint``), and the weights' names and shapes against a model built from its
    settings on the ``meta`` device, so settings that do not match the weights (or would allocate
    far more than the file holds) are refused before anything is allocated. The history is the
    run's full table (``history.json`` beside the file) where available, else the one inside the
    checkpoint. Raises CheckpointError for a file that is not such a checkpoint.
    """
    path = Path(path)
    if path.is_dir():
        candidates = [path / BEST, path / LAST]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            raise FileNotFoundError(f"{path} holds no checkpoint (expected {BEST} or {LAST})")
        path = found
    state = read_checkpoint(path)
    meta = state["meta"]
    parts = stored_run_parts(meta, path)
    model, mixer = built_to_fit(parts, state, path)
    model.to(device).eval()
    mixer.to(device).eval()
    return LoadedRun(
        model=model,
        mixer=mixer,
        spec=parts.spec,
        backbone=meta["backbone"],
        mixer_name=meta["mixer"],
        model_config=dict(meta["model_config"]),
        mixer_config=dict(meta["mixer_config"]),
        train_config=parts.train_config,
        history=run_history(path, state),
        data_source=meta["data_source"],
        epoch=int(state["epoch"]),
        data_args=dict(meta["data_args"]) if isinstance(meta.get("data_args"), dict) else None,
    )


@dataclass
class StoredRun:
    """A checkpoint's settings as typed objects: what ``build`` needs, and its TrainConfig."""

    spec: DataSpec
    backbone: type[Backbone]
    model_config: Any
    mixer: type[Mixer]
    mixer_config: Any
    train_config: TrainConfig


def stored_run_parts(meta: dict[str, Any], path: Path) -> StoredRun:
    """Parse a checkpoint's meta, naming the part that is not what this msmix knows."""
    from msmix.mixing.base import available as mixers, mixer_class
    from msmix.models.base import available as backbones, backbone_class

    try:
        backbone = backbone_class(meta["backbone"])
    except KeyError:
        raise CheckpointError(path, f"names backbone {meta['backbone']!r} (expected one of {', '.join(backbones())})") from None
    try:
        mixing = mixer_class(meta["mixer"])
    except KeyError:
        raise CheckpointError(path, f"names mixer {meta['mixer']!r} (expected one of {', '.join(mixers())})") from None
    readers = (
        ("spec", lambda: DataSpec.from_dict(meta["spec"])),
        ("model_config", lambda: backbone.make_config(parsed["spec"].kind, meta["model_config"])),
        ("mixer_config", lambda: mixing.make_config(meta["mixer_config"])),
        ("train_config", lambda: TrainConfig.from_dict(meta["train_config"])),
    )
    parsed: dict[str, Any] = {}
    for key, read in readers:
        try:
            parsed[key] = read()
        except (TypeError, ValueError, KeyError) as err:
            raise CheckpointError(path, f"meta {key!r} is not valid for {meta['backbone']} + {meta['mixer']}: {err}") from None
    return StoredRun(parsed["spec"], backbone, parsed["model_config"], mixing, parsed["mixer_config"], parsed["train_config"])


def built_to_fit(parts: StoredRun, state: dict[str, Any], path: Path) -> tuple[Backbone, Mixer]:
    """The model and mixer of ``parts`` holding ``state``'s weights; refused on the ``meta`` device
    first when the weights do not fit them."""
    from msmix.train.assemble import build

    described = f"backbone {parts.backbone.name or parts.backbone.__name__} with its stored settings"
    try:
        with torch.device("meta"):
            shapes = build(parts.backbone, parts.model_config, parts.mixer, parts.mixer_config, parts.spec)
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(path, f"its stored settings describe a model that cannot be built: {err}") from None
    check_weights_fit(path, "model", shapes[0].state_dict(), state["model"], described)
    check_weights_fit(path, "mixer", shapes[1].state_dict(), state["mixer"], f"mixer {state['meta']['mixer']!r}")
    model, mixer = build(parts.backbone, parts.model_config, parts.mixer, parts.mixer_config, parts.spec)
    try:
        model.load_state_dict(state["model"])
        mixer.load_state_dict(state["mixer"])
    except RuntimeError as err:
        raise CheckpointError(path, f"its weights cannot be given to the model: {str(err).splitlines()[0]}") from None
    return model, mixer


def run_history(path: Path, state: dict[str, Any]) -> pd.DataFrame:
    """The run's epoch table: ``history.json`` beside the checkpoint, else the checkpoint's own."""
    history_file = path.parent / HISTORY
    source = history_file if history_file.is_file() else path
    try:
        records = json.loads(history_file.read_text()) if history_file.is_file() else state.get("history", [])
        return history_frame([EpochRecord.from_dict(r) for r in records])
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as err:
        raise CheckpointError(source, f"its history is not a list of epoch records: {err}") from None
