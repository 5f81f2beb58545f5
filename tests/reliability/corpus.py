"""The bad-input corpus: cases a hostile or careless user could give, each with the one line it must produce.

Each case writes its own files (nothing binary is committed) and names the ``msmix`` command
line that meets them. ``check`` runs it in-process and holds it to the contract of every
user-facing failure: exit status 2, exactly one line on stderr, no traceback, and the message the
case expects (a regular expression matched against the whole line, where ``{dir}`` stands for the
case's folder). Corpus modules are ``tests/reliability/test_corpus_*.py``, each with a ``CASES``
list; ``test_corpus_size.py`` keeps the corpus at its promised size.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from msmix.cli import main


@dataclass(frozen=True)
class Case:
    """One bad input: ``make(folder)`` writes its files and returns the ``msmix`` arguments."""

    name: str
    make: Callable[[Path], Sequence[str]]
    expected: str  # regular expression for the whole stderr line; ``{dir}`` is the case's folder

    def __str__(self) -> str:
        return self.name


def check(case: Case, folder: Path, capsys: pytest.CaptureFixture) -> str:
    """Run ``case`` in ``folder`` and assert the one-line-error contract; returns the line."""
    argv = [str(a) for a in case.make(folder)]
    capsys.readouterr()
    status = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err, f"{case.name}: a traceback\n{err}"
    lines = err.strip("\n").splitlines()
    assert status == 2, f"{case.name}: exit status {status}, stderr:\n{err}"
    assert len(lines) == 1, f"{case.name}: {len(lines)} lines on stderr:\n{err}"
    pattern = case.expected.replace("{dir}", re.escape(str(folder)))
    assert re.fullmatch(pattern, lines[0]), f"{case.name}: the line\n  {lines[0]}\ndoes not match\n  {pattern}"
    return lines[0]


def parametrize(cases: Sequence[Case]):
    """``pytest.mark.parametrize`` over ``cases``, each named by its case."""
    names = [c.name for c in cases]
    assert len(set(names)) == len(names), "two corpus cases share a name"
    return pytest.mark.parametrize("case", cases, ids=names)
