"""What a sweep hands to a worker: one run, or several seeds of one configuration stacked.

With ``stack_seeds`` the runs that differ only in their seed and whose backbone can be stacked
(``Backbone.stackable``; not when they compile) become one Task, trained as one stacked model by
``msmix.train.stacked_run.run_stacked``; every other run is a Task of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from msmix.models import backbone_class
from msmix.train import RunSpec
from msmix.train.stacked_run import stack_key

Runner = Callable[..., dict[str, Any]]
"""Trains one RunSpec: ``runner(spec, out_dir=..., resume=..., progress=...) -> results row``."""


@dataclass(frozen=True)
class Task:
    """Runs trained together by one worker (one run unless seeds are stacked)."""

    specs: tuple[RunSpec, ...]

    def run(self, runner: Runner, out_dir: str, progress: bool) -> list[dict[str, Any]]:
        """Train the runs, resuming what a killed worker left; their results rows, in order (one run
        goes through ``runner``)."""
        if len(self.specs) == 1:
            return [runner(self.specs[0], out_dir=out_dir, resume=True, progress=progress)]
        from msmix.train.stacked_run import run_stacked

        return run_stacked(self.specs, out_dir=out_dir, progress=progress, resume=True)

    @property
    def first(self) -> RunSpec:
        return self.specs[0]

    def label(self) -> str:
        seeds = ",".join(str(s.seed) for s in self.specs)
        spec = self.first
        return f"{spec.data} {spec.backbone}-{spec.mixer} s{seeds}" + (" (stacked)" if len(self.specs) > 1 else "")


def plan_tasks(specs: Iterable[RunSpec], stack_seeds: bool = False) -> list[Task]:
    """The runs as Tasks, in the order of their first run; seeds stacked where they can be."""
    groups: dict[str, list[RunSpec]] = {}
    for spec in specs:
        key = stack_key(spec) if stack_seeds and can_stack(spec) else spec.config_hash()
        groups.setdefault(key, []).append(spec)
    return [Task(tuple(group)) for group in groups.values()]


def can_stack(spec: RunSpec) -> bool:
    """Whether the run's seeds may train stacked: a stackable backbone, not compiled."""
    try:
        stackable = backbone_class(spec.backbone).stackable
    except KeyError:
        return False  # an unknown backbone fails with its own message when it runs
    return stackable and not spec.train.get("compile", False)
