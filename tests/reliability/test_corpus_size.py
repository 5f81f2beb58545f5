"""The corpus keeps its promised breadth: at least 60 cases, uniquely named, over every kind of input."""

from __future__ import annotations

import importlib
from pathlib import Path

HERE = Path(__file__).parent
KINDS = ("pickles", "label_csv", "checkpoints", "cli", "sweep", "results")


def _cases() -> dict[str, list]:
    modules = sorted(p.stem for p in HERE.glob("test_corpus_*.py") if p.stem != "test_corpus_size")
    return {m.removeprefix("test_corpus_"): importlib.import_module(m).CASES for m in modules}


def test_the_corpus_has_at_least_60_uniquely_named_cases_of_every_kind() -> None:
    cases = _cases()
    names = [c.name for group in cases.values() for c in group]
    assert len(names) >= 60, f"{len(names)} corpus cases"
    assert len(set(names)) == len(names)
    assert set(KINDS) <= set(cases), f"kinds without cases: {sorted(set(KINDS) - set(cases))}"
