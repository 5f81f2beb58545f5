"""``run_stacked``: several seeds of one configuration trained as one stacked model, a row each.

The rows are ``run``'s, plus ``stacked_seeds`` (how many trained together; their shared
``train_seconds`` is the group's time). With an ``out_dir`` each member gets its usual run folder
with ``spec.json`` and ``result.json`` (no checkpoints: a stacked group that is killed starts
again), so a later ``run(spec, out_dir, resume=True)`` finds it finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from msmix.data.cache import load_data
from msmix.data.dataset import Dataset
from msmix.train.assemble import assemble
from msmix.train.checkpoint import save_json
from msmix.train.output import check_output_folder
from msmix.train.resolve import resolve
from msmix.train.run import RESULT_FILE, SPEC_FILE, data_options_for, results_row, run_dir_of
from msmix.train.run_spec import RunSpec
from msmix.train.stacked import StackedTrainer
from msmix.train.stacked_model import NotStackableError, check_backbone_stacks


def stack_key(spec: RunSpec) -> str:
    """What runs must share to train stacked: everything but the seed."""
    return replace(spec, seed=0).config_hash()


def run_stacked(
    specs: Sequence[RunSpec],
    out_dir: str | Path | None = None,
    progress: bool = True,
    data: Dataset | None = None,
) -> list[dict[str, Any]]:
    """Train ``specs`` (one configuration, several seeds) together; their results rows, in order.

    Raises NotStackableError when they differ in more than the seed or their backbone cannot be
    stacked (MISA); such runs train one by one with ``run``.
    """
    if not specs:
        raise NotStackableError("run_stacked needs at least one spec")
    if len({stack_key(s) for s in specs}) != 1:
        raise NotStackableError("stacked runs must differ in their seed only")
    if len({s.seed for s in specs}) != len(specs):
        raise NotStackableError("stacked runs need different seeds")
    if out_dir is not None:
        check_output_folder(out_dir)
    dataset = data if data is not None else load_data(specs[0].data, **data_options_for(specs[0]))
    resolved = [resolve(spec, dataset.spec) for spec in specs]
    check_backbone_stacks(resolved[0].backbone)  # before any member is built
    trainers = [assemble(r, dataset, progress=False) for r in resolved]
    results = StackedTrainer(trainers, progress=progress).fit()
    rows = []
    for spec, r, trainer, result in zip(specs, resolved, trainers, results):
        run_dir = run_dir_of(spec, out_dir) if out_dir is not None else None
        row = {**results_row(spec, result, r.train, r.model_settings(), str(trainer.device), run_dir),
               "stacked_seeds": len(specs)}
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)
            save_json(run_dir / SPEC_FILE, spec.to_dict())
            save_json(run_dir / RESULT_FILE, row)
        rows.append(row)
    return rows
