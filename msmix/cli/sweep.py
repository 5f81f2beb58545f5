"""``msmix sweep``: every run of a sweep config, resumable, then its summary."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from msmix.cli.common import UsageError
from msmix.cli.threads_option import add_threads_option, chosen_threads, set_threads


def add(commands: Any) -> None:
    """Register ``msmix sweep`` on the subcommand parser."""
    p = commands.add_parser(
        "sweep", help="run every configuration of a sweep config file",
        description="Run data sets x backbones x mixers x seeds (x setting lists) from a TOML or JSON config "
        "(see examples/sweep_toy.toml). Rows go to OUT/results.csv as runs finish; running again skips "
        "finished runs and resumes unfinished ones, so a killed sweep loses nothing. Two sweeps may share one OUT: "
        "each run is trained by one of them, and a sweep waits for the runs the other one is training. "
        "--executor ray runs each run as a task on a Ray cluster (pip install 'msmix[cluster]'); its workers must "
        "see OUT at the same path (a shared file system), while this process claims the runs and writes the rows.",
    )
    p.add_argument("config", metavar="CONFIG", help="the sweep config (.toml or .json)")
    p.add_argument("--out", metavar="DIR", help="output folder: DIR/results.csv and DIR/<run>/ (default: the config's out_dir)")
    p.add_argument("--dry-run", action="store_true", help="list the runs and which are done, run nothing")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="runs in parallel, one process (or Ray task) each (default: 1)")
    add_threads_option(p, per=" in each job or Ray task")
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="where runs train: local processes, or ray: one Ray task per run (one GPU each when it trains "
                   "on CUDA, else --threads CPUs, 1 by default), --jobs at once; the workers must see OUT at the same "
                   "path (default: local)")
    p.add_argument("--ray-address", metavar="ADDRESS",
                   help="the Ray cluster to join, e.g. ray://head:10001 or auto (default: start a local Ray instance)")
    p.add_argument("--stack-seeds", action="store_true",
                   help="train the seeds of each configuration together as one stacked model (one job; every backbone "
                   "but MISA; a killed group resumes from its seeds' checkpoints); rows as usual")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run ``msmix sweep``; returns the exit status."""
    from msmix.experiment import SweepConfigError, expand_grid, format_summary, load_sweep_config, run_sweep, summarize
    from msmix.experiment.checks import SpecError, check_specs

    config = load_sweep_config(args.config)
    out = args.out or config.get("out_dir")
    if not out:
        raise UsageError(f"give --out DIR, or out_dir in {args.config}")
    if not isinstance(out, str):
        raise SweepConfigError(f"sweep config {args.config}: 'out_dir' must be a folder name, found {out!r}")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    specs = expand_grid(config, source=args.config)
    try:
        check_specs(specs)
    except SpecError as err:
        raise SpecError(f"sweep config {args.config}: {err}") from None
    if args.dry_run:
        plan = run_sweep(specs, out, dry_run=True)
        print(plan.to_string(index=False))
        counts = plan["status"].value_counts()
        running = f", {counts['running']} being trained by another sweep" if counts.get("running") else ""
        print(f"{len(plan)} runs in {out}: {counts.get('done', 0)} done{running}, {counts.get('resume', 0)} to resume, "
              f"{counts.get('todo', 0)} to start")
        return 0
    if args.ray_address is not None and args.executor != "ray":
        raise UsageError("--ray-address needs --executor ray")
    if args.executor == "ray":
        threads = _ray_threads(args)
    else:
        threads = chosen_threads(args, args.jobs)
        if args.jobs == 1:
            set_threads(threads)
    table = run_sweep(specs, out, jobs=args.jobs, progress=not args.quiet, threads=threads,
                      executor=args.executor, ray_address=args.ray_address, stack_seeds=args.stack_seeds)
    print(f"{len(table)} runs in {Path(out) / 'results.csv'}")
    if not table.empty:
        print(format_summary(summarize(table)).to_string(index=False))
    return 0


def _ray_threads(args: argparse.Namespace) -> int:
    """Torch threads (and CPUs asked of Ray) per task: ``--threads``, else 1, since the idle
    cores of this machine say nothing about the cluster's."""
    if args.threads is None:
        return 1
    if args.threads < 1:
        raise UsageError(f"--threads must be at least 1, got {args.threads}")
    return args.threads
