"""The output folder layout, ``DIR/results.csv`` and ``DIR/<run>/``, as the CLI, its help and the
README describe it; and ``evaluate`` / ``predict`` given the output folder instead of a run folder.

Run folders once sat in ``DIR/runs/<run>/``, so ``--out runs/`` gave ``runs/runs/<run>``: they now
sit beside ``results.csv``, folders of that older layout still work, and a user who passes the
output folder is told which run folders are inside (in either layout).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from msmix.cli import main
from msmix.train import RunSpec, run_dir_of

README = Path(__file__).resolve().parents[1] / "README.md"


def _cli_examples() -> list[str]:
    text = README.read_text()
    return [line.split("#")[0].split() for line in text.splitlines() if line.startswith("msmix ")]


def test_readme_examples_follow_the_layout() -> None:
    examples = _cli_examples()
    train_outs = {args[args.index("--out") + 1].rstrip("/") for args in examples if args[1] == "train" and "--out" in args}
    assert len(train_outs) == 1, train_outs
    out = train_outs.pop()
    expected = f"{run_dir_of(RunSpec(), out).parent}/<run>/"
    assert expected == f"{out}/<run>/" and "runs/runs/" not in expected  # flat: DIR/<run>, never runs/runs/<run>
    scored = [args[2] for args in examples if args[1] in ("evaluate", "predict")]
    assert scored and all(path == expected for path in scored), (scored, expected)


@pytest.mark.parametrize(("command", "text"), [("train", "DIR/<run>/"), ("sweep", "DIR/<run>/"),
                                               ("evaluate", "OUT/<run>/"), ("predict", "OUT/<run>/")])
def test_help_names_the_layout(command: str, text: str, capsys: pytest.CaptureFixture) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert text in out
    assert out.count("/runs/<run>/") == (1 if command == "train" else 0)  # only train's note on older folders


def test_readme_names_the_layout() -> None:
    text = README.read_text()
    assert "`DIR/results.csv`" in text and "`DIR/<run>/`" in text
    assert text.count("/runs/<run>") == 1  # the one note on folders of earlier versions


def _fake_run(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "best.pt").write_bytes(b"")
    return folder


@pytest.mark.parametrize("command", ["evaluate", "predict"])
@pytest.mark.parametrize("runs", ["", "runs"])  # DIR/<run>, and DIR/runs/<run> of earlier versions
def test_an_output_folder_names_its_run_folder(command: str, runs: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = _fake_run(tmp_path / runs / "lmf-none-toy-s1-0123456789ab")
    for given in dict.fromkeys((tmp_path, tmp_path / runs)):
        assert main([command, str(given), "toy"]) == 2
        err = capsys.readouterr().err
        assert err == f"msmix {command}: error: {given} is not a run folder; pass the one inside it: {run}\n"


@pytest.mark.parametrize("runs", ["", "runs"])
def test_an_output_folder_of_many_runs_names_some(runs: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for seed in range(5):
        _fake_run(tmp_path / runs / f"tfn-msmix-toy-s{seed}-0123456789ab")
    assert main(["evaluate", str(tmp_path), "toy"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pass one of the 5 inside it:" in err and err.rstrip().endswith("and 2 more")
    folder = re.escape(str(tmp_path / runs / "tfn-msmix-toy-s0-0123456789ab"))
    assert re.search(rf"{folder}, .*s1-.*, .*s2-", err)


def test_a_folder_without_runs_says_it_holds_no_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["evaluate", str(tmp_path), "toy"]) == 2
    assert "holds no checkpoint" in capsys.readouterr().err
