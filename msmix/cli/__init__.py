"""The ``msmix`` command: train one run, run a sweep, summarise results, inspect data, score files.

Every subcommand has ``--help``. ``--data toy`` (the synthetic demo set) works with no files.
Mistakes a user can fix (a missing file, a bad data file, an unknown backbone or mixer, a bad
``--set``) print one line to stderr and exit with status 2; ``msmix --debug`` (or the environment
variable ``MSMIX_DEBUG=1``) shows the full traceback instead. One module per command; torch and the
other heavy libraries load only inside the commands that need them, so ``--help``, ``msmix list``
and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import os
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

A mistake you can fix (a missing or malformed file, a bad setting) prints one line naming the file
and what was expected, and exits with status 2. `msmix --debug COMMAND ...` (or MSMIX_DEBUG=1)
shows the full traceback instead.
"""
DEBUG_VARIABLE = "MSMIX_DEBUG"


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
        if not _is_user_error(err) or _debugging(args):
            raise
        print(f"msmix {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 2


def _debugging(args: argparse.Namespace) -> bool:
    """``--debug``, or ``MSMIX_DEBUG`` set to anything but empty or 0."""
    return args.debug or os.environ.get(DEBUG_VARIABLE, "").strip() not in ("", "0")


def _one_line(err: Exception) -> str:
    """The error's message on one line: line breaks it carries (a file name may hold one) shown as ``\\n``."""
    text = str(err).strip() or type(err).__name__
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _is_user_error(err: Exception) -> bool:
    """Whether ``err`` is a mistake the user can fix. The data and experiment error types are
    imported only here, once something failed: importing them loads torch."""
    if isinstance(err, (UsageError, FileNotFoundError)):
        return True
    if isinstance(err, OSError) and err.filename is not None:
        return True  # the system refused a named file or folder: unreadable, read-only, full, ...
    from msmix.data.errors import DataError
    from msmix.experiment import SettingError
    from msmix.experiment.checks import SpecError
    from msmix.experiment.grid import SweepConfigError
    from msmix.experiment.ray_executor import RayExecutorError
    from msmix.experiment.results import ResultsError
    from msmix.models.text_encoder import TextEncoderError
    from msmix.train.errors import USER_ERRORS

    return isinstance(err, (DataError, SettingError, SpecError, SweepConfigError, TextEncoderError, ResultsError,
                            RayExecutorError, *USER_ERRORS))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="msmix", description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"msmix {msmix.__version__}")
    parser.add_argument("--debug", action="store_true",
                        help=f"show the full traceback of an error instead of one line (or set {DEBUG_VARIABLE}=1)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (train, sweep, summary, inspection, features, scoring, listing):
        command.add(commands)
    return parser


__all__ = ["DEBUG_VARIABLE", "UsageError", "build_parser", "main"]
