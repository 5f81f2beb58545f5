"""``msmix list``: the backbones and mixers available."""

from __future__ import annotations

import argparse
from typing import Any

from msmix.cli import catalog


def add(commands: Any) -> None:
    """Register ``msmix list`` on the subcommand parser."""
    commands.add_parser("list", help="list the backbones and mixers", description="List the backbones and mixers.").set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run ``msmix list`` from the registrations in the source files, so it answers without loading torch."""
    print("backbones:")
    for name, summary in catalog.backbones().items():
        print(f"  {name:<10} {summary}")
    print("mixers:")
    print("  " + ", ".join(catalog.mixers()))
    return 0
