"""Run a sweep: every RunSpec not yet in ``out_dir/results.csv``, one after another or in a pool.

Only the parent process appends rows, one per finished run, so a sweep killed at any moment loses
at most the runs in flight: their checkpoints stay in ``out_dir/<run>/`` and the next call resumes
them (``resume=True``), while runs whose hash is already in the table are skipped. A sweep folder
of an earlier version, with its runs in ``out_dir/runs/<run>/``, continues from there.

Two sweeps may share one output folder: a sweep trains a run only while it holds the run's claim
(``msmix.experiment.claims``) and looks in the table again once it holds it. A run another sweep
is training is passed over, then waited for at the end: finished there, it is not trained again;
left unfinished (that sweep was killed), this sweep resumes it. Which runs it waited for is said
on stderr.

Runs train in this process, in a pool of local worker processes, or as tasks on a Ray cluster
(``msmix.experiment.ray_executor``); whichever trains them, this process claims them and writes
their rows. With ``stack_seeds`` the seeds of one configuration train together as one stacked
model (``msmix.experiment.tasks``), a row still written for each.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from msmix.experiment.claims import CLAIMS_FOLDER, Claim, holder, is_claimed, try_claim, wait_claim
from msmix.experiment.filelock import locked
from msmix.experiment.results import (
    ResultsError,
    append_row,
    complete_row,
    finished_hashes,
    read_results,
    results_path,
)
from msmix.experiment.settings import spec_settings
from msmix.experiment.tasks import Runner, Task, plan_tasks
from msmix.train import RunSpec, finished_no_epoch, run_dir_of
from msmix.train.checkpoint import LAST
from msmix.train.progress import StepProgress
from msmix.train.threads import idle_threads

Submit = Callable[[Task], Future]
"""Starts one task elsewhere (a pool worker, a Ray task); the Future holds its results rows."""

EXECUTORS = ("local", "ray")


def run_sweep(
    specs: Iterable[RunSpec],
    out_dir: str | Path,
    jobs: int = 1,
    progress: bool = True,
    dry_run: bool = False,
    runner: Runner | None = None,
    threads: int | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    stack_seeds: bool = False,
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
        executor: ``"local"`` (this machine) or ``"ray"``: each run is a task on a Ray cluster
            (``msmix.experiment.ray_executor``), ``jobs`` of them at once, each with one GPU when
            the run trains on CUDA, else ``threads`` CPUs (default 1). The workers must see
            ``out_dir`` at the same path (a shared file system); this process still claims the
            runs and writes every row.
        ray_address: the cluster to join (``ray.init(address=...)``); None joins the Ray session
            open in this process, else starts a local instance.
        stack_seeds: train the seeds of each configuration together as one stacked model
            (``msmix.train.stacked``) where the backbone allows it; a stacked group is one job.
            Each stacked seed keeps its own checkpoints, so a killed group resumes.

    Returns:
        The rows of these specs from the results table, in the order of ``specs``.
    """
    specs = list(specs)
    _check_unique(specs)
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
        raise ValueError(f"threads must be None or an integer >= 1, got {threads!r}")
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if dry_run:
        return plan_sweep(specs, out_dir)
    path = results_path(out_dir)
    prepare_output(out_dir)
    done = finished_hashes(path)
    todo = [spec for spec in specs if spec.config_hash() not in done]
    runner = runner or _train_run
    with StepProgress(len(specs), "sweep", "run", initial=len(specs) - len(todo), enabled=progress) as bar:
        def record(spec: RunSpec, row: dict[str, Any]) -> None:
            if finished_no_epoch(row):  # stopped before any result: the next sweep runs it again
                return
            append_row(path, complete_row(row, spec))
            bar.step(_label(spec))

        claims = _Claims(out_dir, path, on_done_elsewhere=lambda spec: bar.step(f"{_label(spec)} (another sweep)"))
        while todo:
            tasks = plan_tasks(todo, stack_seeds)
            if executor == "ray":
                _run_on_ray(tasks, str(out_dir), jobs, threads or 1, ray_address, runner, record, claims)
            elif jobs == 1:
                _run_in_turn(tasks, str(out_dir), runner, record, claims, progress)
            else:
                _run_in_pool(tasks, str(out_dir), jobs, threads or idle_threads(jobs), runner, record, claims)
            todo = claims.wait_for_others()
    return _rows_of(specs, path)


def prepare_output(out_dir: str | Path) -> None:
    """Make the output folder, refusing one that cannot hold a sweep (a file, a folder that cannot
    be written) before any run starts, with a ResultsError naming the folder."""
    folder = Path(out_dir)
    _check_output_folder(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        claims = folder / CLAIMS_FOLDER
        claims.mkdir(exist_ok=True)
        with tempfile.TemporaryFile(dir=claims):
            pass
    except OSError as err:
        raise ResultsError(f"output folder {folder} cannot be written: {err.strerror or err}") from None


def plan_sweep(specs: Iterable[RunSpec], out_dir: str | Path) -> pd.DataFrame:
    """What a sweep would do: one row per spec with its settings and a ``status`` of ``done``
    (a row exists), ``running`` (another sweep holds its claim now), ``resume`` (an unfinished
    checkpoint exists) or ``todo``."""
    _check_output_folder(out_dir)
    done = finished_hashes(results_path(out_dir))
    plan = []
    for spec in specs:
        spec_hash = spec.config_hash()
        if spec_hash in done:
            status = "done"
        elif is_claimed(out_dir, spec_hash):
            status = "running"
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


def _check_output_folder(out_dir: str | Path) -> None:
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise ResultsError(f"output folder {folder} is a file, expected a folder")


class _Claims:
    """The claims of one sweep: takes the runs no other sweep holds, remembers the others, and
    waits for those at the end."""

    def __init__(self, out_dir: str | Path, results: Path, on_done_elsewhere: Callable[[RunSpec], None]) -> None:
        self.out_dir, self.results = out_dir, results
        self.on_done_elsewhere = on_done_elsewhere
        self.others: list[RunSpec] = []

    def take(self, spec: RunSpec) -> Claim | None:
        """The run's claim, or None: another sweep holds it (it is remembered) or finished it."""
        claim = try_claim(self.out_dir, spec.config_hash())
        if claim is None:
            pid = holder(self.out_dir, spec.config_hash())
            _say(f"{_label(spec)}: another sweep{f' (process {pid})' if pid else ''} is training it; "
                 "this one goes on with the other runs and waits for it at the end")
            self.others.append(spec)
            return None
        if self._done(spec):
            claim.release()
            self.on_done_elsewhere(spec)
            return None
        return claim

    def wait_for_others(self) -> list[RunSpec]:
        """Wait for each run another sweep held; returns those it left unfinished, to run here."""
        left = []
        for spec in self.others:
            with wait_claim(self.out_dir, spec.config_hash()):
                if self._done(spec):
                    _say(f"{_label(spec)}: finished by the other sweep; not trained again")
                    self.on_done_elsewhere(spec)
                else:
                    _say(f"{_label(spec)}: the other sweep stopped before finishing it; this one resumes it")
                    left.append(spec)
        self.others = []
        return left

    def _done(self, spec: RunSpec) -> bool:
        with locked(self.results):  # never a half-written row of the other sweep
            return spec.config_hash() in finished_hashes(self.results)

    def claimed(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, list[Claim]]]:
        """Each task this sweep may train now, cut to the runs whose claims it holds, with those
        claims, in order."""
        for task in tasks:
            taken = [(spec, claim) for spec in task.specs if (claim := self.take(spec)) is not None]
            if taken:
                yield Task(tuple(spec for spec, _ in taken)), [claim for _, claim in taken]


def _say(message: str) -> None:
    """A line on stderr that leaves a progress bar intact."""
    tqdm.write(f"msmix sweep: {message}", file=sys.stderr)


def _run_in_turn(
    tasks: list[Task],
    out_dir: str,
    runner: Runner,
    record: Callable[[RunSpec, dict[str, Any]], None],
    claims: _Claims,
    progress: bool,
) -> None:
    """Train ``tasks`` one after another in this process, each while holding its runs' claims."""
    for task, held in claims.claimed(tasks):
        with _holding(held):
            for spec, row in zip(task.specs, task.run(runner, out_dir, progress)):
                record(spec, row)


@contextlib.contextmanager
def _holding(claims: list[Claim]) -> Iterator[None]:
    """Release every claim on leaving, whatever happens."""
    with contextlib.ExitStack() as stack:
        for claim in claims:
            stack.enter_context(claim)
        yield


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
    tasks: list[Task],
    out_dir: str,
    jobs: int,
    threads: int,
    runner: Runner,
    record: Callable[[RunSpec, dict[str, Any]], None],
    claims: _Claims,
) -> None:
    """Train ``tasks`` in ``jobs`` fresh processes of ``threads`` torch threads each, claiming each
    task's runs as it is handed to a worker; the first failure stops new tasks and is raised once
    those in flight have finished and been recorded. Claims are released only once the workers are done."""
    jobs = min(jobs, len(tasks))
    _drive_claimed(tasks, jobs, _local_pool(jobs, threads, runner, out_dir), record, claims)


@contextlib.contextmanager
def _local_pool(jobs: int, threads: int, runner: Runner, out_dir: str) -> Iterator[Submit]:
    """Worker processes on this machine; leaving waits for the runs they are training."""
    with ProcessPoolExecutor(jobs, mp_context=_pool_context(), initializer=_init_worker, initargs=(threads, os.getpid())) as pool:
        yield lambda task: pool.submit(_work, runner, task, out_dir)


def _run_on_ray(
    tasks: list[Task],
    out_dir: str,
    jobs: int,
    threads: int,
    address: str | None,
    runner: Runner,
    record: Callable[[RunSpec, dict[str, Any]], None],
    claims: _Claims,
) -> None:
    """Train ``tasks`` as Ray tasks, ``jobs`` at a time, claimed and recorded here as in a pool."""
    from msmix.experiment.ray_executor import ray_pool

    _drive_claimed(tasks, min(jobs, len(tasks)), ray_pool(address, threads, runner, out_dir), record, claims)


def _drive_claimed(
    tasks: list[Task],
    jobs: int,
    pool: contextlib.AbstractContextManager[Submit],
    record: Callable[[RunSpec, dict[str, Any]], None],
    claims: _Claims,
) -> None:
    """Keep ``jobs`` claimed tasks in ``pool`` until all ran; raise the first failure once the
    tasks in flight have finished and been recorded. Claims of tasks still in flight (an
    interrupt) are released only once the pool is left, i.e. its workers are done."""
    queue = claims.claimed(tasks)
    in_flight: dict[Future, tuple[Task, list[Claim]]] = {}
    try:
        with pool as submit:
            failure = _drive_pool(submit, queue, in_flight, jobs, record)
    finally:
        for _, held in in_flight.values():
            for claim in held:
                claim.release()
        queue.close()
    if failure is not None:
        raise failure


def _drive_pool(
    submit: Submit,
    queue: Iterator[tuple[Task, list[Claim]]],
    in_flight: dict[Future, tuple[Task, list[Claim]]],
    jobs: int,
    record: Callable[[RunSpec, dict[str, Any]], None],
) -> BaseException | None:
    """Keep ``jobs`` claimed tasks in the pool until the queue is empty; returns the first failure."""
    failure: BaseException | None = None
    try:
        while True:
            while failure is None and len(in_flight) < jobs and (item := next(queue, None)) is not None:
                in_flight[submit(item[0])] = item
            if not in_flight:
                return failure
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                task, held = in_flight.pop(future)
                with _holding(held):
                    error = future.exception()
                    if error is None:
                        for spec, row in zip(task.specs, future.result()):
                            record(spec, row)
                    elif failure is None:
                        failure = error
    except BaseException:
        _cancel(in_flight)
        raise


def _cancel(futures: Iterable[Future]) -> None:
    for future in futures:
        future.cancel()


def _work(runner: Runner, task: Task, out_dir: str) -> list[dict[str, Any]]:
    return task.run(runner, out_dir, progress=False)


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
