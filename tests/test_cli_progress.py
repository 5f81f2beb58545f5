"""Progress written to a file or a pipe: one plain line per epoch (or run), no redrawn bars.

``msmix train ... 2> log.txt`` once left hundreds of per-batch bar lines and the last epoch bar
three times; a log must stay readable. The commands run as a user runs them, in a subprocess
whose stderr is a pipe.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EPOCH_LINE = re.compile(r"^epoch (\d+)/3: train=\d+\.\d{4}, valid=\d+\.\d{4}$")


def _msmix(*argv: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "msmix.cli", *argv], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "\x1b" not in done.stderr  # nothing redrawn in place
    assert "batch" not in done.stderr and "%|" not in done.stderr  # no bar at all
    return done


def test_train_logs_one_line_per_epoch() -> None:
    done = _msmix("train", "--data", "toy", "--backbone", "lmf", "--mixer", "msmix", "--epochs", "3", "--threads", "1")
    epochs = int(re.search(r": (\d+) epochs", done.stdout).group(1))
    lines = done.stderr.splitlines()
    assert [int(EPOCH_LINE.match(line).group(1)) for line in lines] == list(range(1, epochs + 1)), lines
    assert "Has0_acc_2" in done.stdout  # the summary still goes to stdout


def test_quiet_train_logs_nothing() -> None:
    done = _msmix("train", "--data", "toy", "--backbone", "lmf", "--mixer", "none", "--epochs", "1", "--threads", "1", "--quiet")
    assert done.stderr == ""


def test_sweep_logs_one_line_per_run(tmp_path: Path) -> None:
    config = tmp_path / "sweep.toml"
    config.write_text('data = "toy"\nbackbones = ["lmf"]\nmixers = ["none", "mixup"]\nseeds = [1]\n'
                      f'out_dir = "{tmp_path / "out"}"\n[train]\nmax_epochs = 1\n')
    done = _msmix("sweep", str(config), "--threads", "1")
    runs = [line for line in done.stderr.splitlines() if line.startswith("run ")]
    assert runs == ["run 1/2: toy lmf-none s1", "run 2/2: toy lmf-mixup s1"]
    assert all(line.startswith(("run ", "epoch 1/1: ")) for line in done.stderr.splitlines()), done.stderr
