"""Reusing freed CPU memory: large tensors allocated again no longer page-fault afresh."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from msmix.train import allocator
from msmix.train.allocator import reuse_freed_memory

PROBE = textwrap.dedent(
    """
    import importlib.util, resource, sys, torch

    spec = importlib.util.spec_from_file_location("allocator", sys.argv[1])  # not the whole package
    allocator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(allocator)

    def faults_of_repeated_allocation():
        torch.ones(10_000_000)  # 40 MB: above glibc's largest dynamic mmap threshold
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(5):
            torch.ones(10_000_000)
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    plain = faults_of_repeated_allocation()
    applied = allocator.reuse_freed_memory()
    for _ in range(4):  # the heap grows in steps until freed tensors fit where they were
        faults_of_repeated_allocation()
    print(plain, faults_of_repeated_allocation(), applied)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning is Linux-only")
def test_reused_memory_needs_no_fresh_pages():
    out = subprocess.run([sys.executable, "-c", PROBE, allocator.__file__], capture_output=True, text=True, check=True).stdout.split()
    plain, reused, applied = int(out[0]), int(out[1]), out[2] == "True"
    assert applied
    pages = 5 * 40_000_000 // 4096
    assert plain > pages // 2, "without the setting each 40 MB tensor should be mapped afresh"
    assert reused < pages // 20


def test_applying_twice_is_harmless():
    assert reuse_freed_memory() == reuse_freed_memory()
