"""Corpus: results tables ``msmix summary`` could be given, damaged by hand, by a crash or by
another program, each refused with one line naming the file, and the line and column at fault."""

from __future__ import annotations

from pathlib import Path

from corpus import Case, check, parametrize
from said import said

HEADER = "data,backbone,mixer,seed,config_hash,MAE,Corr\n"
ROW_1 = "toy,lmf,none,1,aaa111,0.61,0.52\n"
ROW_2 = "toy,lmf,msmix,1,bbb222,0.58,0.55\n"


def _table(data: bytes | str, *extra: str, name: str = "results.csv"):
    """A case writing ``data`` as the table and running ``msmix summary`` on it."""
    def make(folder: Path) -> list[str]:
        path = folder / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return ["summary", str(path), *extra]
    return make


def _folder(with_table: bool):
    def make(folder: Path) -> list[str]:
        (folder / "out").mkdir()
        if with_table:
            (folder / "out" / "results.csv").write_text(HEADER + ROW_1)
        return ["summary", str(folder / "out")]
    return make


CASES: list[Case] = [
    Case("results_text_in_a_metric", _table(HEADER + ROW_1 + "toy,lmf,msmix,1,bbb222,abc,0.55\n"),
         said("summary", "results table {dir}/results.csv, line 3, column 'MAE': expected a number, found 'abc'")),
    Case("results_text_in_a_seed", _table(HEADER + ROW_1 + "toy,lmf,msmix,one,bbb222,0.58,0.55\n"),
         said("summary", "results table {dir}/results.csv, line 3, column 'seed': expected an integer >= 0, found 'one'")),
    Case("results_fractional_seed", _table(HEADER + "toy,lmf,none,1.5,aaa111,0.61,0.52\n"),
         said("summary", "results table {dir}/results.csv, line 2, column 'seed': expected an integer >= 0, found '1.5'")),
    Case("results_negative_seed", _table(HEADER + ROW_1 + "toy,lmf,msmix,-1,bbb222,0.58,0.55\n"),
         said("summary", "results table {dir}/results.csv, line 3, column 'seed': expected an integer >= 0, found '-1'")),
    Case("results_empty_seed", _table(HEADER + ROW_1 + "toy,lmf,msmix,,bbb222,0.58,0.55\n"),
         said("summary", "results table {dir}/results.csv, line 3, column 'seed': expected an integer >= 0, found an empty cell")),
    Case("results_text_in_train_fraction", _table(HEADER.replace("MAE", "train_fraction,MAE") + "toy,lmf,none,1,aaa111,half,0.61,0.52\n"),
         said("summary", "results table {dir}/results.csv, line 2, column 'train_fraction': expected a number, found 'half'")),
    Case("results_row_with_an_extra_cell", _table(HEADER + ROW_1 + "toy,lmf,msmix,1,bbb222,0.58,0.55,9\n"),
         said("summary", "results table {dir}/results.csv, line 3: expected 7 cells as in the header, found 8")),
    Case("results_row_cut_short", _table(HEADER + ROW_1 + "toy,lmf,msmix,1\n" + ROW_2),
         said("summary", "results table {dir}/results.csv, line 3: expected 7 cells as in the header, found 4")),
    Case("results_unquoted_comma_in_a_path", _table(HEADER.replace("Corr", "Corr,run_dir") + "toy,lmf,none,1,aaa111,0.61,0.52,runs/a,b\n"),
         said("summary", "results table {dir}/results.csv, line 2: expected 8 cells as in the header, found 9")),
    Case("results_latin1", _table(HEADER.encode() + ROW_1.encode() + "toy,lmf,msmix,1,bbb222,0.58,0.55 é\n".encode("latin-1")),
         said("summary", "results table {dir}/results.csv, line 3: expected UTF-8 text, found the byte 0xe9")),
    Case("results_utf16", _table((HEADER + ROW_1).encode("utf-16")),
         said("summary", "results table {dir}/results.csv, line 1: expected UTF-8 text, found the byte 0xff")),
    Case("results_empty_file", _table(b""),
         said("summary", "results table {dir}/results.csv holds no rows: the file is empty")),
    Case("results_header_only", _table(HEADER),
         said("summary", "results table {dir}/results.csv holds no rows: only a header")),
    Case("results_column_named_twice", _table(HEADER.replace("Corr", "MAE") + ROW_1),
         said("summary", "results table {dir}/results.csv, line 1: the header names the column(s) ['MAE'] more than once")),
    Case("results_without_a_mixer_column", _table("data,backbone,seed,MAE\ntoy,lmf,1,0.5\n"),
         said("summary", "results table {dir}/results.csv: a results table needs the column 'mixer'; "
              "found ['data', 'backbone', 'seed', 'MAE']")),
    Case("results_unknown_metric", _table(HEADER + ROW_1 + ROW_2, "--metric", "Acc"),
         said("summary", "results table {dir}/results.csv: metrics ['Acc'] are not in the results table; its columns: "
              "['data', 'backbone', 'mixer', 'seed', 'config_hash', 'MAE', 'Corr']")),
    Case("results_is_a_folder", _folder(with_table=False),
         said("summary", "results table {dir}/out is a directory, expected a CSV file")),
    Case("results_output_folder_given", _folder(with_table=True),
         said("summary", "results table {dir}/out is a directory, expected a CSV file; its table is {dir}/out/results.csv")),
    Case("results_missing", lambda folder: ["summary", str(folder / "results.csv")],
         said("summary", "results table {dir}/results.csv does not exist")),
]


@parametrize(CASES)
def test_case_fails_with_one_clear_line(case, tmp_path, capsys):
    check(case, tmp_path, capsys)
