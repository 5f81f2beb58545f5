"""``run`` and ``run_seeds``: one configuration in, one results row out.

``run`` loads the data, resolves the RunSpec into typed settings (``msmix.train.resolve``),
assembles backbone, mixer and Trainer from them (``msmix.train.assemble``), trains, tests and
returns the results row whose columns are the same everywhere (CLI, sweeps, notebooks). With an
``out_dir`` the run keeps its checkpoints in ``out_dir/<backbone>-<mixer>-<data>-s<seed>-<config
hash>/`` (or where an earlier version put them, ``out_dir/runs/<run>/``: see
``msmix.train.run_folder``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import torch

import msmix
from msmix.data.cache import load_data
from msmix.data.dataset import Dataset
from msmix.train.assemble import assemble
from msmix.train.callbacks import Callback
from msmix.train.checkpoint import save_json
from msmix.train.config import TrainConfig
from msmix.train.errors import ResumeError
from msmix.train.history import FitResult
from msmix.train.output import check_output_folder
from msmix.train.resolve import data_options, resolve
from msmix.train.run_folder import run_folder
from msmix.train.run_spec import RunSpec

SPEC_FILE, RESULT_FILE = "spec.json", "result.json"
JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


def run_dir_of(spec: RunSpec, out_dir: str | Path) -> Path:
    """Where ``run(spec, out_dir)`` keeps its checkpoints: ``out_dir/<run>``, or the
    ``out_dir/runs/<run>`` of an earlier version when only that exists (``run_folder``)."""
    return run_folder(out_dir, spec.run_name())


def data_options_for(spec: RunSpec) -> dict[str, Any]:
    """The spec's data-loading options (``msmix.train.resolve.data_options``)."""
    return data_options(spec.backbone, spec.data_options)


def run(
    spec: RunSpec,
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    callbacks: Sequence[Callback] = (),
    data: Dataset | None = None,
) -> dict[str, Any]:
    """Train one configuration, evaluate on test, return the results row (a flat dict).

    A run stopped (``Trainer.stop()``, e.g. from a callback) before its first epoch finished is
    not evaluated: its row has ``epochs`` 0, ``interrupted`` True and no metric columns, and it
    is stored nowhere (``msmix.train.no_epoch``). Resuming it starts afresh.

    Args:
        spec: what to run.
        out_dir: keep checkpoints (and ``spec.json`` / ``result.json``) in ``run_dir_of(spec, out_dir)``,
            i.e. ``out_dir/<run>/``; None keeps nothing on disk.
        resume: continue the unfinished run of this configuration (a finished one is not
            retrained: its stored row is returned).
        progress: tqdm bars.
        callbacks: passed to the Trainer (e.g. a live plot).
        data: an already loaded data set to use instead of loading ``spec.data``.
    """
    if out_dir is not None:
        check_output_folder(out_dir)
    run_dir = run_dir_of(spec, out_dir) if out_dir is not None else None
    stored = stored_row(run_dir) if resume else None
    if stored is not None:
        return stored
    dataset = data if data is not None else load_data(spec.data, **data_options_for(spec))
    resolved = resolve(spec, dataset.spec)
    if run_dir is not None:
        open_run_folder(run_dir, spec)
    trainer = assemble(resolved, dataset, run_dir=run_dir, callbacks=callbacks, progress=progress)
    result = trainer.fit(resume=resume)
    row = results_row(spec, result, resolved.train, resolved.model_settings(), str(trainer.device), run_dir)
    if run_dir is not None and not result.interrupted:
        save_json(run_dir / RESULT_FILE, row)
    return row


def stored_row(run_dir: Path | None) -> dict[str, Any] | None:
    """The results row a finished run left in its folder (``result.json``); None when there is none.

    Raises ResumeError, naming the file, when it holds anything but a JSON object."""
    path = run_dir / RESULT_FILE if run_dir is not None else None
    if path is None or not path.is_file():
        return None
    try:
        row = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        found = "bytes that are not UTF-8 text"
    except json.JSONDecodeError as err:
        found = f"text that is not JSON (line {err.lineno}, column {err.colno}: {err.msg})"
    else:
        if isinstance(row, dict):
            return row
        found = f"a JSON {JSON_KINDS.get(type(row), 'value')}, not an object"
    raise ResumeError(f"result {path}: expected the JSON row of a finished run, found {found}; "
                      "delete the file to train the run again")


def open_run_folder(run_dir: Path, spec: RunSpec) -> None:
    """Make the run's folder, forget an earlier result in it and write ``spec.json``, before training."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / RESULT_FILE).unlink(missing_ok=True)
    save_json(run_dir / SPEC_FILE, spec.to_dict())


def results_row(
    spec: RunSpec,
    result: FitResult,
    config: TrainConfig,
    model_config: dict[str, Any],
    device: str,
    run_dir: Path | None,
) -> dict[str, Any]:
    """The agreed results row: identity (``train_fraction``, the share of the train split trained on,
    included), every test metric (MMSA's names), run facts, settings."""
    compact = lambda d: json.dumps(d, sort_keys=True, separators=(",", ":"), default=str)  # noqa: E731
    return {
        "data": spec.data,
        "backbone": spec.backbone,
        "mixer": spec.mixer,
        "seed": spec.seed,
        "train_fraction": float(config.train_fraction),
        **result.test_metrics,
        "epochs": result.epochs,
        "best_epoch": result.best_epoch,
        "train_seconds": round(result.train_seconds, 3),
        "device": device,
        "cpu_threads": torch.get_num_threads(),  # results on a CPU can differ with the thread count
        "config_hash": spec.config_hash(),
        "msmix_version": msmix.__version__,
        "torch_version": str(torch.__version__),
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run_dir": str(run_dir) if run_dir is not None else "",
        "mixer_config": compact(spec.mixer_config),
        "model_config": compact(model_config),
        "train_config": compact(config.to_dict()),
        "stopped_early": result.stopped_early,
        "interrupted": result.interrupted,
        **{f"mixer.{name}": value for name, value in sorted(spec.mixer_config.items())},
    }


def run_seeds(spec: RunSpec, seeds: Sequence[int], **kw: Any) -> pd.DataFrame:
    """Run ``spec`` once per seed; one row per seed (index: the seed) plus ``mean`` and ``std`` rows.

    The aggregate rows hold the mean and the sample standard deviation (ddof=1) of every numeric
    column over the seeds; ``kw`` goes to ``run``.
    """
    if not seeds:
        raise ValueError("run_seeds needs at least one seed")
    rows = [run(replace(spec, seed=int(seed)), **kw) for seed in seeds]
    table = pd.DataFrame(rows, index=[str(s) for s in seeds])
    numeric = table.select_dtypes("number").drop(columns=["seed", "train_fraction"], errors="ignore").columns
    aggregate = pd.DataFrame(
        [table[numeric].mean(), table[numeric].std(ddof=1)], index=["mean", "std"]
    )
    for column in ("data", "backbone", "mixer", "train_fraction"):
        aggregate[column] = table[column].iloc[0]
    return pd.concat([table, aggregate])
