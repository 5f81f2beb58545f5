"""Thread choice: the run queue read from /proc/loadavg, less this process, and the idle cores shared out."""

from __future__ import annotations

from pathlib import Path

import pytest

from msmix.train import threads
from msmix.train.threads import busy_cores, cpu_quota, idle_threads, running_tasks


def test_running_tasks_reads_the_run_queue_field(tmp_path: Path) -> None:
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("1.52 0.80 0.41 3/412 98765\n")
    assert running_tasks(loadavg) == 3


@pytest.mark.parametrize("text", ["", "1.0 2.0 3.0\n", "1.0 2.0 3.0 x/12 5\n"])
def test_running_tasks_is_none_for_unreadable_files(tmp_path: Path, text: str) -> None:
    loadavg = tmp_path / "loadavg"
    loadavg.write_text(text)
    assert running_tasks(loadavg) is None
    assert running_tasks(tmp_path / "absent") is None


def test_busy_cores_is_the_median_reading_without_this_process() -> None:
    readings = iter([2, 4, 2, 1, 2])
    assert busy_cores(samples=5, interval=0.0, read=lambda: next(readings)) == 1
    assert busy_cores(samples=3, interval=0.0, read=lambda: 1) == 0
    assert busy_cores(samples=1, interval=0.0, read=lambda: 0) == 0  # never negative
    assert busy_cores(samples=3, interval=0.0, read=lambda: None) is None


@pytest.mark.parametrize(
    ("cores", "busy", "jobs", "expected"),
    [(2, 0, 1, 2), (2, 1, 1, 1), (2, 5, 1, 1), (8, 2, 3, 2), (8, 0, 16, 1), (4, None, 1, 4), (4, None, 2, 2)],
)
def test_idle_threads_shares_the_idle_cores(cores: int, busy: int | None, jobs: int, expected: int, monkeypatch) -> None:
    monkeypatch.setattr(threads, "busy_cores", lambda: busy)
    assert idle_threads(jobs, cores=cores) == expected
    if busy is not None:
        assert idle_threads(jobs, cores=cores, busy=busy) == expected


def test_idle_threads_refuses_no_jobs() -> None:
    with pytest.raises(ValueError, match="jobs must be at least 1, got 0"):
        idle_threads(0, cores=2, busy=0)


def test_this_machine_gives_a_sane_answer() -> None:
    assert 1 <= idle_threads() <= threads.usable_cores()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("max 100000\n", None), ("200000 100000\n", 2), ("150000 100000\n", 2), ("50000 100000\n", 1), ("", None), ("x y\n", None)],
)
def test_cpu_quota_reads_cgroup_v2_cpu_max(tmp_path: Path, text: str, expected: int | None) -> None:
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text(text)
    assert cpu_quota(cpu_max) == expected
    assert cpu_quota(tmp_path / "absent") is None


def test_usable_cores_are_capped_by_the_quota(monkeypatch) -> None:
    monkeypatch.setattr(threads, "cpu_quota", lambda: 1)
    assert threads.usable_cores() == 1
    monkeypatch.setattr(threads, "cpu_quota", lambda: None)
    assert threads.usable_cores() >= 1
