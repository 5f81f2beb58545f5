"""``msmix inspect``: splits, shapes, label statistics and problems of a data set."""

from __future__ import annotations

import argparse
from typing import Any

from msmix.cli.common import add_kind_option, load_source


def add(commands: Any) -> None:
    """Register ``msmix inspect`` on the subcommand parser."""
    p = commands.add_parser(
        "inspect", help="splits, shapes, label statistics and problems of a data set",
        description='Load a data set ("toy" or an MMSA .pkl) and report its splits, shapes, label statistics '
        "and the problems found (cleaned values, empty sequences, repeated ids).",
    )
    p.add_argument("data", metavar="DATA", help='"toy" or the path of an MMSA .pkl file')
    add_kind_option(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run ``msmix inspect``; returns the exit status."""
    import pandas as pd

    from msmix.data import describe, inspect_problems, load

    ds = load_source(lambda: load(args.data, kind=args.kind), args.data)
    if ds.synthetic:
        print("SYNTHETIC demo data: generated on the fly in MMSA's format, not real recordings.")
    print(ds.summary())
    print()
    with pd.option_context("display.width", 200, "display.max_columns", 50):
        print(describe(ds).to_string(float_format=lambda v: f"{v:.4f}"))
    problems = inspect_problems(ds)
    print(f"\nproblems found: {len(problems) or 'none'}")
    for problem in problems:
        print(f"  - {problem}")
    return 0
