"""The ``msmix`` command: train one run, run a sweep, summarise results, inspect data, score files.

Every subcommand has ``--help``. ``--data toy`` (the synthetic demo set) works with no files.
Mistakes a user can fix (a missing file, a bad data file, an unknown backbone or mixer, a bad
``--set``) print one line to stderr and exit with status 2. One module per command; torch and the
other heavy libraries load only inside the commands that need them, so ``--help``, ``msmix list``
and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import msmix
from msmix.cli import features, inspection, listing, scoring, summary, sweep, train
from msmix.cli.common import UsageError

_DESCRIPTION = """\
MS-Mix and its rival mixup augmentations for multimodal sentiment analysis.

Examples:
  msmix train --data toy --backbone tfn --mixer msmix --out runs/demo
  msmix train --data mosi.pkl --backbone lmf --mixer msmix --set mixer.threshold=0.4 --out runs/mosi
  msmix sweep examples/sweep_toy.toml --dry-run
  msmix summary runs/sweep_toy/results.csv --percent
  msmix inspect toy
  msmix features label.csv --media Raw/ --out mine.pkl
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``msmix`` command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print(f"msmix {args.command}: interrupted (with --out, run it again to continue where it stopped)", file=sys.stderr)
        return 130
    except Exception as err:
        if not _is_user_error(err):
            raise
        print(f"msmix {args.command}: error: {err}", file=sys.stderr)
        return 2


def _is_user_error(err: Exception) -> bool:
    """Whether ``err`` is a mistake the user can fix. The data and experiment error types are
    imported only here, once something failed: importing them loads torch."""
    if isinstance(err, (UsageError, FileNotFoundError)):
        return True
    from msmix.data.errors import DataError
    from msmix.experiment import SettingError
    from msmix.experiment.checks import SpecError
    from msmix.experiment.grid import SweepConfigError
    from msmix.models.text_encoder import TextEncoderError
    from msmix.train.errors import USER_ERRORS

    return isinstance(err, (DataError, SettingError, SpecError, SweepConfigError, TextEncoderError, *USER_ERRORS))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="msmix", description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"msmix {msmix.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (train, sweep, summary, inspection, features, scoring, listing):
        command.add(commands)
    return parser


__all__ = ["UsageError", "build_parser", "main"]
