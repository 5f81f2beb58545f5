"""Sweeps: the dry run, skipping finished runs, and crashes or kills half-way that lose and repeat nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import msmix.train
from fake_runs import CrashedRun, calls, fake_metrics, fake_run, threads_run
from msmix.experiment import expand_grid, plan_sweep, read_results, run_sweep

HERE = Path(__file__).resolve().parent
CONFIG = {
    "data": "toy", "backbones": "tfn", "mixers": ["none", "msmix"], "seeds": [1, 2, 3],
    "mixer": {"msmix": {"threshold": [0.2, 0.4]}}, "train": {"max_epochs": 2},
}


@pytest.fixture
def specs() -> list[msmix.train.RunSpec]:
    return expand_grid(CONFIG)  # 3 none + 6 msmix runs


@pytest.fixture(autouse=True)
def fake_training(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(msmix.train, "run", fake_run)


def _assert_complete_once(specs: list, out: Path) -> None:
    """Every spec has exactly one row, with the metrics its own run produced."""
    table = read_results(out / "results.csv")
    assert Counter(table["config_hash"]) == Counter(s.config_hash() for s in specs)
    for spec in specs:
        row = table[table["config_hash"] == spec.config_hash()].iloc[0]
        assert row["MAE"] == fake_metrics(spec)["MAE"] and row["seed"] == spec.seed


def test_sweep_runs_everything_once_then_skips_it(specs: list, tmp_path: Path) -> None:
    out = run_sweep(specs, tmp_path, progress=False)
    assert out["config_hash"].tolist() == [s.config_hash() for s in specs]
    assert out["mixer.threshold"].isna().sum() == 3 and set(out["mixer.threshold"].dropna()) == {0.2, 0.4}
    assert (out["train.max_epochs"] == 2).all()
    assert [h for h, _ in calls(tmp_path)] == [s.config_hash() for s in specs]
    assert all(resume for _, resume in calls(tmp_path))
    again = run_sweep(specs, tmp_path, progress=False)
    assert len(calls(tmp_path)) == len(specs)  # nothing ran again
    assert again.equals(out)
    _assert_complete_once(specs, tmp_path)


def test_a_crash_half_way_loses_nothing_and_repeats_nothing(specs: list, tmp_path: Path) -> None:
    (tmp_path / "fail_at").write_text("3")
    with pytest.raises(CrashedRun):
        run_sweep(specs, tmp_path, progress=False)
    assert read_results(tmp_path / "results.csv")["config_hash"].tolist() == [s.config_hash() for s in specs[:2]]
    (tmp_path / "fail_at").unlink()
    run_sweep(specs, tmp_path, progress=False)
    hashes = [h for h, _ in calls(tmp_path)]
    assert hashes == [s.config_hash() for s in specs[:3]] + [s.config_hash() for s in specs[2:]]
    _assert_complete_once(specs, tmp_path)


def test_a_crash_in_a_worker_pool_loses_nothing_and_repeats_nothing(specs: list, tmp_path: Path) -> None:
    (tmp_path / "fail_at").write_text("3")
    with pytest.raises(CrashedRun):
        run_sweep(specs, tmp_path, jobs=2, progress=False, runner=fake_run)
    first = Counter(h for h, _ in calls(tmp_path))
    recorded = set(read_results(tmp_path / "results.csv")["config_hash"])
    assert len(recorded) == sum(first.values()) - 1  # every run that finished was recorded
    (tmp_path / "fail_at").unlink()
    run_sweep(specs, tmp_path, jobs=2, progress=False, runner=fake_run)
    second = Counter(h for h, _ in calls(tmp_path)) - first
    assert not recorded & set(second)  # no finished run ran again
    _assert_complete_once(specs, tmp_path)


def test_a_killed_sweep_process_resumes_without_loss_or_repeats(specs: list, tmp_path: Path) -> None:
    (tmp_path / "hang_at").write_text("4")
    script = (
        f"import sys; sys.path.insert(0, {str(HERE)!r})\n"
        "from fake_runs import fake_run\n"
        "from msmix.experiment import expand_grid, run_sweep\n"
        f"run_sweep(expand_grid({CONFIG!r}), {str(tmp_path)!r}, jobs=2, progress=False, runner=fake_run)\n"
    )
    sweep = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 180
        while not (tmp_path / "hanging").exists():
            assert sweep.poll() is None and time.monotonic() < deadline, "the sweep never reached its 4th run"
            time.sleep(0.2)
    finally:
        sweep.send_signal(signal.SIGKILL)
        sweep.wait()
    killed_hash, worker_pid = (tmp_path / "hanging").read_text().split()
    _wait_until_gone(int(worker_pid))  # the orphaned worker noticed and quit
    (tmp_path / "hang_at").unlink()
    first = Counter(h for h, _ in calls(tmp_path))
    recorded = set(read_results(tmp_path / "results.csv")["config_hash"])
    assert killed_hash not in recorded
    run_sweep(specs, tmp_path, progress=False)
    second = Counter(h for h, _ in calls(tmp_path)) - first
    assert killed_hash in second and not recorded & set(second)
    _assert_complete_once(specs, tmp_path)


def _wait_until_gone(pid: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    pytest.fail(f"worker {pid} outlived its sweep")


def test_dry_run_lists_runs_and_their_state_without_running(specs: list, tmp_path: Path) -> None:
    plan = run_sweep(specs, tmp_path, dry_run=True)
    assert plan.columns.tolist() == ["data", "backbone", "mixer", "seed", "settings", "config_hash", "status"]
    assert (plan["status"] == "todo").all() and plan["config_hash"].tolist() == [s.config_hash() for s in specs]
    assert plan["settings"][3] == "mixer.threshold=0.2, train.max_epochs=2"
    assert not calls(tmp_path) and not (tmp_path / "results.csv").exists()

    run_sweep(specs[:2], tmp_path, progress=False)
    old_layout = tmp_path / "runs" / msmix.train.run_dir_of(specs[4], tmp_path).name
    flat = msmix.train.run_dir_of(specs[6], tmp_path)
    assert flat.parent == tmp_path
    for unfinished in (old_layout, flat):
        unfinished.mkdir(parents=True)
        (unfinished / "last.pt").write_bytes(b"")
    plan = plan_sweep(specs, tmp_path)
    assert plan["status"].tolist() == ["done", "done", "todo", "todo", "resume", "todo", "resume", "todo", "todo"]
    assert len(calls(tmp_path)) == 2


def test_a_run_stopped_before_its_first_epoch_gets_no_row(specs: list, tmp_path: Path) -> None:
    stopped = specs[1].config_hash()

    def stops_one(spec: msmix.train.RunSpec, **kw) -> dict:
        row = fake_run(spec, **kw)
        if spec.config_hash() != stopped or len(calls(tmp_path)) > len(specs):
            return row
        return {**{k: v for k, v in row.items() if k not in fake_metrics(spec)}, "epochs": 0, "interrupted": True}

    table = run_sweep(specs, tmp_path, progress=False, runner=stops_one)
    assert stopped not in set(table["config_hash"]) and len(table) == len(specs) - 1
    run_sweep(specs, tmp_path, progress=False, runner=stops_one)
    assert [h for h, _ in calls(tmp_path)][len(specs):] == [stopped]  # only the stopped run runs again
    _assert_complete_once(specs, tmp_path)


def test_bad_arguments(specs: list, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="the same run twice"):
        run_sweep(specs + specs[:1], tmp_path)
    with pytest.raises(ValueError, match="jobs must be an integer >= 1"):
        run_sweep(specs, tmp_path, jobs=0)
    for threads in (0, 1.5, True):
        with pytest.raises(ValueError, match="threads must be None or an integer >= 1"):
            run_sweep(specs, tmp_path, jobs=2, threads=threads)


def test_pool_workers_get_the_asked_thread_count(specs: list, tmp_path: Path) -> None:
    table = run_sweep(specs[:4], tmp_path, jobs=2, progress=False, runner=threads_run, threads=3)
    assert table["cpu_threads"].tolist() == [3, 3, 3, 3]
