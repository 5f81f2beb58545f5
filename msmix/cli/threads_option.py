"""``--threads`` for the commands that train: the idle cores unless the user pins a number."""

from __future__ import annotations

import argparse
import sys

from msmix.cli.common import UsageError


def add_threads_option(p: argparse.ArgumentParser, per: str = "") -> None:
    p.add_argument("--threads", type=int, metavar="N",
                   help=f"CPU threads for torch{per} (default: the cores not busy with other work when it starts; "
                   "torch's spinning threads slow down many times on a core another process holds)")


def chosen_threads(args: argparse.Namespace, jobs: int = 1) -> int:
    """``--threads``, or the idle cores shared out among ``jobs``; says which when it chose."""
    from msmix.train.threads import busy_cores, idle_threads, usable_cores

    if args.threads is not None:
        if args.threads < 1:
            raise UsageError(f"--threads must be at least 1, got {args.threads}")
        return args.threads
    cores, busy = usable_cores(), busy_cores()
    threads = idle_threads(jobs, cores, busy)
    if not args.quiet:
        busy_note = "" if busy is None else f", {busy} busy with other work"
        print(f"torch threads{' per job' if jobs > 1 else ''}: {threads} ({cores} cores{busy_note}; "
              "--threads N to choose)", file=sys.stderr)
    return threads


def set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
