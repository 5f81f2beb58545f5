"""Resuming after a setting changed: continue the same run where that is allowed, refuse otherwise.

A run's folder is named by the hash of its whole configuration, so ``--resume --epochs 40`` after
a run of 30 epochs was killed names another folder than the killed run's. ``find_continuation``
finds the killed run instead: an unfinished run folder (a ``last.pt``, no ``result.json``) of the
same data, backbone, mixer and seed whose settings differ only in ones a resumed run may change
(``msmix.train.resume.RESUMABLE_CHANGES``: more epochs, patience, device ...). ``adopt`` renames
it to the new configuration's folder, where ``run(..., resume=True)`` continues it. When the
unfinished runs differ in settings that change what is computed (the learning rate, a mixer's
setting ...), ``find_continuation`` refuses and names them, rather than start the run over.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from msmix.data.spec import DataSpec
from msmix.train.checkpoint import LAST
from msmix.train.errors import ResumeError
from msmix.train.resolve import resolve
from msmix.train.resume import changed_settings
from msmix.train.run import RESULT_FILE, SPEC_FILE, run_dir_of
from msmix.train.run_folder import LEGACY_RUNS
from msmix.train.run_spec import RunSpec

IDENTITY = ("data", "backbone", "mixer", "seed")


class _Default:
    """Stands for a setting that one of two specs leaves at its default."""

    def __repr__(self) -> str:
        return "default"


DEFAULT = _Default()
OTHER_GROUPS = {"model_config": "model", "mixer_config": "mixer", "data_options": "data_options"}


@dataclass(frozen=True)
class Continuation:
    """An unfinished run that a changed configuration continues, and what changed (name -> (before, now))."""

    folder: Path
    changes: dict[str, tuple[Any, Any]]

    def describe(self) -> str:
        return ", ".join(f"{name} {before!r} -> {now!r}" for name, (before, now) in self.changes.items())


def has_checkpoint(spec: RunSpec, out_dir: str | Path) -> bool:
    """Whether ``spec``'s own run folder in ``out_dir`` holds a run to resume or a finished one."""
    folder = run_dir_of(spec, out_dir)
    return (folder / LAST).is_file() or (folder / RESULT_FILE).is_file()


def find_continuation(spec: RunSpec, out_dir: str | Path, data: DataSpec) -> Continuation | None:
    """The one unfinished run in ``out_dir`` that ``spec`` may continue; None when there is no unfinished
    run of its data, backbone, mixer and seed. Raises ResumeError when there are such runs but none, or
    more than one, may be continued with ``spec``'s settings."""
    found = [(folder, _changes(stored, spec, data)) for folder, stored in _unfinished(out_dir, spec)]
    if not found:
        return None
    allowed = [Continuation(folder, changes) for folder, (changes, fixed) in found if not fixed]
    if len(allowed) == 1:
        return allowed[0]
    if allowed:
        names = ", ".join(c.folder.name for c in allowed)
        raise ResumeError(f"cannot resume: {out_dir} holds {len(allowed)} unfinished runs this configuration could "
                          f"continue ({names}); keep one of them")
    folder, (_, fixed) = found[0]
    detail = ", ".join(f"{name} {before!r} -> {now!r}" for name, (before, now) in fixed.items())
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    raise ResumeError(
        f"cannot resume: {out_dir} has no run of this configuration, and its unfinished run {folder.name}{more} "
        f"differs in {detail}, which a resumed run cannot change; resume with its settings, or leave out --resume "
        "to train this configuration from the start"
    )


def adopt(continuation: Continuation, spec: RunSpec, out_dir: str | Path) -> Path:
    """Move the continued run's folder to ``spec``'s run folder (which holds no checkpoint: see
    ``has_checkpoint``); returns that folder."""
    target = run_dir_of(spec, out_dir)
    if target.exists():  # a start of this configuration that finished no epoch: nothing in it to keep
        shutil.rmtree(target)
    os.replace(continuation.folder, target)
    return target


def _unfinished(out_dir: str | Path, spec: RunSpec) -> list[tuple[Path, RunSpec]]:
    """Unfinished run folders in ``out_dir`` (and its ``runs/`` of earlier versions) of ``spec``'s data,
    backbone, mixer and seed, with their stored specs; folders whose spec.json cannot be read are passed over."""
    out = Path(out_dir)
    found = []
    for spec_file in sorted([*out.glob(f"*/{SPEC_FILE}"), *out.glob(f"{LEGACY_RUNS}/*/{SPEC_FILE}")]):
        folder = spec_file.parent
        if not (folder / LAST).is_file() or (folder / RESULT_FILE).is_file():
            continue
        try:
            stored = RunSpec.from_dict(json.loads(spec_file.read_text()))
        except (ValueError, TypeError, UnicodeDecodeError):
            continue
        if all(getattr(stored, key) == getattr(spec, key) for key in IDENTITY):
            found.append((folder, stored))
    return found


def _changes(stored: RunSpec, spec: RunSpec, data: DataSpec) -> tuple[dict[str, tuple[Any, Any]], dict[str, tuple[Any, Any]]]:
    """What differs between a stored run's spec and ``spec``: (changes a resumed run allows, changes it does not)."""
    fixed: dict[str, tuple[Any, Any]] = {}
    for attribute, group in OTHER_GROUPS.items():
        before, now = getattr(stored, attribute), getattr(spec, attribute)
        for key in sorted(set(before) | set(now)):
            if before.get(key, DEFAULT) != now.get(key, DEFAULT):
                fixed[f"{group}.{key}"] = (before.get(key, DEFAULT), now.get(key, DEFAULT))
    try:
        old, new = resolve(stored, data).train, resolve(spec, data).train
    except ValueError:
        return {}, {**fixed, "train": (stored.train, spec.train)}
    not_allowed = changed_settings(old, new)
    fixed.update({f"train.{k}": v for k, v in not_allowed.items()})
    before, now = old.to_dict(), new.to_dict()
    allowed = {f"train.{k}": (before[k], now[k]) for k in sorted(before) if before[k] != now[k] and k not in not_allowed}
    return allowed, fixed
