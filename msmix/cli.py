"""The ``msmix`` command: train one run, run a sweep, summarise results, inspect data, score files.

Every subcommand has ``--help``. ``--data toy`` (the synthetic demo set) works with no files.
Mistakes a user can fix (a missing file, a bad data file, an unknown backbone or mixer, a bad
``--set``) print one line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

import msmix

_DESCRIPTION = """\
MS-Mix and its rival mixup augmentations for multimodal sentiment analysis.

Examples:
  msmix train --data toy --backbone tfn --mixer msmix --out runs/demo
  msmix train --data mosi.pkl --backbone lmf --mixer msmix --set mixer.threshold=0.4 --out runs/mosi
  msmix sweep examples/sweep_toy.toml --dry-run
  msmix summary runs/sweep_toy/results.csv --percent
  msmix inspect toy
"""


class UsageError(Exception):
    """Something the user asked for cannot be done as asked; the message says why."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``msmix`` command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    from msmix.data.errors import DataError
    from msmix.experiment import SettingError
    from msmix.experiment.checks import SpecError
    from msmix.experiment.grid import SweepConfigError

    try:
        return args.handler(args)
    except (UsageError, DataError, SettingError, SpecError, SweepConfigError, FileNotFoundError) as err:
        print(f"msmix {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"msmix {args.command}: interrupted (with --out, run it again to continue where it stopped)", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="msmix", description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"msmix {msmix.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(commands)
    _add_sweep(commands)
    _add_summary(commands)
    _add_inspect(commands)
    _add_evaluate(commands)
    _add_predict(commands)
    commands.add_parser("list", help="list the backbones and mixers", description="List the backbones and mixers.").set_defaults(handler=_list)
    return parser


# -- train ------------------------------------------------------------------------------------


def _add_train(commands: Any) -> None:
    p = commands.add_parser(
        "train", help="train one configuration and print its results row",
        description="Train one backbone with one mixer on one data set, test it, and print its results row. "
        "With --out the row is appended to DIR/results.csv and checkpoints are kept in "
        "DIR/runs/<backbone>-<mixer>-<data>-s<seed>-<config hash>/.",
    )
    p.add_argument("--data", default="toy", help='"toy" (synthetic demo data, no files needed) or an MMSA .pkl file (default: toy)')
    p.add_argument("--backbone", default="tfn", help="a backbone name, see `msmix list` (default: tfn)")
    p.add_argument("--mixer", default="msmix", help="a mixer name, see `msmix list` (default: msmix)")
    p.add_argument("--seed", type=int, help="the run's seed (default: 1111)")
    p.add_argument("--epochs", type=int, metavar="MAX", help="most epochs (default: the backbone's published recipe)")
    p.add_argument("--patience", type=int, metavar="N", help="early-stopping patience in epochs (default: the recipe's)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where to train (default: auto, CUDA when available)")
    p.add_argument("--out", metavar="DIR", help="keep checkpoints here and append the row to DIR/results.csv")
    p.add_argument("--resume", action="store_true", help="continue the unfinished run of this configuration in --out")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting: mixer.<name>, model.<name>, train.<name> or data_options.<name> "
                   "(e.g. --set mixer.threshold=0.4 --set train.lr=5e-4); repeatable")
    _add_threads(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=_train)


def _add_threads(p: argparse.ArgumentParser, per: str = "") -> None:
    p.add_argument("--threads", type=int, metavar="N",
                   help=f"CPU threads for torch{per} (default: the cores not busy with other work when it starts; "
                   "torch's spinning threads slow down many times on a core another process holds)")


def _threads(args: argparse.Namespace, jobs: int = 1) -> int:
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


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _train(args: argparse.Namespace) -> int:
    from msmix.experiment import append_row, complete_row, finished_hashes, read_results, results_path
    from msmix.experiment.checks import check_names, check_specs, load_spec_data
    from msmix.train import run

    spec = _spec_from_args(args)
    if args.resume and not args.out:
        raise UsageError("--resume needs --out DIR, the folder of the run to continue")
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
    _set_threads(_threads(args))
    row = complete_row(run(spec, out_dir=args.out, resume=args.resume, progress=not args.quiet, data=data), spec)
    _print_row(row, data.synthetic)
    if args.out:
        append_row(results_path(args.out), row)
        print(f"row appended to {results_path(args.out)}; checkpoints in {row.get('run_dir') or args.out}")
    return 0


def _spec_from_args(args: argparse.Namespace) -> Any:
    from msmix.experiment import SETTING_GROUPS, parse_assignment
    from msmix.experiment.settings import split_key
    from msmix.train import RunSpec

    groups: dict[str, dict[str, Any]] = {field: {} for field in SETTING_GROUPS.values()}
    for text in args.settings:
        key, value = parse_assignment(text)
        field, name = split_key(key)
        if (field, name) == ("train", "seed"):
            raise UsageError("set the seed with --seed, not --set train.seed")
        groups[field][name] = value
    for flag, name in (("epochs", "max_epochs"), ("patience", "patience"), ("device", "device")):
        if getattr(args, flag) is not None:
            groups["train"][name] = getattr(args, flag)
    try:
        return RunSpec(data=args.data, backbone=args.backbone, mixer=args.mixer, **groups,
                       **({} if args.seed is None else {"seed": args.seed}))
    except ValueError as err:
        raise UsageError(str(err)) from None


def _print_row(row: dict[str, Any], synthetic: bool) -> None:
    from msmix.experiment import METRIC_COLUMNS

    data = f"{row['data']} (synthetic demo data)" if synthetic else row["data"]
    print(f"{row['backbone']} + {row['mixer']} on {data}, seed {row['seed']}: {row.get('epochs')} epochs "
          f"(best {row.get('best_epoch')}), {row.get('train_seconds')} s on {row.get('device')}, config {row['config_hash']}")
    columns = [c for c in METRIC_COLUMNS if c in row] + ["epochs", "train_seconds"]
    print(pd.DataFrame([{c: row.get(c) for c in columns}]).to_string(index=False))


# -- sweep ------------------------------------------------------------------------------------


def _add_sweep(commands: Any) -> None:
    p = commands.add_parser(
        "sweep", help="run every configuration of a sweep config file",
        description="Run data sets x backbones x mixers x seeds (x setting lists) from a TOML or JSON config "
        "(see examples/sweep_toy.toml). Rows go to OUT/results.csv as runs finish; running again skips "
        "finished runs and resumes unfinished ones, so a killed sweep loses nothing.",
    )
    p.add_argument("config", metavar="CONFIG", help="the sweep config (.toml or .json)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: the config's out_dir)")
    p.add_argument("--dry-run", action="store_true", help="list the runs and which are done, run nothing")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="runs in parallel, one process each (default: 1)")
    _add_threads(p, per=" in each job")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=_sweep)


def _sweep(args: argparse.Namespace) -> int:
    from msmix.experiment import expand_grid, format_summary, load_sweep_config, run_sweep, summarize
    from msmix.experiment.checks import check_specs

    config = load_sweep_config(args.config)
    out = args.out or config.get("out_dir")
    if not out:
        raise UsageError(f"give --out DIR, or out_dir in {args.config}")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    specs = expand_grid(config)
    check_specs(specs)
    if args.dry_run:
        plan = run_sweep(specs, out, dry_run=True)
        print(plan.to_string(index=False))
        counts = plan["status"].value_counts()
        print(f"{len(plan)} runs in {out}: {counts.get('done', 0)} done, {counts.get('resume', 0)} to resume, "
              f"{counts.get('todo', 0)} to start")
        return 0
    threads = _threads(args, args.jobs)
    if args.jobs == 1:
        _set_threads(threads)
    table = run_sweep(specs, out, jobs=args.jobs, progress=not args.quiet, threads=threads)
    print(f"{len(table)} runs in {Path(out) / 'results.csv'}")
    print(format_summary(summarize(table)).to_string(index=False))
    return 0


# -- summary ----------------------------------------------------------------------------------


def _add_summary(commands: Any) -> None:
    p = commands.add_parser(
        "summary", help="mean ± std per cell and each mixer against a baseline",
        description="Summarise a results table: mean ± std over seeds per data set, backbone, mixer and setting, "
        "then each mixer paired with the baseline by seed (mean difference, 95%% t interval, paired t-test p). "
        "std is the sample standard deviation unless --ddof 0 (MMSA's population std).",
    )
    p.add_argument("results", metavar="RESULTS.csv", help="a results table written by msmix train/sweep")
    p.add_argument("--percent", action="store_true", help="MMSA's convention: every metric x 100 (MAE and Corr too)")
    p.add_argument("--baseline", default="none", help="the mixer to compare with (default: none)")
    p.add_argument("--metric", action="append", metavar="NAME", help="only these metrics (repeatable; default: all)")
    p.add_argument("--ddof", type=int, choices=[0, 1], default=1, help="1: sample std (default); 0: population std as MMSA")
    p.add_argument("--wilcoxon", action="store_true", help="add the signed-rank test's p (it needs 6+ seeds to reach 0.05)")
    p.add_argument("--digits", type=int, default=4, help="decimals shown (default: 4)")
    p.set_defaults(handler=_summary)


def _summary(args: argparse.Namespace) -> int:
    from msmix.experiment import format_summary, paired_comparison, read_results, summarize

    table = read_results(args.results)
    if table.empty:
        raise UsageError(f"{args.results} holds no rows")
    try:
        summary = summarize(table, metrics=args.metric, percent=args.percent, ddof=args.ddof)
    except ValueError as err:
        raise UsageError(str(err)) from None
    std = "population" if args.ddof == 0 else "sample"
    print(f"mean ± {std} std over seeds{' (x100)' if args.percent else ''}:")
    print(format_summary(summary, digits=args.digits).to_string(index=False))
    if args.baseline not in set(table["mixer"]) or set(table["mixer"]) == {args.baseline}:
        print(f"\nno paired comparison: the table needs runs of {args.baseline!r} and of another mixer")
        return 0
    try:
        paired = paired_comparison(table, baseline=args.baseline, metric=args.metric, percent=args.percent, wilcoxon=args.wilcoxon)
    except ValueError as err:
        raise UsageError(str(err)) from None
    print(f"\neach mixer minus {args.baseline!r} on the same seeds (MAE: lower is better):")
    print(_format_paired(paired, args.digits).to_string(index=False))
    return 0


def _format_paired(paired: pd.DataFrame, digits: int) -> pd.DataFrame:
    out = paired.loc[:, :"n"].copy()
    out["mean_diff"] = [f"{v:+.{digits}f}" for v in paired["mean_diff"]]
    out["95% CI"] = [f"[{lo:+.{digits}f}, {hi:+.{digits}f}]" for lo, hi in zip(paired["ci_low"], paired["ci_high"])]
    for column in ("p_value", "wilcoxon_p"):
        if column in paired:
            out[column] = [f"{p:.4f}" for p in paired[column]]
    return out


# -- inspect ----------------------------------------------------------------------------------


def _add_inspect(commands: Any) -> None:
    p = commands.add_parser(
        "inspect", help="splits, shapes, label statistics and problems of a data set",
        description='Load a data set ("toy" or an MMSA .pkl) and report its splits, shapes, label statistics '
        "and the problems found (cleaned values, empty sequences, repeated ids).",
    )
    p.add_argument("data", metavar="DATA", help='"toy" or the path of an MMSA .pkl file')
    p.add_argument("--kind", choices=["mosi", "mosei", "sims", "custom"], help="the data set kind when it cannot be inferred")
    p.set_defaults(handler=_inspect)


def _inspect(args: argparse.Namespace) -> int:
    from msmix.data import describe, inspect_problems, load

    ds = _load(lambda: load(args.data, kind=args.kind), args.data)
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


def _load(loader: Any, source: str) -> Any:
    """Run a data loader, turning a bad source or option into a UsageError (DataErrors pass)."""
    from msmix.data.errors import DataError

    try:
        return loader()
    except DataError:
        raise
    except (TypeError, ValueError) as err:
        raise UsageError(f"cannot load {source}: {err}") from None


# -- evaluate / predict -----------------------------------------------------------------------


def _add_evaluate(commands: Any) -> None:
    p = commands.add_parser(
        "evaluate", help="MMSA metrics of a trained checkpoint on a data set's test split",
        description="Load a checkpoint (a run folder or its best.pt) and report MMSA's metrics on the test split of DATA.",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a run folder (under OUT/runs/) or a .pt checkpoint")
    p.add_argument("data", metavar="DATA", help='"toy" or the path of an MMSA .pkl file')
    _add_scoring_options(p)
    p.set_defaults(handler=_evaluate)


def _add_predict(commands: Any) -> None:
    p = commands.add_parser(
        "predict", help="one score per sample of an MMSA-format file",
        description="Score every sample of one split of an MMSA-format file with a trained checkpoint: "
        "a CSV of id, prediction and label (to stdout, or to --out).",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a run folder (under OUT/runs/) or a .pt checkpoint")
    p.add_argument("features", metavar="FEATURES", help='an MMSA .pkl file (or "toy")')
    p.add_argument("--split", choices=["train", "valid", "test"], default="test", help="which split to score (default: test)")
    p.add_argument("--out", metavar="CSV", help="write the scores here instead of stdout")
    _add_scoring_options(p)
    p.set_defaults(handler=_predict)


def _add_scoring_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", choices=["mosi", "mosei", "sims", "custom"], help="the data set kind when it cannot be inferred")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="where to run the model (default: auto)")


def _evaluate(args: argparse.Namespace) -> int:
    trainer, loaded = _scoring_trainer(args.checkpoint, args.data, args.kind, args.device)
    metrics, _ = trainer.evaluate("test")
    print(f"{loaded.backbone} + {loaded.mixer_name} from {args.checkpoint} on {_data_label(trainer.data)}, "
          f"test split (n={len(trainer.data.test)}):")
    print(pd.DataFrame([metrics]).to_string(index=False))
    return 0


def _predict(args: argparse.Namespace) -> int:
    trainer, _ = _scoring_trainer(args.checkpoint, args.features, args.kind, args.device)
    split = trainer.data[args.split]
    scores = pd.DataFrame({
        "id": split.ids,
        "prediction": trainer.predict(split).numpy(),
        "label": split.labels.cpu().numpy(),
    })
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        scores.to_csv(args.out, index=False)
        print(f"{len(scores)} scores of the {args.split} split of {_data_label(trainer.data)} written to {args.out}")
    else:
        scores.to_csv(sys.stdout, index=False)
    return 0


def _data_label(data: Any) -> str:
    return f"{data.source} (SYNTHETIC demo data)" if data.synthetic else str(data.source)


def _scoring_trainer(checkpoint: str, source: str, kind: str | None, device: str) -> tuple[Any, Any]:
    """A Trainer around a checkpoint's model, on ``source`` loaded as the run loaded its data."""
    import json

    from msmix.train import RunSpec, Trainer, load_checkpoint, load_data
    from msmix.train.run import SPEC_FILE, data_options_for

    path = Path(checkpoint)
    if not path.exists():
        raise UsageError(f"no checkpoint at {path}")
    try:
        loaded = load_checkpoint(path)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if loaded.data_args is not None:
        data = _load(lambda: loaded.load_data(source, **({"kind": kind} if kind else {})), source)
    else:  # a checkpoint from before data arguments were recorded: its run folder's spec.json
        spec_file = (path if path.is_dir() else path.parent) / SPEC_FILE
        stored = json.loads(spec_file.read_text())["data_options"] if spec_file.is_file() else {}
        options = data_options_for(RunSpec(backbone=loaded.backbone, data_options=stored))
        data = _load(lambda: load_data(source, kind=kind, **options), source)
    if data.spec.dims != loaded.spec.dims:
        raise UsageError(f"{checkpoint} was trained on features of sizes {loaded.spec.dims}, but {source} has {data.spec.dims}")
    trainer = Trainer(loaded.model, loaded.mixer, data, replace(loaded.train_config, device=device), progress=False)
    return trainer, loaded


# -- list -------------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    import msmix.mixing
    import msmix.models

    print("backbones:")
    for name in msmix.models.available():
        doc = (msmix.models.backbone_class(name).__doc__ or "").strip().splitlines()
        print(f"  {name:<10} {doc[0].replace('``', '') if doc else ''}")
    print("mixers:")
    print("  " + ", ".join(msmix.mixing.available()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
