"""Corpus: MMSA label.csv files a careless user could give ``msmix features``, and the one line each must produce.

Every error names the file, the line an editor shows the row on, and the column at fault. The
label.csv is read before any text encoder loads, so these fail at once and without a model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from corpus import Case, check, parametrize

HEADER = "id,text,label,mode\n"
ROWS = "vidA_1,it was good,1.2,train\nvidA_2,not so much,-0.6,valid\nvidB_1,fine,0.0,test\n"
MMSA_HEADER = "video_id,clip_id,text,label,label_T,label_A,label_V,annotation,mode\n"


def features(content: str | bytes) -> Callable[[Path], list[str]]:
    """``msmix features`` on a label.csv of ``content`` (text is written as UTF-8)."""

    def make(folder: Path) -> list[str]:
        path = folder / "label.csv"
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return ["features", str(path), "--out", str(folder / "features.pkl"), "--quiet"]

    return make


def line(where: str, message: str) -> str:
    """The expected stderr line: ``where`` follows the file name (a key), ``message`` is literal."""
    return f"msmix features: error: file {{dir}}/label\\.csv{re.escape(where)}: {re.escape(message)}"


CASES: list[Case] = [
    Case(
        "unquoted comma in every row's text",
        features(HEADER + "vidA_1,good, really,1.2,train\nvidA_2,bad, sadly,-0.6,valid\nvidB_1,so, so,0.0,test\n"),
        line("", "a row does not match the header (a text holding a comma must be quoted) "
             "(expected 4 fields, as the header's id, text, label, mode, found 5 fields on line 2)"),
    ),
    Case(
        "unquoted comma in one row",
        features(HEADER + "vidA_1,it was good,1.2,train\nvidA_2,well, no,-0.6,valid\n"),
        line("", "a row does not match the header (a text holding a comma must be quoted) "
             "(expected 4 fields, as the header's id, text, label, mode, found 5 fields on line 3)"),
    ),
    Case(
        "row missing a field",
        features(HEADER + ROWS + "vidB_2,short,train\n"),
        line("", "a row does not match the header (a text holding a comma must be quoted) "
             "(expected 4 fields, as the header's id, text, label, mode, found 3 fields on line 5)"),
    ),
    Case(
        "row count shown past a quoted newline",
        features(HEADER + 'vidA_1,"two\nlines",1.2,train\nvidA_2,x,y,0.1,test\n'),
        line("", "a row does not match the header (a text holding a comma must be quoted) "
             "(expected 4 fields, as the header's id, text, label, mode, found 5 fields on line 4)"),
    ),
    Case(
        "label not a number",
        features(HEADER + "vidA_1,x,0.4,train\nvidA_2,y,strong,train\n"),
        line(", key 'label'", "1 non-numeric value(s) (expected finite numbers, found 'strong' on line 3)"),
    ),
    Case(
        "label empty",
        features(HEADER + "vidA_1,x,,train\n"),
        line(", key 'label'", "1 non-numeric value(s) (expected finite numbers, found '' on line 2)"),
    ),
    Case(
        "label nan",
        features(HEADER + ROWS + "vidC_1,x,nan,test\n"),
        line(", key 'label'", "1 non-numeric value(s) (expected finite numbers, found 'nan' on line 5)"),
    ),
    Case(
        "label beyond float range",
        features(HEADER + "vidA_1,x,1e400,train\n"),
        line(", key 'label'", "1 non-numeric value(s) (expected finite numbers, found '1e400' on line 2)"),
    ),
    Case(
        "unknown fold",
        features(HEADER + ROWS + "vidC_1,x,0.1,holdout\n"),
        line(", key 'mode'", "1 row(s) with an unknown fold (expected train, valid, dev or test, found 'holdout' on line 5)"),
    ),
    Case(
        "label.csv empty file",
        features(""),
        line("", "the file is empty (expected a header line (id,text,label,mode or video_id,clip_id,text,label,...,mode) "
             "and one row per clip, found no lines)"),
    ),
    Case(
        "header only",
        features(HEADER),
        line("", "no clips (expected at least one row after the header, found the header only)"),
    ),
    Case(
        "Latin-1 text",
        features(HEADER.encode() + "vidA_1,très bien,1.2,train\n".encode("latin-1")),
        line("", "not UTF-8 text (expected a UTF-8 encoded label.csv, found byte 0xe8 on line 2)"),
    ),
    Case(
        "missing mode column",
        features("id,text,label\nvidA_1,x,0.4\n"),
        line(", key 'mode'", "missing column (expected columns text, label, mode, found columns id, text, label)"),
    ),
    Case(
        "column twice",
        features("id,text,label,label,mode\nvidA_1,x,0.4,0.5,train\n"),
        line(", key 'label'", "a column appears twice (expected each column once, found header id, text, label, label, mode)"),
    ),
    Case(
        "clip listed twice",
        features(HEADER + ROWS + "vidA_2,again,0.2,test\n"),
        line(", key 'id'", "a clip is listed twice (expected one row per clip, found 'vidA_2' on lines 3 and 5)"),
    ),
    Case(
        "id without clip number",
        features(HEADER + "vidA_1,x,0.4,train\nnounderscore,y,0.1,test\n"),
        line(", key 'id'", "ids must end in _<clip number> (expected <video_id>_<clip_no>, found 'nounderscore' on line 3)"),
    ),
    Case(
        "empty clip_id",
        features(MMSA_HEADER + "video_0001,0001,好的,0.8,1.0,0.6,0.4,Positive,train\nvideo_0001,,x,0.2,0,0,0,Neutral,test\n"),
        line(", key 'clip_id'", "empty clip id (expected a non-empty value in every row, found '' on line 3)"),
    ),
    Case(
        "per-modality label not a number",
        features(MMSA_HEADER + "video_0001,0001,好的,0.8,1.0,high,0.4,Positive,train\n"),
        line(", key 'label_A'", "1 non-numeric value(s) (expected finite numbers, found 'high' on line 2)"),
    ),
    Case(
        "NUL byte",
        features(HEADER + "vidA_1,x\x00y,0.4,train\n"),
        line("", "a NUL byte in the text (expected a text file, found NUL on line 2)"),
    ),
    Case(
        "label.csv a directory",
        lambda folder: ["features", str(folder), "--out", str(folder / "features.pkl"), "--quiet"],
        "msmix features: error: file {dir}: cannot read the CSV \\(expected an MMSA label\\.csv, found a directory\\)",
    ),
]


@parametrize(CASES)
def test_case_fails_with_one_clear_line(case: Case, tmp_path: Path, capsys) -> None:
    check(case, tmp_path, capsys)
