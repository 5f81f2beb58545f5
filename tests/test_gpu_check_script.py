"""``benchmarks/gpu_check.py``, the one script that runs every CUDA check and GPU measurement,
runs end to end as a CPU dry run (``--device cpu --quick``), so it works when a GPU is at hand."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_a_quick_cpu_run_writes_every_part_of_the_report(tmp_path: Path) -> None:
    out = tmp_path / "gpu_check.md"
    done = run_script("--device", "cpu", "--quick", "--out", str(out))
    assert done.returncode == 0, done.stderr
    report = out.read_text()
    assert report.strip() == done.stdout.strip()
    assert "FAILED" not in report and "(not run)" not in report
    for backbone in ("lmf", "tfn"):
        for mixer in ("none", "msmix"):
            assert f"| {backbone} | {mixer} | " in report.split("## (b)")[0], "an equivalence row is missing"
        assert f"| {backbone} | msmix | not checked (CPU) |" in report
        assert f"| {backbone}, 2 seeds stacked | msmix | not checked (CPU) |" in report
        for variant in ("fp32", "bf16", "checkpoints"):
            assert f"| {backbone} | {variant} | " in report
        assert f"| {backbone} | 2 | 2 | " in report.split("## (e)")[1], "a stacked-seeds row is missing"
    assert report.count("| yes |") == 4, "on one device the two runs must agree exactly"
    projection = report.split("## (f)")[1]
    assert "| tfn | " in projection and "| lmf | " in projection and "Projected grid (2 of 6 backbones" in projection
    assert "skipped: no Python with MMSA 2.2.1" in report
    share = report.split("## (g)")[1]
    for backbone, batch in (("lmf", 64), ("tfn", 32)):
        assert f"| {backbone} | {batch} | " in share and "% | <= 10% (call) |" in share, "a mixer-share row is missing"


@pytest.mark.slow
def test_a_failing_row_is_reported_and_the_other_parts_still_run(tmp_path: Path) -> None:
    done = run_script("--device", "cpu", "--quick", "--backbones", "lmf", "nosuchbackbone", "--mixers", "none", "--parts", "a", "b")
    assert done.returncode == 0, done.stderr
    assert "- FAILED nosuchbackbone + none: " in done.stdout
    assert "| lmf | none | " in done.stdout and "| lmf | msmix | not checked (CPU) |" in done.stdout


def test_cuda_is_refused_in_one_line_where_there_is_none() -> None:
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    done = run_script("--device", "cuda")
    assert done.returncode == 2 and "--device cuda: this PyTorch" in done.stderr


def test_the_report_on_disk_holds_every_row_measured_so_far(tmp_path: Path) -> None:
    """A run cut short (a device's time running out) keeps the rows it measured: a part's table is
    rewritten on disk after each row, and failures stay beside it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    gpu_check = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(SCRIPT.parent))
    sys.modules["gpu_check"] = gpu_check  # dataclasses look their module up there
    try:
        spec.loader.exec_module(gpu_check)
    finally:
        sys.path.remove(str(SCRIPT.parent))
        del sys.modules["gpu_check"]
    out = tmp_path / "report.md"
    report = gpu_check.Report("# header", out)
    report.put("c", "table", "| tfn | 1 |")
    assert "| tfn | 1 |" in out.read_text() and out.read_text().count("(not run)") == len(gpu_check.PARTS) - 1
    report.add("c", "- FAILED lmf: boom")
    report.put("c", "table", "| tfn | 1 |\n| mult | 2 |")
    section = out.read_text().split("## (c)")[1].split("## (d)")[0]
    assert section.count("| tfn | 1 |") == 1 and "| mult | 2 |" in section and "- FAILED lmf: boom" in section
