"""Checkpoint files: written without zip checksums, loaded back equal, torch's global switch left as found."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch

from msmix.train.checkpoint import save_checkpoint


def payload() -> dict:
    generator = torch.Generator().manual_seed(0)
    return {"format": 1, "weights": torch.randn(300, 7, generator=generator), "step": 12, "names": ["a", "b"]}


def test_a_checkpoint_loads_back_equal_with_weights_only(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint(path, payload())
    back = torch.load(path, weights_only=True)
    assert torch.equal(back["weights"], payload()["weights"])
    assert (back["step"], back["names"]) == (12, ["a", "b"])


@pytest.mark.skipif(not hasattr(torch.serialization, "set_crc32_options"), reason="torch without the CRC32 switch")
@pytest.mark.parametrize("setting", [True, False])
def test_records_carry_no_checksum_and_the_global_setting_is_restored(tmp_path: Path, setting: bool) -> None:
    before = torch.serialization.get_crc32_options()
    torch.serialization.set_crc32_options(setting)
    try:
        save_checkpoint(tmp_path / "a.pt", payload())
        assert torch.serialization.get_crc32_options() is setting
    finally:
        torch.serialization.set_crc32_options(before)
    with zipfile.ZipFile(tmp_path / "a.pt") as archive:
        data = [info for info in archive.infolist() if "/data/" in info.filename and "serialization_id" not in info.filename]
        assert data and all(info.CRC == 0 for info in data)


@pytest.mark.skipif(not hasattr(torch.serialization, "set_crc32_options"), reason="torch without the CRC32 switch")
def test_a_failed_write_restores_the_setting_and_leaves_no_file(tmp_path: Path) -> None:
    before = torch.serialization.get_crc32_options()
    with pytest.raises(Exception):
        save_checkpoint(tmp_path / "bad.pt", {"unpicklable": lambda: None})
    assert torch.serialization.get_crc32_options() is before
    assert list(tmp_path.iterdir()) == []
