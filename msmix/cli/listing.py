"""``msmix list``: the backbones and mixers available."""

from __future__ import annotations

import argparse
from typing import Any

from msmix.cli.catalog import BACKBONES, MIXERS


def add(commands: Any) -> None:
    """Register ``msmix list`` on the subcommand parser."""
    commands.add_parser("list", help="list the backbones and mixers", description="List the backbones and mixers.").set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run ``msmix list`` from the CLI's catalogue of names, so it answers without loading torch."""
    print("backbones:")
    for name, summary in BACKBONES.items():
        print(f"  {name:<10} {summary}")
    print("mixers:")
    print("  " + ", ".join(MIXERS))
    return 0
