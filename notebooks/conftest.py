"""nbval settings for ``pytest --nbval notebooks/``: the README's command needs no extra flags.

The stored outputs of the notebooks are regression fixtures. Outputs that change from run to run
without meaning anything (memory addresses, widget and trace ids, process ids) are masked by the
regular expressions in ``nbval_sanitize.cfg`` next to this file; a ``--nbval-sanitize-with`` given
on the command line wins. Kernels run on the Python that runs pytest (the project's ``.venv``),
whatever kernel name a notebook stores. The stored outputs are those of the demo data, so the
variables that point the notebooks at other data (``MSMIX_DATA``, ``MSMIX_EPOCHS``) are cleared for
the kernels.

The kernels also compute with AVX2 instructions at most (``CPU_ISA``): torch, MKL and oneDNN pick
their kernels by the CPU, and an AVX-512 CPU rounds differently from an AVX2 one, which a few
epochs of training turn into other third decimals. Pinned, the stored numbers repeat on either.

After a change that moves the numbers, store fresh outputs with (from this folder):
    env ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 \
        jupyter nbconvert --to notebook --execute --inplace \
        --ExecutePreprocessor.store_widget_state=False --ExecutePreprocessor.record_timing=False *.ipynb
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SANITIZE_FILE = Path(__file__).with_name("nbval_sanitize.cfg")
DATA_VARIABLES = ("MSMIX_DATA", "MSMIX_EPOCHS")
CPU_ISA = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def pytest_configure(config: pytest.Config) -> None:
    option = config.option
    if not (getattr(option, "nbval", False) or getattr(option, "nbval_lax", False)):
        return
    if getattr(option, "nbval_sanitize_with", None) is None and not getattr(option, "sanitize_with", None):
        option.nbval_sanitize_with = str(SANITIZE_FILE)
    if not getattr(option, "nbval_kernel_name", None):
        option.nbval_current_env = True
    for name in DATA_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(CPU_ISA)
