"""Every backbone x {none, mixup, manifold, msmix} x 5 seeds on real CMU-MOSI text.

One command does it all, resumably (a stopped run goes on where it stopped when run again):

    .venv/bin/python benchmarks/real_text_mosi.py --jobs 2

1. ``msmix features`` on the real transcripts, labels and folds of ``label.csv`` (the shared
   CMU-MOSI file: 1,281 / 229 / 685 clips): all-MiniLM-L6-v2 states at all 50 token positions;
   audio and vision absent (marked missing: MS-Mix then mixes and aligns text alone).
   Written to ``benchmarks/data/mosi_text_minilm.pkl`` (not in git).
2. A ridge regression on the mean-pooled MiniLM sentence embeddings (L2 penalty chosen on the
   dev fold): the reference point a trained model should reach.
3. ``msmix sweep benchmarks/real_text_mosi.toml`` (every backbone's published recipe, MMSA's
   early stopping on the dev fold, the same seeds for every mixer),
   ``benchmarks/real_text_mosi_lmf_wd0.toml`` (LMF without weight decay, see RESULTS.md) and
   ``benchmarks/real_text_mosi_anchored.toml`` (MS-Mix's ``anchored`` preset, last).
4. The table: mean ± sample std over seeds per backbone and mixer, and each mixer minus ``none``
   on the same seeds (paired t-test), written into ``benchmarks/RESULTS.md`` (between its markers)
   and ``benchmarks/results/real_text_mosi.md``, with the rows in
   ``notebooks/results/real_text_mosi.csv`` (notebook 02 reads that file).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FEATURES = Path("benchmarks/data/mosi_text_minilm.pkl")
SWEEPS = (
    "benchmarks/real_text_mosi_lmf_wd0.toml", "benchmarks/real_text_mosi.toml", "benchmarks/real_text_mosi_anchored.toml",
)
RUNS = Path("runs/real_text_mosi")
RESULTS_CSV = Path("notebooks/results/real_text_mosi.csv")  # beside the notebook that shows it
RESULTS_MD = Path("benchmarks/results/real_text_mosi.md")
RECORD = Path("benchmarks/RESULTS.md")
BEGIN, END = "<!-- real_text_mosi table: begin (written by benchmarks/real_text_mosi.py) -->", "<!-- real_text_mosi table: end -->"
SHOWN = ("Has0_acc_2", "Non0_acc_2", "Non0_F1_score", "Mult_acc_7", "MAE", "Corr")
PAIRED = ("Has0_acc_2", "Non0_acc_2", "MAE", "Corr")
DROPPED_COLUMNS = ("run_dir",)  # where this machine kept the checkpoints


def ridge_reference(features: Path) -> dict[str, float]:
    """Test metrics of a ridge regression on mean-pooled, L2-normalised MiniLM token states (how
    sentence-transformers turns them into sentence embeddings); the penalty is picked on dev MAE."""
    from sklearn.linear_model import Ridge

    from msmix.data import load
    from msmix.metrics import regression_metrics

    ds = load(features)

    def embed(split) -> np.ndarray:
        mask = (split.text_bert[:, 1] > 0).unsqueeze(-1).float()
        pooled = (split.text * mask).sum(1) / mask.sum(1)
        return (pooled / pooled.norm(dim=1, keepdim=True)).numpy()

    x = {name: embed(getattr(ds, name)) for name in ("train", "valid", "test")}
    y = {name: getattr(ds, name).labels.numpy() for name in ("train", "valid", "test")}
    best = min((np.abs(Ridge(alpha=a).fit(x["train"], y["train"]).predict(x["valid"]) - y["valid"]).mean(), a)
               for a in (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0))[1]
    model = Ridge(alpha=best).fit(x["train"], y["train"])
    return {"alpha": best, **regression_metrics(model.predict(x["test"]), y["test"], "mosi")}


def markdown(frame: pd.DataFrame) -> str:
    """A pandas frame as a GitHub markdown table."""
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def _recipe_where_unset(table: pd.DataFrame) -> pd.DataFrame:
    """Setting columns named plainly: ``weight_decay`` reading ``recipe`` where a run kept its
    backbone's published value, ``preset`` reading MS-Mix's default ``paper`` where a run set none
    (and nothing for the other mixers)."""
    unset = lambda c: table[c].isna() | (table[c].astype(str) == "-")  # noqa: E731
    settings = [c for c in table.columns if c.startswith("train.")]
    table = table.assign(**{c: table[c].astype(object).where(~unset(c), "recipe") for c in settings})
    if "mixer.preset" in table:
        default = table["mixer"].map(lambda m: "paper" if m == "msmix" else "")
        table = table.assign(**{"mixer.preset": table["mixer.preset"].astype(object).where(~unset("mixer.preset"), default)})
    return table.rename(columns=lambda c: c.removeprefix("train.").removeprefix("mixer."))


def _in_reading_order(table: pd.DataFrame) -> pd.DataFrame:
    """Rows grouped by backbone and recipe (in the order the runs came), then mixer as the sweep
    lists them, then MS-Mix's preset, faithful first: runs added later (a new preset) join their
    backbone."""
    rank = {
        "backbone": {b: i for i, b in enumerate(dict.fromkeys(table["backbone"]))},
        "weight_decay": {w: i for i, w in enumerate(dict.fromkeys(table.get("weight_decay", [])))},
        "mixer": {m: i for i, m in enumerate(("none", "mixup", "manifold", "msmix"))},
        "preset": {p: i for i, p in enumerate(("", "paper", "anchored"))},
    }
    columns = [c for c in rank if c in table]
    key = lambda col: col.map(lambda v: rank[col.name].get(v, len(rank[col.name])))  # noqa: E731
    return table.sort_values(columns, key=key, kind="stable").reset_index(drop=True)


def report(results: pd.DataFrame, ridge: dict[str, float]) -> str:
    """The RESULTS.md section: ridge reference, mean ± std per cell, paired differences against none."""
    from msmix.experiment import format_summary, paired_comparison, summarize

    summary = format_summary(summarize(results, metrics=list(SHOWN)), digits=4)
    summary = _in_reading_order(_recipe_where_unset(summary.drop(columns=["data"])))
    paired = _recipe_where_unset(paired_comparison(results, metric=list(PAIRED)))
    paired = paired.assign(
        diff=[f"{d:+.4f}" for d in paired["mean_diff"]],
        p=[("n/a" if np.isnan(p) else f"{p:.3f}") for p in paired["p_value"]],
    )
    context = [c for c in paired.columns if c in ("backbone", "weight_decay")]
    method = ["mixer", *(["preset"] if "preset" in paired else [])]
    wide = paired.pivot_table(index=[*context, *method, "n"], columns="metric", values=["diff", "p"],
                              aggfunc="first", sort=False)
    wide.columns = [f"{metric} {part}" for part, metric in wide.columns]
    order = [f"{m} {part}" for m in PAIRED for part in ("diff", "p")]
    wide = _in_reading_order(wide[order].reset_index())
    lines = [
        f"Ridge on mean-pooled MiniLM sentence embeddings (alpha {ridge['alpha']} chosen on dev), test fold: "
        + ", ".join(f"{k} {ridge[k]:.4f}" for k in SHOWN) + ".",
        "",
        "Mean ± sample std over seeds (test fold):",
        "",
        markdown(summary),
        "",
        "Each mixer minus `none` on the same seeds (paired t-test, two-sided; MAE: lower is better):",
        "",
        markdown(wide),
    ]
    return "\n".join(lines) + "\n"


def _record(text: str) -> None:
    """Replace the table between the markers in RESULTS.md (the prose around it is written by hand)."""
    record = RECORD.read_text()
    if BEGIN not in record or END not in record:
        print(f"{RECORD} has no markers for the table; it stays as it is", file=sys.stderr)
        return
    head, rest = record.split(BEGIN, 1)
    RECORD.write_text(f"{head}{BEGIN}\n{text}{END}{rest.split(END, 1)[1]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label-csv", default=str(ROOT.parent / "shared" / "data" / "cmu-mosi" / "label.csv"),
                        help="CMU-MOSI's label.csv (id,text,label,mode)")
    parser.add_argument("--jobs", type=int, default=2, help="runs in parallel (default: 2)")
    parser.add_argument("--report-only", action="store_true", help="write the table from the runs done so far")
    args = parser.parse_args(argv)

    import os

    os.chdir(ROOT)
    from msmix.cli import main as msmix

    if not FEATURES.exists() and msmix(["features", args.label_csv, "--out", str(FEATURES)]) != 0:
        return 2
    if not args.report_only:
        for config in SWEEPS:
            if msmix(["sweep", config, "--jobs", str(args.jobs), "--quiet"]) != 0:
                return 2
    from msmix.experiment import read_results

    results = read_results(RUNS / "results.csv")
    RESULTS_CSV.parent.mkdir(parents=True, exist_ok=True)
    results.drop(columns=[c for c in DROPPED_COLUMNS if c in results]).to_csv(RESULTS_CSV, index=False)
    text = report(results, ridge_reference(FEATURES))
    RESULTS_MD.write_text(text)
    _record(text)
    print(text)
    print(f"rows: {RESULTS_CSV} ({len(results)} runs); table: {RESULTS_MD}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
