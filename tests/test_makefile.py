"""The Makefile's commands, read from ``make -n`` (a dry run: nothing is installed or started).

The set-up stamp is assumed up to date (``-o``), so ``lab`` prints only its own command.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAMP = ".venv/.msmix-installed"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _dry_run(*args: str, path_prefix: Path | None = None) -> str:
    """What ``make -n ARGS`` would run, with the user's own make variables kept out."""
    env = {k: v for k, v in os.environ.items() if k not in {"JUPYTER_ARGS", "TORCH", "TORCH_INDEX", "MAKEFLAGS", "MFLAGS"}}
    if path_prefix is not None:
        env["PATH"] = f"{path_prefix}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(["make", "-n", "-C", str(ROOT), "--no-print-directory", *args],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _lab_command(*args: str, path_prefix: Path | None = None) -> list[str]:
    lines = [line for line in _dry_run("lab", "-o", STAMP, *args, path_prefix=path_prefix).splitlines() if "jupyter lab" in line]
    assert len(lines) == 1, lines
    return lines[0].split()


def _fake_id(folder: Path, uid: int) -> Path:
    """A folder whose ``id`` says ``uid``: put first on PATH, it stands for another user."""
    script = folder / "id"
    script.write_text(f"#!/bin/sh\necho {uid}\n")
    script.chmod(0o755)
    return folder


def test_lab_allows_root_exactly_when_run_as_root() -> None:
    command = _lab_command()
    assert command[-1] == "notebooks/01_train_mosi.ipynb"
    assert ("--allow-root" in command) == (os.geteuid() == 0)


@pytest.mark.parametrize("uid", [0, 1000])
def test_lab_asks_id_which_user_runs_it(uid: int, tmp_path: Path) -> None:
    command = _lab_command(path_prefix=_fake_id(tmp_path, uid))
    assert ("--allow-root" in command) == (uid == 0)


def test_lab_passes_the_users_jupyter_options() -> None:
    command = _lab_command("JUPYTER_ARGS=--port 9999 --no-browser")
    assert command[-4:] == ["--port", "9999", "--no-browser", "notebooks/01_train_mosi.ipynb"]


def _torch_install(*args: str) -> str:
    """The set-up's torch install command (``-B``: as if .venv were missing)."""
    lines = [line for line in _dry_run("-B", "venv", *args).splitlines() if "pip install" in line and "torch" in line]
    assert len(lines) == 1, lines
    return lines[0]


def test_torch_comes_from_the_default_index_unless_an_index_is_given() -> None:
    plain = _torch_install()
    assert plain.endswith('pip install "torch==2.13.0"') and "--index-url" not in plain
    assert _torch_install(f"TORCH_INDEX={CPU_INDEX}").endswith(f'pip install --index-url {CPU_INDEX} "torch==2.13.0"')


def test_the_readme_says_what_the_makefile_does() -> None:
    makefile = (ROOT / "Makefile").read_text()
    torch = re.search(r"^TORCH \?= (\S+)$", makefile, re.MULTILINE)
    assert torch is not None
    section = (ROOT / "README.md").read_text().split("## Two commands", 1)[1].split("\n## ", 1)[0]
    two_commands = " ".join(section.split())  # as read, whatever the line breaks
    assert f"installs {torch.group(1)} from your pip index" in two_commands
    assert f"TORCH_INDEX={CPU_INDEX}" in two_commands and "JUPYTER_ARGS=" in two_commands
    assert "installs the CPU build" not in two_commands
