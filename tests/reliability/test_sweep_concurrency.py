"""Two sweeps on one output folder train each run once; a claim dies with its holder.

The first test runs two real ``msmix sweep`` processes on one config and output (their runs slowed
by a second, so that they surely overlap). The others hold a run's claim from a helper process that
finishes the run, stops without finishing it, or is killed, and check what a sweep does then.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import msmix
from msmix.cli import main
from msmix.experiment import expand_grid, plan_sweep, read_results, run_sweep
from msmix.experiment.claims import claim_path, is_claimed, try_claim

CONFIG = 'data = "toy"\nbackbones = ["lmf"]\nmixers = ["none", "mixup"]\nseeds = [1, 2]\n[train]\nmax_epochs = 1\n'
GRID = {"data": "toy", "backbones": "lmf", "mixers": ["none", "mixup"], "seeds": [1, 2], "train": {"max_epochs": 1}}
ROOT = Path(msmix.__file__).resolve().parents[1]

SLOWED_SWEEP = """
import os, sys, time
from pathlib import Path
import msmix.train
from msmix.cli import main

ready, together, seconds = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
ready.mkdir(exist_ok=True)
(ready / str(os.getpid())).touch()
deadline = time.monotonic() + 120
while len(list(ready.iterdir())) < together and time.monotonic() < deadline:
    time.sleep(0.05)
train = msmix.train.run

def slowed(spec, **kw):
    with open(Path(kw["out_dir"]) / "trained.log", "a") as log:
        log.write(spec.config_hash() + "\\n")
    time.sleep(seconds)
    return train(spec, **kw)

msmix.train.run = slowed
sys.exit(main(sys.argv[4:]))
"""
"""``msmix sweep ARGS`` whose runs each log their config hash and sleep first, once ``together``
processes have reached the start."""

HOLDER = """
import sys, time
from pathlib import Path
from msmix.experiment import append_row, complete_row, expand_grid
from msmix.experiment.claims import try_claim

out, index, ending, waited = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
spec = expand_grid(eval(sys.argv[5]))[index]
claim = try_claim(out, spec.config_hash())
assert claim is not None
(out / "held").write_text("held")
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    log = out / "calls.log"
    if log.is_file() and len(log.read_text().splitlines()) >= waited:
        break
    time.sleep(0.05)
if ending == "finish":
    append_row(out / "results.csv", complete_row({"MAE": 0.5, "epochs": 1}, spec))
    claim.release()
elif ending == "hang":
    time.sleep(600)
"""
"""Hold the claim of run ``index`` of a grid until the sweep under test has made ``waited`` calls,
then ``finish`` it (its row, then the claim released), ``stop`` without a row, or ``hang``."""


@pytest.fixture(autouse=True)
def keep_torch_threads() -> Iterator[None]:
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def logged_run(spec: Any, out_dir: str | None = None, **_: Any) -> dict[str, Any]:
    """An instant run that logs its config hash to ``out_dir/calls.log`` (importable by pool workers)."""
    with open(Path(out_dir) / "calls.log", "a") as log:
        log.write(spec.config_hash() + "\n")
    return {"MAE": 0.4 + spec.seed / 100, "Corr": 0.5, "epochs": 1, "config_hash": spec.config_hash()}


def misreported_run(spec: Any, out_dir: str | None = None, **kw: Any) -> dict[str, Any]:
    """``logged_run`` whose row names another configuration, which recording refuses."""
    return {**logged_run(spec, out_dir=out_dir, **kw), "config_hash": "not-" + spec.config_hash()}


def _calls(out: Path) -> Counter:
    log = out / "calls.log"
    return Counter(log.read_text().split()) if log.is_file() else Counter()


def _holder(out: Path, index: int, ending: str, waited: int) -> subprocess.Popen:
    """A process holding run ``index``'s claim (see HOLDER), once it says so."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out), str(index), ending, str(waited), repr(GRID)], env=_env())
    deadline = time.monotonic() + 120
    while not (out / "held").exists():
        assert holder.poll() is None and time.monotonic() < deadline, "the holder never took its claim"
        time.sleep(0.05)
    return holder


@pytest.mark.slow
def test_two_sweeps_on_one_output_train_each_run_once(tmp_path: Path) -> None:
    config, out = tmp_path / "sweep.toml", tmp_path / "out"
    config.write_text(CONFIG)
    argv = ["sweep", str(config), "--out", str(out), "--jobs", "1", "--threads", "1", "--quiet"]
    sweeps = [
        subprocess.Popen([sys.executable, "-c", SLOWED_SWEEP, str(tmp_path / "ready"), "2", "1.0", *argv],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
        for _ in range(2)
    ]
    outputs = [sweep.communicate(timeout=300) for sweep in sweeps]
    for sweep, (stdout, stderr) in zip(sweeps, outputs):
        assert sweep.returncode == 0, stderr
        assert "4 runs in" in stdout and "Traceback" not in stderr
    hashes = {spec.config_hash() for spec in expand_grid(GRID)}
    table = read_results(out / "results.csv")
    assert len(table) == 4 and set(table["config_hash"]) == hashes
    trained = Counter((out / "trained.log").read_text().split())
    assert trained == Counter(hashes), "a run was trained twice"
    said = outputs[0][1] + outputs[1][1]
    assert "another sweep" in said and "finished by the other sweep; not trained again" in said


@pytest.mark.slow
def test_a_claim_left_by_a_killed_sweep_does_not_block_the_next(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config, out = tmp_path / "sweep.toml", tmp_path / "out"
    config.write_text(CONFIG)
    argv = ["sweep", str(config), "--out", str(out), "--jobs", "1", "--threads", "1", "--quiet"]
    killed = subprocess.Popen([sys.executable, "-c", SLOWED_SWEEP, str(tmp_path / "ready"), "1", "600", *argv], env=_env())
    try:
        deadline = time.monotonic() + 120
        while not (out / "trained.log").exists():
            assert killed.poll() is None and time.monotonic() < deadline, "the sweep never started its first run"
            time.sleep(0.05)
        first = expand_grid(GRID)[0].config_hash()
        assert is_claimed(out, first) and plan_sweep(expand_grid(GRID), out)["status"][0] == "running"
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    assert claim_path(out, first).is_file() and not is_claimed(out, first)

    capsys.readouterr()
    assert main(argv) == 0
    assert "another sweep" not in capsys.readouterr().err
    table = read_results(out / "results.csv")
    assert sorted(table["config_hash"]) == sorted(s.config_hash() for s in expand_grid(GRID))


def test_a_claim_is_held_once_and_released_with_its_holder(tmp_path: Path) -> None:
    claim = try_claim(tmp_path, "abc")
    assert claim is not None and is_claimed(tmp_path, "abc")
    assert try_claim(tmp_path, "abc") is None  # another open of the file, even in this process
    assert claim_path(tmp_path, "abc").read_text().strip() == str(os.getpid())
    claim.release()
    claim.release()
    assert not is_claimed(tmp_path, "abc")
    with try_claim(tmp_path, "abc") as again:
        assert again is not None and is_claimed(tmp_path, "abc")
    assert not is_claimed(tmp_path, "abc")


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_run_another_sweep_holds_is_waited_for_not_trained_again(jobs: int, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    specs = expand_grid(GRID)
    holder = _holder(tmp_path, 1, "finish", waited=len(specs) - 1)
    table = run_sweep(specs, tmp_path, jobs=jobs, threads=1, progress=False, runner=logged_run)
    assert holder.wait(timeout=60) == 0
    held = specs[1].config_hash()
    assert _calls(tmp_path) == Counter(s.config_hash() for s in specs if s.config_hash() != held)
    assert table["config_hash"].tolist() == [s.config_hash() for s in specs]
    err = capsys.readouterr().err
    assert f"toy lmf-none s2: another sweep (process {holder.pid}) is training it" in err
    assert "toy lmf-none s2: finished by the other sweep; not trained again" in err


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failing_sweep_releases_every_claim(jobs: int, tmp_path: Path) -> None:
    specs = expand_grid(GRID)
    with pytest.raises(ValueError, match="results row has config_hash"):
        run_sweep(specs, tmp_path, jobs=jobs, threads=1, progress=False, runner=misreported_run)
    assert not any(is_claimed(tmp_path, s.config_hash()) for s in specs)
    claims = [try_claim(tmp_path, s.config_hash()) for s in specs]
    assert all(claims)
    for claim in claims:
        claim.release()


@pytest.mark.parametrize("ending", ["stop", "killed"])
def test_a_run_another_sweep_left_unfinished_is_trained_here(ending: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    specs = expand_grid(GRID)
    holder = _holder(tmp_path, 2, "stop" if ending == "stop" else "hang", waited=len(specs) - 1)
    if ending == "killed":  # SIGKILLed while it holds the claim, once this sweep has run the rest
        threading.Thread(target=_kill_after_calls, args=(holder, tmp_path, len(specs) - 1), daemon=True).start()
    try:
        table = run_sweep(specs, tmp_path, progress=False, runner=logged_run)
    finally:
        holder.kill()
        holder.wait()
    assert _calls(tmp_path) == Counter(s.config_hash() for s in specs)
    assert table["config_hash"].tolist() == [s.config_hash() for s in specs]
    err = capsys.readouterr().err
    assert "toy lmf-mixup s1: the other sweep stopped before finishing it; this one resumes it" in err


def _kill_after_calls(process: subprocess.Popen, out: Path, calls: int) -> None:
    deadline = time.monotonic() + 120
    while sum(_calls(out).values()) < calls and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)


def test_msmix_train_refuses_a_run_another_process_is_training(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from msmix.train import RunSpec

    spec = RunSpec(data="toy", backbone="lmf", mixer="none", train={"max_epochs": 1})
    argv = ["train", "--data", "toy", "--backbone", "lmf", "--mixer", "none", "--epochs", "1", "--quiet", "--out", str(tmp_path)]
    with try_claim(tmp_path, spec.config_hash()) as held:
        assert held is not None
        assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"is training this configuration in {tmp_path} now" in err
    assert not (tmp_path / "results.csv").exists()
    assert main(argv) == 0  # released: the run trains
    assert len(read_results(tmp_path / "results.csv")) == 1
