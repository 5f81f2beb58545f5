"""How many CPU threads torch should use: the cores that are idle now.

torch's default, one thread per core, is fastest on an idle machine (a TFN epoch on the demo data
takes 1.0 s with two threads against 1.7 s with one, on two cores). But its OpenMP threads wait
for each other by spinning, so when another process holds a core every parallel region waits for
a thread that is not running, and training becomes many times slower (an 8x slowdown was seen
with two threads on two cores, one of them busy). So the CLI counts the cores it may use (affinity
mask and cgroup CPU quota) and the cores that other work is using at the moment it starts
(Linux's run queue in ``/proc/loadavg``, sampled a few times), and takes the rest.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

LOADAVG = Path("/proc/loadavg")
CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def cpu_quota(cpu_max: Path = CPU_MAX) -> int | None:
    """CPUs a cgroup v2 quota allows this process (``quota / period`` rounded up), None without one.

    A container limited to two CPUs on a 64-core host sees all 64 cores in its affinity mask.
    """
    try:
        quota, period = cpu_max.read_text().split()[:2]
        return None if quota == "max" else max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError, ZeroDivisionError):
        return None


def usable_cores() -> int:
    """The cores this process may run on: its affinity mask, capped by a cgroup CPU quota."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = cpu_quota()
    return cores if quota is None else min(cores, quota)


def running_tasks(loadavg: Path = LOADAVG) -> int | None:
    """Tasks running or ready to run right now, this one included (None where the OS does not say)."""
    try:
        fields = loadavg.read_text().split()
        return int(fields[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None


def busy_cores(samples: int = 5, interval: float = 0.02, read: Callable[[], int | None] = running_tasks) -> int | None:
    """Cores other work keeps busy: the median of ``samples`` run-queue readings, less this process."""
    readings = []
    for i in range(samples):
        found = read()
        if found is None:
            return None
        readings.append(found - 1)
        if i + 1 < samples:
            time.sleep(interval)
    return max(0, round(statistics.median(readings)))


def idle_threads(jobs: int = 1, cores: int | None = None, busy: int | None = None) -> int:
    """Threads for each of ``jobs`` training processes: the idle cores shared out, at least one each.

    ``cores`` and ``busy`` default to ``usable_cores()`` and ``busy_cores()``; where the busy count
    is unknown every usable core counts as idle (torch's own default).
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    cores = usable_cores() if cores is None else cores
    busy = busy_cores() if busy is None else busy
    idle = cores if busy is None else cores - busy
    return max(1, idle // jobs)
