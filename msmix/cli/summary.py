"""``msmix summary``: mean ± std per cell and each mixer paired with a baseline by seed."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

from msmix.cli.common import UsageError

if TYPE_CHECKING:
    import pandas as pd

MAX_DIGITS = 12
"""The most decimals ``--digits`` shows: beyond it a float's digits are noise."""


def add(commands: Any) -> None:
    """Register ``msmix summary`` on the subcommand parser."""
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
    p.add_argument("--digits", type=int, default=4, help=f"decimals shown, 0 to {MAX_DIGITS} (default: 4)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run ``msmix summary``; returns the exit status."""
    from msmix.experiment import format_summary, paired_comparison, read_results, summarize

    if not 0 <= args.digits <= MAX_DIGITS:
        raise UsageError(f"--digits must be a whole number from 0 to {MAX_DIGITS}, got {args.digits}")
    table = read_results(args.results)
    if table.empty:
        what = "only a header" if len(table.columns) else "the file is empty"
        raise UsageError(f"results table {args.results} holds no rows: {what}")
    try:
        summary = summarize(table, metrics=args.metric, percent=args.percent, ddof=args.ddof)
    except ValueError as err:
        raise UsageError(f"results table {args.results}: {err}") from None
    std = "population" if args.ddof == 0 else "sample"
    print(f"mean ± {std} std over seeds{' (x100)' if args.percent else ''}:")
    print(format_summary(summary, digits=args.digits).to_string(index=False))
    if (summary["n"] < 2).any():
        print("(a cell of one run shows its mean alone: one run has no spread to estimate)")
    if args.baseline not in set(table["mixer"]) or set(table["mixer"]) == {args.baseline}:
        print(f"\nno paired comparison: the table needs runs of {args.baseline!r} and of another mixer")
        return 0
    try:
        paired = paired_comparison(table, baseline=args.baseline, metric=args.metric, percent=args.percent, wilcoxon=args.wilcoxon)
    except ValueError as err:
        raise UsageError(f"results table {args.results}: {err}") from None
    print(f"\neach mixer minus {args.baseline!r} on the same seeds (MAE: lower is better):")
    print(_format_paired(paired, args.digits).to_string(index=False))
    if (paired["n"] < 2).any():
        print("(n/a: one paired seed gives a difference but no interval or test; run 2+ seeds of each mixer)")
    return 0


def _format_paired(paired: pd.DataFrame, digits: int) -> pd.DataFrame:
    """The paired table as text; what cannot be computed (one seed, identical runs) reads ``n/a``."""
    out = paired.loc[:, :"n"].copy()
    out["mean_diff"] = [_number(v, f"+.{digits}f") for v in paired["mean_diff"]]
    out["95% CI"] = [_interval(lo, hi, digits) for lo, hi in zip(paired["ci_low"], paired["ci_high"])]
    for column in ("p_value", "wilcoxon_p"):
        if column in paired:
            out[column] = [_number(p, ".4f") for p in paired[column]]
    return out


def _number(value: float, spec: str) -> str:
    return "n/a" if math.isnan(value) else format(value, spec)


def _interval(low: float, high: float, digits: int) -> str:
    return "n/a" if math.isnan(low) or math.isnan(high) else f"[{low:+.{digits}f}, {high:+.{digits}f}]"
