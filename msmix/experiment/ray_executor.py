"""Runs of a sweep as tasks on a Ray cluster (``msmix sweep --executor ray``).

The sweep process stays the driver: it claims each run, hands it to Ray as one task and, once
the task is done, appends its row to ``results.csv`` itself, exactly as with a local pool. Each
task asks for one GPU when its run trains on CUDA (``device = "cuda"``, or ``"auto"`` on a
cluster that has GPUs), else for ``threads`` CPUs, and trains with that many torch threads.

The workers must see the sweep's output folder at the same path as the driver (a shared file
system): they write each run's checkpoints into ``out_dir/<run>/``, and msmix must be installed
on every node. A task whose worker dies (killed, out of memory, node lost) is run once more by
Ray; a second death stops the sweep with a ``RayExecutorError`` naming the run, and the next
sweep call resumes that run from its last checkpoint. When the driver dies, Ray ends the tasks
of its job, so no orphan keeps training into a folder the next call resumes.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

from msmix.experiment.tasks import Task
from msmix.train import RunSpec

TASK_RETRIES = 1
"""How often Ray runs a task again whose worker died."""

INSTALL_HINT = "pip install 'msmix[cluster]' (or pip install 'ray>=2.9')"


class RayExecutorError(RuntimeError):
    """Ray is missing, the cluster cannot be reached, or a run's task died twice."""


def import_ray() -> Any:
    """The ``ray`` module, or a one-line RayExecutorError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise RayExecutorError(f"--executor ray needs the ray package, which is not installed: {INSTALL_HINT}") from None
    return ray


CONNECT_SECONDS = 10.0
"""How long a cluster address may take to answer before the sweep gives up on it."""


def check_reachable(address: str, seconds: float = CONNECT_SECONDS) -> None:
    """Refuse a ``host:port`` (or ``ray://host:port``) address where nothing answers within
    ``seconds``: Ray itself retries such an address without end. Other forms (``auto``, a bare
    name) are left to Ray."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=seconds).close()
    except OSError as err:
        reason = "no answer" if isinstance(err, TimeoutError) else (err.strerror or type(err).__name__)
        raise RayExecutorError(f"cannot connect to the Ray cluster at {address}: {reason} within {seconds:g} s "
                               "(is the head node started, and is the address host:port of its GCS?)") from None


@contextlib.contextmanager
def ray_session(address: str | None) -> Iterator[Any]:
    """Ray, connected: the session already open in this process, else ``ray.init(address)``
    (None starts a local instance), shut down again on leaving."""
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    if address:
        check_reachable(address)
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as err:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise RayExecutorError(f"cannot connect to {where}: {_first_line(err)}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


@contextlib.contextmanager
def ray_pool(address: str | None, threads: int, runner: Any, out_dir: str) -> Iterator[Callable[[Task], Future]]:
    """A sweep's pool on Ray: yields ``submit(task)``; tasks still running when the sweep stops
    on an error or an interrupt are ended before leaving."""
    with ray_session(address) as ray:
        pool = RayPool(ray, threads)
        try:
            yield lambda task: pool.submit(runner, task, out_dir)
        except BaseException:
            pool.cancel_all()
            raise


class RayPool:
    """Hands runs to Ray as tasks; each ``submit`` returns a Future of the run's results row."""

    def __init__(self, ray: Any, threads: int) -> None:
        self.ray, self.threads = ray, threads
        self.cluster_has_gpus = ray.cluster_resources().get("GPU", 0) > 0
        self.task = ray.remote(max_retries=TASK_RETRIES, retry_exceptions=False)(_train_in_task)
        self.refs: list[Any] = []

    def submit(self, runner: Any, task: Task, out_dir: str) -> Future:
        """Start ``task`` (its runs through ``runner``, or stacked) as a Ray task; the Future holds
        its rows, or fails with the runner's own error, or with a RayExecutorError when the task's
        worker died twice."""
        ref = self.task.options(**self.resources(task.first)).remote(runner, task, out_dir, self.threads)
        self.refs.append(ref)
        result: Future = Future()
        ref.future().add_done_callback(lambda done: _settle(result, done, task, out_dir))
        return result

    def resources(self, spec: RunSpec) -> dict[str, float]:
        """One GPU for a run on CUDA, else ``threads`` CPUs."""
        device = spec.train.get("device", "auto")
        if device == "cuda" or (device == "auto" and self.cluster_has_gpus):
            return {"num_gpus": 1, "num_cpus": 1}
        return {"num_gpus": 0, "num_cpus": self.threads}

    def cancel_all(self) -> None:
        """End the tasks still running (the sweep stops on an error or an interrupt)."""
        for ref in self.refs:
            with contextlib.suppress(Exception):
                self.ray.cancel(ref, force=True)


def _settle(result: Future, done: Future, task: Task, out_dir: str) -> None:
    """Pass a task's outcome on: its row, the runner's own exception, or a one-line error for a
    task Ray could not finish."""
    if done.cancelled():
        result.cancel()
        return
    error = done.exception()
    if error is None:
        result.set_result(done.result())
        return
    cause = getattr(error, "cause", None)
    if isinstance(cause, Exception):  # the runner raised: the same error as in a local sweep
        result.set_exception(cause)
        return
    spec = task.first
    what = f"run {spec.data} {spec.backbone}-{spec.mixer} s{spec.seed} (config_hash {spec.config_hash()})"
    if len(task.specs) > 1:
        what = f"stacked runs {task.label()}"
    result.set_exception(RayExecutorError(
        f"{what}: its Ray task "
        f"failed {TASK_RETRIES + 1} times ({type(error).__name__}: {_first_line(error)}); run the sweep again to "
        f"resume it from its checkpoint in {out_dir}"
    ))


def _train_in_task(runner: Any, task: Task, out_dir: str, threads: int) -> list[dict[str, Any]]:
    """The task body on a worker: ``threads`` torch threads, then the task's runs, resuming."""
    import torch

    torch.set_num_threads(threads)
    return task.run(runner, out_dir, progress=False)


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__
