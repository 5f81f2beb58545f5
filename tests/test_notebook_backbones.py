"""Notebook 01 runs top to bottom with every backbone (``MSMIX_BACKBONE``), on the synthetic demo
set with one epoch: the training panel and every panel after it (SASS, SIG, latent space, errors,
attribution) work on each backbone's latents, B x d or B x T x d. nbval checks TFN's stored outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from msmix.models import available

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_train_mosi.ipynb"


@pytest.mark.parametrize("backbone", [name for name in available() if name != "tfn"])
def test_notebook_01_runs_with_every_backbone(backbone: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSMIX_BACKBONE", backbone)
    monkeypatch.setenv("MSMIX_EPOCHS", "1")
    monkeypatch.setenv("MSMIX_DATA", "toy")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert f"{backbone} + msmix, seed 1111: 1 epochs" in printed
