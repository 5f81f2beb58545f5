"""Run a sweep: every RunSpec not yet in ``out_dir/results.csv``, one after another or in a pool.

Only the parent process appends rows, one per finished run, so a sweep killed at any moment loses
at most the runs in flight: their checkpoints stay in ``out_dir/<run>/`` and the next call resumes
them (``resume=True``), while runs whose hash is already in the table are skipped. A sweep folder
of an earlier version, with its runs in ``out_dir/runs/<run>/``, continues from there.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import pandas as pd

from msmix.experiment.results import append_row, complete_row, finished_hashes, read_results, results_path
from msmix.experiment.settings import spec_settings
from msmix.train import RunSpec, finished_no_epoch, run_dir_of
from msmix.train.checkpoint import LAST
from msmix.train.progress import StepProgress
from msmix.train.threads import idle_threads

Runner = Callable[..., dict[str, Any]]
"""Trains one RunSpec: ``runner(spec, out_dir=..., resume=..., progress=...) -> results row``."""


def run_sweep(
    specs: Iterable[RunSpec],
    out_dir: str | Path,
    jobs: int = 1,
    progress: bool = True,
    dry_run: bool = False,
    runner: Runner | None = None,
    threads: int | None = None,
) -> pd.DataFrame:
    """Run every spec whose config hash has no row in ``out_dir/results.csv`` yet.

    Args:
        specs: the runs, e.g. from ``expand_grid``.
        out_dir: holds ``results.csv`` and each run's checkpoint folder, ``out_dir/<run>/``.
        jobs: worker processes; each trains one run at a time with its share of the CPU threads.
        progress: show a bar over the runs (and, with one job, the trainer's own bars); where
            bars cannot redraw (stderr is a file or a pipe), one line per finished run instead.
        dry_run: run nothing; return ``plan_sweep``'s table of what would run.
        runner: what trains one spec; ``msmix.train.run`` by default. With ``jobs > 1`` it must be
            importable by name (a module-level function), since workers are fresh processes.
        threads: torch threads of each worker process (``jobs > 1``); None shares out the cores
            idle at the start (``msmix.train.threads.idle_threads``). One job runs in this process
            with its current setting.

    Returns:
        The rows of these specs from the results table, in the order of ``specs``.
    """
    specs = list(specs)
    _check_unique(specs)
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
        raise ValueError(f"threads must be None or an integer >= 1, got {threads!r}")
    if dry_run:
        return plan_sweep(specs, out_dir)
    path = results_path(out_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    done = finished_hashes(path)
    todo = [spec for spec in specs if spec.config_hash() not in done]
    runner = runner or _train_run
    with StepProgress(len(specs), "sweep", "run", initial=len(specs) - len(todo), enabled=progress) as bar:
        def record(spec: RunSpec, row: dict[str, Any]) -> None:
            if finished_no_epoch(row):  # stopped before any result: the next sweep runs it again
                return
            append_row(path, complete_row(row, spec))
            bar.step(_label(spec))

        if jobs == 1:
            for spec in todo:
                record(spec, runner(spec, out_dir=str(out_dir), resume=True, progress=progress))
        else:
            _run_in_pool(todo, str(out_dir), jobs, threads or idle_threads(jobs), runner, record)
    return _rows_of(specs, path)


def plan_sweep(specs: Iterable[RunSpec], out_dir: str | Path) -> pd.DataFrame:
    """What a sweep would do: one row per spec with its settings and a ``status`` of ``done``
    (a row exists), ``resume`` (an unfinished checkpoint exists) or ``todo``."""
    done = finished_hashes(results_path(out_dir))
    plan = []
    for spec in specs:
        spec_hash = spec.config_hash()
        if spec_hash in done:
            status = "done"
        elif (run_dir_of(spec, out_dir) / LAST).is_file():
            status = "resume"
        else:
            status = "todo"
        settings = ", ".join(f"{k}={v}" for k, v in spec_settings(spec).items())
        plan.append({
            "data": spec.data, "backbone": spec.backbone, "mixer": spec.mixer, "seed": spec.seed,
            "settings": settings, "config_hash": spec_hash, "status": status,
        })
    return pd.DataFrame(plan, columns=["data", "backbone", "mixer", "seed", "settings", "config_hash", "status"])


def _train_run(spec: RunSpec, **kwargs: Any) -> dict[str, Any]:
    """``msmix.train.run``, looked up when called (so a replaced ``run`` is honoured)."""
    from msmix import train

    return train.run(spec, **kwargs)


def _check_unique(specs: list[RunSpec]) -> None:
    seen: dict[str, RunSpec] = {}
    for spec in specs:
        spec_hash = spec.config_hash()
        if spec_hash in seen:
            raise ValueError(f"the sweep lists the same run twice: {_label(spec)} (config_hash {spec_hash})")
        seen[spec_hash] = spec


def _label(spec: RunSpec) -> str:
    return f"{spec.data} {spec.backbone}-{spec.mixer} s{spec.seed}"


def _rows_of(specs: list[RunSpec], path: Path) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame()
    table = read_results(path).drop_duplicates("config_hash", keep="last").set_index("config_hash", drop=False)
    hashes = [s.config_hash() for s in specs if s.config_hash() in table.index]
    return table.loc[hashes].reset_index(drop=True)


def _run_in_pool(
    specs: list[RunSpec],
    out_dir: str,
    jobs: int,
    threads: int,
    runner: Runner,
    record: Callable[[RunSpec, dict[str, Any]], None],
) -> None:
    """Train ``specs`` in ``jobs`` fresh processes of ``threads`` torch threads each; the first
    failure stops new runs and is raised once the runs in flight have finished and been recorded."""
    with ProcessPoolExecutor(jobs, mp_context=_pool_context(), initializer=_init_worker, initargs=(threads, os.getpid())) as pool:
        futures: dict[Future, RunSpec] = {pool.submit(_work, runner, spec, out_dir): spec for spec in specs}
        failure: BaseException | None = None
        try:
            for future in as_completed(futures):
                if future.cancelled():
                    continue
                error = future.exception()
                if error is None:
                    record(futures[future], future.result())
                elif failure is None:
                    failure = error
                    _cancel(futures)
        except BaseException:
            _cancel(futures)
            raise
        if failure is not None:
            raise failure


def _cancel(futures: Iterable[Future]) -> None:
    for future in futures:
        future.cancel()


def _work(runner: Runner, spec: RunSpec, out_dir: str) -> dict[str, Any]:
    return runner(spec, out_dir=out_dir, resume=True, progress=False)


def _pool_context() -> multiprocessing.context.BaseContext:
    """Fresh workers that inherit no CUDA or thread-pool state: forked from a server process that
    has imported msmix once (POSIX), else spawned (Windows)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _init_worker(threads: int, sweep_pid: int) -> None:
    """Share the CPU among workers, and (on POSIX) exit once the sweep process is gone, even killed
    by SIGKILL, so no orphan keeps training into a folder the next sweep resumes."""
    import torch

    torch.set_num_threads(threads)
    if os.name == "posix":
        threading.Thread(target=_exit_when_gone, args=(sweep_pid,), daemon=True).start()


def _exit_when_gone(pid: int) -> None:
    while True:
        try:
            os.kill(pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            os._exit(1)
        time.sleep(0.5)
