"""``run_sweep(executor="ray")`` on a local Ray instance with CPU tasks: the same table as a local
sweep, and a worker killed mid-run still ends in a complete table."""

from __future__ import annotations

import os
import socket
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import torch

from msmix.cli import main
from msmix.experiment import expand_grid, read_results, run_sweep
from msmix.experiment.ray_executor import RayExecutorError, check_reachable
from msmix.metrics import MOSI_KEYS
from ray_runs import kill_marker, killed_run, never_called, refusing_run


GRID = {"data": "toy", "backbones": ["lmf"], "mixers": ["none", "msmix"], "seeds": [1, 2], "train": {"max_epochs": 2}}
METRICS = list(MOSI_KEYS)


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[None]:
    """One small local Ray instance (2 CPUs) for the module; its workers, started with this
    environment, import msmix and these helpers as this process does."""
    ray = pytest.importorskip("ray")
    search_path = [str(Path(__file__).parent), *[p for p in sys.path if p], os.environ.get("PYTHONPATH", "")]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PYTHONPATH", os.pathsep.join(p for p in search_path if p))
        env.setenv("RAY_AUTH_MODE", "disabled")  # a local test instance: no token file in the home folder
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            yield
        finally:
            ray.shutdown()


@pytest.fixture(scope="module")
def specs() -> list:
    return expand_grid(GRID)


@pytest.fixture(scope="module")
def local_table(specs: list, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The table of the same runs trained here, one after another with one torch thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return run_sweep(specs, tmp_path_factory.mktemp("local"), progress=False)
    finally:
        torch.set_num_threads(threads)


def assert_same_table(table: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same runs, same epochs, same metrics (seeded runs; float tolerance), in any order."""
    assert len(table) == len(expected) == 4
    table, expected = (t.sort_values("config_hash", ignore_index=True) for t in (table, expected))
    assert list(table["config_hash"]) == list(expected["config_hash"])
    assert list(table["epochs"]) == list(expected["epochs"])
    pd.testing.assert_frame_equal(table[METRICS], expected[METRICS], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_a_ray_sweep_writes_the_table_a_local_sweep_writes(ray_instance, specs, local_table, tmp_path: Path) -> None:
    table = run_sweep(specs, tmp_path, jobs=2, threads=1, progress=False, executor="ray")
    assert_same_table(table, local_table)
    assert_same_table(read_results(tmp_path / "results.csv"), local_table)
    again = run_sweep(specs, tmp_path, jobs=2, threads=1, progress=False, executor="ray", runner=never_called)
    assert_same_table(again, local_table)


@pytest.mark.slow
def test_stacked_seeds_as_ray_tasks_write_the_table_of_a_local_stacked_sweep(ray_instance, specs, tmp_path: Path) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        local = run_sweep(specs, tmp_path / "local", progress=False, stack_seeds=True)
    finally:
        torch.set_num_threads(threads)
    table = run_sweep(specs, tmp_path / "ray", jobs=2, threads=1, progress=False, executor="ray", stack_seeds=True)
    assert (table["stacked_seeds"] == 2).all()  # two tasks, each a configuration's two seeds
    assert_same_table(table, local)


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_retried_and_the_table_completes(ray_instance, specs, local_table, tmp_path: Path) -> None:
    marker = kill_marker(tmp_path, specs[1].config_hash())
    marker.write_text("1")
    table = run_sweep(specs, tmp_path, jobs=2, threads=1, progress=False, executor="ray", runner=killed_run)
    assert marker.read_text() == "0"  # the first attempt died after its first epoch
    assert_same_table(table, local_table)


@pytest.mark.slow
def test_a_task_killed_twice_stops_the_sweep_in_one_line_and_the_next_call_resumes_it(
    ray_instance, specs, local_table, tmp_path: Path
) -> None:
    marker = kill_marker(tmp_path, specs[0].config_hash())
    marker.write_text("2")
    with pytest.raises(RayExecutorError, match=rf"run toy lmf-none s1 \(config_hash {specs[0].config_hash()}\): its Ray "
                       rf"task failed 2 times \(.+\); run the sweep again to resume it from its checkpoint in {tmp_path}"):
        run_sweep(specs, tmp_path, jobs=2, threads=1, progress=False, executor="ray", runner=killed_run)
    done = read_results(tmp_path / "results.csv") if (tmp_path / "results.csv").is_file() else pd.DataFrame()
    assert specs[0].config_hash() not in set(done.get("config_hash", []))
    table = run_sweep(specs, tmp_path, jobs=2, threads=1, progress=False, executor="ray", runner=killed_run)
    assert_same_table(table, local_table)


@pytest.mark.slow
def test_the_runner_s_own_error_reaches_the_driver_unchanged(ray_instance, specs, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="refused on purpose"):
        run_sweep(specs[:1], tmp_path, threads=1, progress=False, executor="ray", runner=refusing_run)
    assert not (tmp_path / "results.csv").is_file() or read_results(tmp_path / "results.csv").empty


def write_config(folder: Path) -> Path:
    config, out = folder / "sweep.toml", folder / "out"
    config.write_text('data = "toy"\nbackbones = ["lmf"]\nmixers = ["none", "msmix"]\nseeds = [1, 2]\n'
                      f'out_dir = "{out}"\n[train]\nmax_epochs = 2\n')
    return config


@pytest.mark.slow
def test_msmix_sweep_with_executor_ray(ray_instance, local_table, tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path)
    assert main(["sweep", str(config), "--executor", "ray", "--jobs", "2", "--threads", "1", "--quiet"]) == 0
    assert "4 runs in" in capsys.readouterr().out
    assert_same_table(read_results(tmp_path / "out" / "results.csv"), local_table)


def test_executor_ray_without_ray_installed_is_one_line(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as where it is not installed
    config = write_config(tmp_path)
    assert main(["sweep", str(config), "--executor", "ray", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == ("msmix sweep: error: --executor ray needs the ray package, which is not installed: "
                   "pip install 'msmix[cluster]' (or pip install 'ray>=2.9')\n")
    assert not (tmp_path / "out" / "results.csv").is_file()


def test_ray_address_without_executor_ray_is_refused(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path)
    assert main(["sweep", str(config), "--ray-address", "auto", "--quiet"]) == 2
    assert capsys.readouterr().err == "msmix sweep: error: --ray-address needs --executor ray\n"


def test_an_unknown_executor_is_refused(specs, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="executor must be one of local, ray, got 'dask'"):
        run_sweep(specs, tmp_path, executor="dask")


def test_an_address_where_nothing_answers_is_refused_at_once(monkeypatch, tmp_path: Path, capsys) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # a port nothing listens on, where ray.init would retry without end
    never_init = types.SimpleNamespace(is_initialized=lambda: False, init=pytest.fail)
    monkeypatch.setitem(sys.modules, "ray", never_init)
    started = time.monotonic()
    assert main(["sweep", str(write_config(tmp_path)), "--executor", "ray", "--ray-address", f"127.0.0.1:{port}", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"msmix sweep: error: cannot connect to the Ray cluster at 127.0.0.1:{port}: ")
    assert err.count("\n") == 1 and time.monotonic() - started < 30
    check_reachable("auto")  # forms other than host:port are left to Ray


def test_an_address_that_never_answers_is_refused_after_the_timeout(monkeypatch) -> None:
    def silent(address, timeout):
        assert address == ("head", 10001) and timeout == 0.2
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", silent)
    with pytest.raises(RayExecutorError, match=r"^cannot connect to the Ray cluster at ray://head:10001: no answer within 0.2 s"):
        check_reachable("ray://head:10001", seconds=0.2)


@pytest.mark.parametrize(("cluster", "device", "expected"), [
    ({"CPU": 16, "GPU": 2}, "auto", {"num_gpus": 1, "num_cpus": 1}),
    ({"CPU": 16, "GPU": 2}, "cuda", {"num_gpus": 1, "num_cpus": 1}),
    ({"CPU": 16, "GPU": 2}, "cpu", {"num_gpus": 0, "num_cpus": 3}),
    ({"CPU": 16}, "auto", {"num_gpus": 0, "num_cpus": 3}),
])
def test_each_task_asks_the_cluster_for_one_gpu_where_it_trains_on_cuda(cluster, device, expected) -> None:
    """What a task asks Ray for, on a cluster with or without GPUs (no cluster needed)."""
    from msmix.experiment.ray_executor import RayPool
    from msmix.train import RunSpec

    fake_ray = types.SimpleNamespace(cluster_resources=lambda: cluster, remote=lambda **options: lambda fn: fn)
    pool = RayPool(fake_ray, threads=3)
    train = {} if device == "auto" else {"device": device}
    assert pool.resources(RunSpec(data="toy", backbone="tfn", mixer="msmix", train=train)) == expected
