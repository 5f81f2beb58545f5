"""Corpus: command lines and output folders a careless user could give, each refused with one line
before any run starts: bad option values, a file where a folder belongs and the reverse, a results
table that cannot be appended to, a message that would break the line."""

from __future__ import annotations

import os
import re
from pathlib import Path

from corpus import Case, check, parametrize
from said import said

TABLE = "data,backbone,mixer,seed,config_hash,MAE\ntoy,lmf,none,1,aaa111,0.61\n"
SWEEP = 'data = "toy"\nbackbones = ["lmf"]\nmixers = ["none"]\n[train]\nmax_epochs = 1\n'
TRAIN = ["train", "--data", "toy", "--backbone", "lmf", "--mixer", "none", "--epochs", "1", "--quiet", "--threads", "1"]


def _summary(*options: str):
    def make(folder: Path) -> list[str]:
        (folder / "results.csv").write_text(TABLE)
        return ["summary", str(folder / "results.csv"), *options]
    return make


def _sweep(*options: str, out: str = "out"):
    def make(folder: Path) -> list[str]:
        (folder / "sweep.toml").write_text(SWEEP)
        return ["sweep", str(folder / "sweep.toml"), "--out", str(folder / out), "--quiet", *options]
    return make


def _train_into(table: bytes | None):
    """``msmix train --out OUT`` where OUT/results.csv is ``table``, or a folder when None."""
    def make(folder: Path) -> list[str]:
        (folder / "out").mkdir()
        if table is None:
            (folder / "out" / "results.csv").mkdir()
        else:
            (folder / "out" / "results.csv").write_bytes(table)
        return [*TRAIN, "--out", str(folder / "out")]
    return make


def _resume_over_a_result(content: bytes):
    """``msmix train --resume`` where the finished run's result.json is ``content`` and its row
    never reached the table (a process killed between the two)."""
    def make(folder: Path) -> list[str]:
        from msmix.cli import main

        assert main([*TRAIN, "--out", str(folder / "out")]) == 0
        (folder / "out" / "results.csv").unlink()
        (result,) = (folder / "out").glob("*/result.json")
        result.write_bytes(content)
        return [*TRAIN, "--out", str(folder / "out"), "--resume"]
    return make


def _result_line(found: str) -> str:
    return said("train", "result {dir}/out/", tail=r"lmf-none-toy-s1111-[0-9a-f]{12}/result\.json: " + re.escape(
        f"expected the JSON row of a finished run, found {found}; delete the file to train the run again"))


def _fifo_table(folder: Path) -> list[str]:
    os.mkfifo(folder / "results.csv")
    return ["summary", str(folder / "results.csv")]


def _out_under_a_file(folder: Path) -> list[str]:
    (folder / "taken").write_text("a file")
    return _sweep("--threads", "1", out="taken/out")(folder)


def _sweep_without_out(folder: Path) -> list[str]:
    (folder / "sweep.toml").write_text(SWEEP)
    return ["sweep", str(folder / "sweep.toml")]


CASES: list[Case] = [
    Case("cli_negative_digits", _summary("--digits", "-1"),
         said("summary", "--digits must be a whole number from 0 to 12, got -1")),
    Case("cli_too_many_digits", _summary("--digits", "400"),
         said("summary", "--digits must be a whole number from 0 to 12, got 400")),
    Case("cli_no_jobs", _sweep("--jobs", "0", "--dry-run"),
         said("sweep", "--jobs must be at least 1, got 0")),
    Case("cli_no_threads", _sweep("--threads", "0"),
         said("sweep", "--threads must be at least 1, got 0")),
    Case("cli_sweep_without_out", _sweep_without_out,
         said("sweep", "give --out DIR, or out_dir in {dir}/sweep.toml")),
    Case("cli_sweep_out_under_a_file", _out_under_a_file,
         said("sweep", "output folder {dir}/taken/out cannot be written: Not a directory")),
    Case("cli_train_into_a_results_folder", _train_into(None),
         said("train", "results table {dir}/out/results.csv is a directory, expected a CSV file")),
    Case("cli_train_into_a_latin1_table", _train_into(TABLE.encode() + "toy,lmf,none,2,bbb222,0.6 é\n".encode("latin-1")),
         said("train", "results table {dir}/out/results.csv, line 3: expected UTF-8 text, found the byte 0xe9")),
    Case("cli_train_into_a_damaged_table", _train_into(TABLE.encode() + b"toy,lmf,none,2,bbb222,0.6,1,2\n"),
         said("train", "results table {dir}/out/results.csv, line 3: expected 6 cells as in the header, found 8")),
    Case("cli_resume_over_a_truncated_result", _resume_over_a_result(b'{"data": "toy", "MAE'),
         _result_line("text that is not JSON (line 1, column 17: Unterminated string starting at)")),
    Case("cli_resume_over_a_binary_result", _resume_over_a_result(b"\x80\x81 garbage"),
         _result_line("bytes that are not UTF-8 text")),
    Case("cli_resume_over_a_list_result", _resume_over_a_result(b"[1, 2]"),
         _result_line("a JSON array, not an object")),
    Case("cli_summary_of_a_fifo", _fifo_table,
         said("summary", "results table {dir}/results.csv is not a regular file")),
    Case("cli_message_with_a_line_break", lambda folder: ["sweep", str(folder / "a\nb.toml"), "--dry-run"],
         said("sweep", "sweep config {dir}/a\\nb.toml does not exist")),
]


@parametrize(CASES)
def test_case_fails_with_one_clear_line(case, tmp_path, capsys):
    check(case, tmp_path, capsys)
