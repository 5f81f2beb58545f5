"""The committed notebooks as regression fixtures: what they must say and hold for
``pytest --nbval notebooks/`` to be a fair, portable check.

nbval itself re-runs them and compares outputs; these tests check what nbval cannot: that each
notebook reads ``MSMIX_DATA``, says SYNTHETIC, fixes its thread count, was stored from one clean
top-to-bottom run without errors, widget state or machine-specific paths, that every widget view
is excluded from comparison, that the stored sweep table matches its sweep file, and that the
kernels compute with the same CPU instructions on every machine.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbval.plugin import get_sanitize_patterns

from msmix.experiment import expand_grid, load_sweep_config, read_results

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("01_train_mosi.ipynb", "02_compare_methods.ipynb", "03_sensitivity.ipynb")
IGNORE = "# NBVAL_IGNORE_OUTPUT"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MACHINE_PATH = re.compile(r"(/work/|/tmp/|/home/|/root/|/Users/|[A-Z]:\\\\)")
MAX_BYTES = 300_000


def load(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def output_text(output: nbformat.NotebookNode) -> str:
    return json.dumps({k: v for k, v in output.items() if k != "metadata"})


def test_the_three_notebooks_are_there_and_valid() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)
    for name in NAMES:
        nbformat.validate(load(name))


@pytest.mark.parametrize("name", NAMES)
def test_reads_msmix_data_and_says_synthetic(name: str) -> None:
    nb = load(name)
    code = "\n".join(c.source for c in code_cells(nb))
    assert 'os.environ.get("MSMIX_DATA", "toy")' in code
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "SYNTHETIC" in markdown and "MSMIX_DATA" in markdown


@pytest.mark.parametrize("name", NAMES)
def test_fixes_threads_first(name: str) -> None:
    first = code_cells(load(name))[0].source
    assert "torch.set_num_threads(1)" in first


@pytest.mark.parametrize("name", NAMES)
def test_stored_from_one_clean_run(name: str) -> None:
    nb = load(name)
    counts = [c.execution_count for c in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), f"{name}: execution counts {counts}"
    for cell in code_cells(nb):
        assert cell.outputs, f"{name}: a code cell without stored output:\n{cell.source[:200]}"
        assert all(o.output_type != "error" for o in cell.outputs), f"{name}: an error is stored"


@pytest.mark.parametrize("name", NAMES)
def test_holds_no_widget_state_or_machine_paths(name: str) -> None:
    path = NOTEBOOKS / name
    nb = load(name)
    assert "widgets" not in nb.metadata, f"{name} stores widget state (volatile ids, megabytes)"
    assert path.stat().st_size < MAX_BYTES
    assert nb.metadata.kernelspec.name == "python3"
    for cell in code_cells(nb):
        for output in cell.outputs:
            found = MACHINE_PATH.search(output_text(output))
            assert found is None, f"{name}: an output holds a machine-specific path near {found.group(0)!r}"


@pytest.mark.parametrize("name", NAMES)
def test_widget_views_are_not_compared(name: str) -> None:
    for cell in code_cells(load(name)):
        shows_widget = any(WIDGET_VIEW in o.get("data", {}) for o in cell.outputs)
        if shows_widget:
            assert cell.source.startswith(IGNORE), f"{name}: a widget view nbval would compare:\n{cell.source[:200]}"


def test_stored_sweep_table_is_the_sweep_files_output() -> None:
    config = NOTEBOOKS / "results" / "sweep_toy_compare.toml"
    table = read_results(NOTEBOOKS / "results" / "sweep_toy_compare.csv")
    specs = expand_grid(load_sweep_config(config))
    assert sorted(table["config_hash"]) == sorted(s.config_hash() for s in specs)
    assert set(table["data"]) == {"toy"}
    notebook = "\n".join(c.source for c in load("02_compare_methods.ipynb").cells)
    assert "msmix sweep notebooks/results/sweep_toy_compare.toml" in notebook


def test_sanitize_file_masks_volatile_values() -> None:
    patterns = get_sanitize_patterns((NOTEBOOKS / "nbval_sanitize.cfg").read_text())

    def sanitize(text: str) -> str:
        for regex, replacement in patterns:
            text = re.sub(regex, replacement, text)
        return text

    assert sanitize("<Figure at 0x7f3a2c1b9d10>") == sanitize("<Figure at 0x55d0c0ffee00>")
    assert sanitize('"uid": "3f2a9c1e-77aa-4bde-9a0b-2c1d3e4f5a6b"') == sanitize('"uid": "0a1b2c3d-0000-4bde-9a0b-ffffffffffff"')
    assert sanitize("2026-11-27T00:03:29+00:00") == sanitize("2027-01-02T10:00:00+00:00")
    assert sanitize("Corr 0.741") != sanitize("Corr 0.742")


def test_notebook_kernels_compute_with_the_same_instructions_on_every_cpu() -> None:
    """nbval's kernels get ``notebooks/conftest.py``'s CPU_ISA; torch must honour it, or the stored
    numbers of 01 (recorded with AVX2 kernels) would differ on an AVX-512 machine."""
    import importlib.util
    import os
    import subprocess
    import sys

    spec = importlib.util.spec_from_file_location("notebooks_conftest", NOTEBOOKS / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    env = {**os.environ, **module.CPU_ISA}
    found = subprocess.run([sys.executable, "-c", "import torch; print(torch.backends.cpu.get_cpu_capability())"],
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert found == module.CPU_ISA["ATEN_CPU_CAPABILITY"].upper()
