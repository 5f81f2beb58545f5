"""Fixtures of the real-browser test: Debian's Chromium, and JupyterLab on a copy of the notebooks.

The test needs a Chromium on the PATH and the ``playwright`` package (which drives it through its
executable path; no browser is ever downloaded). Without them it skips with the reason, so a
newcomer's ``make test`` passes; ``MSMIX_REQUIRE_BROWSER=1`` (set by ``.ci/run``) turns the skip
into a failure, so CI always runs it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_NAMES = ("chromium", "chromium-browser")
SERVER_START_TIMEOUT = 60.0

# JupyterLab settings for a quiet, fully rendered session: no news or update checks (offline),
# and every cell kept in the DOM so the page can be read as a whole.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def unavailable(reason: str) -> None:
    """Skip the test, or fail it where ``MSMIX_REQUIRE_BROWSER=1`` says the browser test must run."""
    if os.environ.get("MSMIX_REQUIRE_BROWSER") == "1":
        pytest.fail(f"MSMIX_REQUIRE_BROWSER=1, but the browser test cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The system Chromium (Debian: ``apt-get install chromium``)."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    unavailable(f"no Chromium on the PATH (looked for {', '.join(CHROMIUM_NAMES)}; Debian: apt-get install chromium)")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def sync_playwright():
    """``playwright.sync_api.sync_playwright`` (the ``playwright`` Python package, in the [dev] extra)."""
    try:
        from playwright.sync_api import sync_playwright as start
    except ImportError as error:
        unavailable(f"the playwright package is not installed ({error}); pip install -e '.[dev]'")
    return start


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """``test-artifacts/`` at the repository root (git-ignored): screenshots for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@dataclass
class LabServer:
    """A running JupyterLab: its base URL, token and the folder it serves."""

    url: str
    token: str
    root: Path

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_lab_settings(config_dir: Path) -> None:
    for relative, settings in LAB_SETTINGS.items():
        path = config_dir / "lab" / "user-settings" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))


def wait_until_ready(process: subprocess.Popen, url: str, token: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"JupyterLab did not answer within {SERVER_START_TIMEOUT:.0f} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """Stop the server this fixture started (it shuts its kernels down on SIGTERM)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def lab_server(tmp_path: Path) -> Iterator[LabServer]:
    """JupyterLab on 127.0.0.1 (random free port, random token) serving a temporary copy of
    ``notebooks/`` (JupyterLab autosaves, and the committed notebooks are regression fixtures),
    with its configuration, data and runtime folders in ``tmp_path``."""
    root = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    home = tmp_path / "jupyter"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("MSMIX_DATA", "MSMIX_EPOCHS")},  # the demo data
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
    }
    write_lab_settings(home / "config")
    token, port = secrets.token_hex(16), free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "jupyterlab.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
                "--LabApp.extension_manager=readonly", "--ServerApp.terminals_enabled=False",
                *(["--allow-root"] if os.geteuid() == 0 else []),
            ],
            cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        wait_until_ready(process, url, token, log)
        yield LabServer(url, token, root)
    finally:
        stop(process)
