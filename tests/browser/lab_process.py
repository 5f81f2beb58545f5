"""A JupyterLab server for the browser test and the latency benchmark: a temporary copy of the
notebooks, its own configuration folders, 127.0.0.1, a random port and token.

JupyterLab runs with its default settings (windowed notebook rendering included) except for the
news and update checks, which would try to reach the internet.
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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
SERVER_START_TIMEOUT = 120.0  # seconds; a busy 2-core machine takes several times the idle 5 s
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}


@dataclass
class LabServer:
    """A running JupyterLab: its base URL, token and the folder it serves."""

    url: str
    token: str
    root: Path
    log: Path

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}"

    def sessions(self) -> list[dict]:
        with urllib.request.urlopen(f"{self.url}/api/sessions?token={self.token}", timeout=10) as response:
            return json.load(response)


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
        time.sleep(0.3)  # polling a server that is starting: nothing to wait on but its answer
    raise RuntimeError(f"JupyterLab did not answer within {SERVER_START_TIMEOUT:.0f} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """Stop the server this module started (it shuts its kernels down on SIGTERM)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def strip_outputs(folder: Path) -> None:
    """Remove the stored outputs and prompts of every notebook in ``folder``: a stored ``[3]:`` would
    pass for a cell that has run, and stored widget views are not this session's."""
    for path in folder.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(notebook, path)


@contextmanager
def lab_server(workdir: Path, notebooks: Path = NOTEBOOKS) -> Iterator[LabServer]:
    """JupyterLab serving a copy of ``notebooks`` without their stored outputs (JupyterLab autosaves,
    and the committed notebooks are regression fixtures), with its configuration, data and runtime
    folders under ``workdir``."""
    root = workdir / "notebooks"
    shutil.copytree(notebooks, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    strip_outputs(root)
    home = workdir / "jupyter"
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
    log = workdir / "jupyterlab.log"
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
        yield LabServer(url, token, root, log)
    finally:
        stop(process)
