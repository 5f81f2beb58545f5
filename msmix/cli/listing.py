"""``msmix list``: the backbones and mixers available."""

from __future__ import annotations

import argparse
from typing import Any


def add(commands: Any) -> None:
    """Register ``msmix list`` on the subcommand parser."""
    commands.add_parser("list", help="list the backbones and mixers", description="List the backbones and mixers.").set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run ``msmix list``; returns the exit status."""
    import msmix.mixing
    import msmix.models

    print("backbones:")
    for name in msmix.models.available():
        doc = (msmix.models.backbone_class(name).__doc__ or "").strip().splitlines()
        print(f"  {name:<10} {doc[0].replace('``', '') if doc else ''}")
    print("mixers:")
    print("  " + ", ".join(msmix.mixing.available()))
    return 0
