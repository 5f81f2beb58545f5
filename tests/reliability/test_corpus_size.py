"""The corpus keeps its breadth: at least 160 cases (it only grows), uniquely named, over every kind of input."""

from __future__ import annotations

import importlib
from pathlib import Path

HERE = Path(__file__).parent
KINDS = ("pickles", "label_csv", "checkpoints", "training", "cli", "sweep", "results")
LEAST = 160


def _cases() -> dict[str, list]:
    modules = sorted(p.stem for p in HERE.glob("test_corpus_*.py") if p.stem != "test_corpus_size")
    return {m.removeprefix("test_corpus_"): importlib.import_module(m).CASES for m in modules}


def test_the_corpus_keeps_its_uniquely_named_cases_of_every_kind() -> None:
    cases = _cases()
    names = [c.name for group in cases.values() for c in group]
    assert len(names) >= LEAST, f"{len(names)} corpus cases, fewer than {LEAST}"
    assert len(set(names)) == len(names)
    assert set(KINDS) <= set(cases), f"kinds without cases: {sorted(set(KINDS) - set(cases))}"
