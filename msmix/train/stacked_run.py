"""``run_stacked``: several seeds of one configuration trained as one stacked model, a row each.

The rows are ``run``'s, plus ``stacked_seeds`` (how many trained together; their shared
``train_seconds`` is the group's time). With an ``out_dir`` each member keeps the run folder, the
checkpoints, ``spec.json`` and ``result.json`` its own ``run`` would, so with ``resume`` a killed
group continues where its members' checkpoints stand, a finished member is not retrained, and a
later ``run(spec, out_dir, resume=True)`` finds each run finished (or resumes it alone).
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
from msmix.train.run import RESULT_FILE, data_options_for, open_run_folder, results_row, run_dir_of, stored_row
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
    resume: bool = False,
) -> list[dict[str, Any]]:
    """Train ``specs`` (one configuration, several seeds) together; their results rows, in order.

    With ``resume`` the runs whose folders hold a result are not retrained (their stored rows are
    returned) and the others continue from their checkpoints, as ``run(..., resume=True)`` does.
    Raises NotStackableError when the specs differ in more than the seed or their backbone cannot
    be stacked (MISA); such runs train one by one with ``run``.
    """
    if not specs:
        raise NotStackableError("run_stacked needs at least one spec")
    if len({stack_key(s) for s in specs}) != 1:
        raise NotStackableError("stacked runs must differ in their seed only")
    if len({s.seed for s in specs}) != len(specs):
        raise NotStackableError("stacked runs need different seeds")
    if out_dir is not None:
        check_output_folder(out_dir)
    run_dirs = [run_dir_of(spec, out_dir) if out_dir is not None else None for spec in specs]
    stored = {i: row for i, d in enumerate(run_dirs) if resume and (row := stored_row(d)) is not None}
    todo = [i for i in range(len(specs)) if i not in stored]
    if todo:
        dataset = data if data is not None else load_data(specs[0].data, **data_options_for(specs[0]))
        resolved = {i: resolve(specs[i], dataset.spec) for i in todo}
        check_backbone_stacks(resolved[todo[0]].backbone)  # before any member is built
        for i in todo:
            if run_dirs[i] is not None:
                open_run_folder(run_dirs[i], specs[i])
        trainers = {i: assemble(resolved[i], dataset, run_dir=run_dirs[i], progress=False) for i in todo}
        results = StackedTrainer(list(trainers.values()), progress=progress).fit(resume=resume and out_dir is not None)
        for i, result in zip(todo, results):
            r = resolved[i]
            row = {**results_row(specs[i], result, r.train, r.model_settings(), str(trainers[i].device), run_dirs[i]),
                   "stacked_seeds": len(todo)}
            if run_dirs[i] is not None:
                save_json(run_dirs[i] / RESULT_FILE, row)
            stored[i] = row
    return [stored[i] for i in range(len(specs))]
