"""``msmix train``: one backbone with one mixer on one data set, then its results row."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from msmix.cli.common import UsageError
from msmix.cli.threads_option import add_threads_option, chosen_threads, set_threads


def add(commands: Any) -> None:
    """Register ``msmix train`` on the subcommand parser."""
    p = commands.add_parser(
        "train", help="train one configuration and print its results row",
        description="Train one backbone with one mixer on one data set, test it, and print its results row. "
        "With --out the row is appended to DIR/results.csv and checkpoints are kept in "
        "DIR/<backbone>-<mixer>-<data>-s<seed>-<config hash>/ (a folder of an earlier version, "
        "DIR/runs/<run>/, is used where it is).",
    )
    p.add_argument("--data", default="toy", help='"toy" (synthetic demo data, no files needed) or an MMSA .pkl file (default: toy)')
    p.add_argument("--backbone", default="tfn", help="a backbone name, see `msmix list` (default: tfn)")
    p.add_argument("--mixer", default="msmix", help="a mixer name, see `msmix list` (default: msmix)")
    p.add_argument("--seed", type=int, help="the run's seed (default: 1111)")
    p.add_argument("--epochs", type=int, metavar="MAX", help="most epochs (default: the backbone's published recipe)")
    p.add_argument("--patience", type=int, metavar="N", help="early-stopping patience in epochs (default: the recipe's)")
    p.add_argument("--train-fraction", type=float, metavar="F",
                   help="train on a seeded, stratified share F in (0, 1] of the train split, e.g. 0.25 "
                   "(drawn per sentiment class from the run's seed); validation and test stay whole (default: 1)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where to train (default: auto, CUDA when available)")
    p.add_argument("--out", metavar="DIR", help="append the row to DIR/results.csv and keep the checkpoints in DIR/<run>/ "
                   "(the layout of a sweep's folder)")
    p.add_argument("--resume", action="store_true", help="continue the unfinished run of this configuration in DIR/<run>/")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting: mixer.<name>, model.<name>, train.<name> or data_options.<name> "
                   "(e.g. --set mixer.threshold=0.4 --set train.lr=5e-4); repeatable")
    add_threads_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run ``msmix train``; returns the exit status."""
    from msmix.experiment import append_row, complete_row, finished_hashes, read_results, results_path
    from msmix.experiment.checks import check_names, check_specs, load_spec_data
    from msmix.train import NO_EPOCH_MESSAGE, finished_no_epoch, run
    from msmix.train.output import check_output_folder
    from msmix.train.trainer import resolve_device

    spec = _spec_from_args(args)
    if args.resume and not args.out:
        raise UsageError("--resume needs --out DIR, the folder of the run to continue")
    if args.out:
        check_output_folder(args.out)
    if spec.train.get("device") == "cuda":
        resolve_device("cuda")  # refuses it where there is none, before anything is loaded
    check_names([spec.backbone], [spec.mixer])
    data = load_spec_data(spec)
    check_specs([spec], data)
    finished = bool(args.out) and spec.config_hash() in finished_hashes(results_path(args.out))
    if finished and args.resume:
        table = read_results(results_path(args.out))
        row = table[table["config_hash"] == spec.config_hash()].iloc[-1].to_dict()
        print(f"this configuration already finished; its row in {results_path(args.out)}:")
        _print_row(row, data.synthetic)
        return 0
    if finished:
        print(f"note: {results_path(args.out)} already has a row of this configuration; training it again "
              "from scratch (summaries use the latest row; --resume would reuse it)", file=sys.stderr)
    with _claimed(spec, args.out):  # held until the row is in the table, as a sweep holds it
        if args.out and not finished:
            _say_where_the_run_starts(spec, args.out, args.resume, data.spec)
        set_threads(chosen_threads(args))
        row = complete_row(run(spec, out_dir=args.out, resume=args.resume, progress=not args.quiet, data=data), spec)
        if finished_no_epoch(row):
            print(NO_EPOCH_MESSAGE, file=sys.stderr)
            return 130
        _print_row(row, data.synthetic)
        if args.out:
            append_row(results_path(args.out), row)
            print(f"row appended to {results_path(args.out)}; checkpoints in {row.get('run_dir') or args.out}")
    return 0


@contextmanager
def _claimed(spec: Any, out: str | None) -> Iterator[None]:
    """Hold the run's claim in ``out`` (as a sweep does) while it trains, so that two processes
    never train one run into one folder; refuse where another process holds it."""
    if not out:
        yield
        return
    from msmix.experiment.claims import holder, try_claim

    claim = try_claim(out, spec.config_hash())
    if claim is None:
        pid = holder(out, spec.config_hash())
        raise UsageError(f"another process{f' (pid {pid})' if pid else ''} is training this configuration in {out} "
                         "now; wait for it to finish, or give another --out")
    with claim:
        yield


def _say_where_the_run_starts(spec: Any, out: str, resume: bool, data_spec: Any) -> None:
    """With --resume: continue this configuration's run, or an unfinished one it may continue (moved
    to its folder), or say that there is none; without: say when an unfinished run is started over."""
    from msmix.train.checkpoint import LAST
    from msmix.train.continuation import adopt, find_continuation, has_checkpoint
    from msmix.train.run import RESULT_FILE, run_dir_of

    folder = run_dir_of(spec, out)
    unfinished = (folder / LAST).is_file() and not (folder / RESULT_FILE).is_file()
    if not resume:
        if unfinished:
            print(f"note: {folder} holds an unfinished run of this configuration; training it again from the "
                  "start (--resume would continue it)", file=sys.stderr)
        return
    if has_checkpoint(spec, out):
        return
    continuation = find_continuation(spec, out, data_spec)
    if continuation is None:
        print(f"note: {out} holds no unfinished run of this configuration; training it from the start", file=sys.stderr)
        return
    moved = adopt(continuation, spec, out)
    print(f"note: continuing the unfinished run {continuation.folder.name} with {continuation.describe()}; "
          f"its folder is now {moved}", file=sys.stderr)


def _spec_from_args(args: argparse.Namespace) -> Any:
    from msmix.experiment.settings import overrides_from
    from msmix.train import RunSpec
    from msmix.train.run_spec import MAX_SEED

    if args.seed is not None and not 0 <= args.seed <= MAX_SEED:
        raise UsageError(f"--seed must be an integer in [0, {MAX_SEED}], got {args.seed}")

    groups = overrides_from(args.settings)
    if "seed" in groups["train"]:
        raise UsageError("set the seed with --seed, not --set train.seed")
    for flag, name in (("epochs", "max_epochs"), ("patience", "patience"), ("device", "device")):
        if getattr(args, flag) is not None:
            groups["train"][name] = getattr(args, flag)
    if args.train_fraction is not None:
        _set_fraction(groups["train"], args.train_fraction)
    try:
        return RunSpec(data=args.data, backbone=args.backbone, mixer=args.mixer, **groups,
                       **({} if args.seed is None else {"seed": args.seed}))
    except ValueError as err:
        raise UsageError(str(err)) from None


def _set_fraction(train: dict[str, Any], fraction: float) -> None:
    """``--train-fraction`` into the train overrides; 1 (all of the split, the default) sets nothing,
    so the run keeps the config hash of a run without the option."""
    from msmix.data.subset import check_fraction

    try:
        fraction = check_fraction(fraction, "--train-fraction")  # also refuses NaN
    except ValueError as err:
        raise UsageError(str(err)) from None
    if fraction == 1:
        train.pop("train_fraction", None)
    else:
        train["train_fraction"] = fraction


def _print_row(row: dict[str, Any], synthetic: bool) -> None:
    import pandas as pd

    from msmix.experiment import METRIC_COLUMNS

    data = f"{row['data']} (synthetic demo data)" if synthetic else row["data"]
    share = row.get("train_fraction", 1.0)
    if share == share and share != 1:  # not NaN (rows of earlier versions), not the whole split
        data += f" ({share * 100:g} % of its train split)"
    print(f"{row['backbone']} + {row['mixer']} on {data}, seed {row['seed']}: {row.get('epochs')} epochs "
          f"(best {row.get('best_epoch')}), {row.get('train_seconds')} s on {row.get('device')}, config {row['config_hash']}")
    columns = [c for c in METRIC_COLUMNS if c in row] + ["epochs", "train_seconds"]
    print(pd.DataFrame([{c: row.get(c) for c in columns}]).to_string(index=False))
