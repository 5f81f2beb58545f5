"""Where mixing should matter: every mixer on 10 / 25 / 50 / 100 % of the train split of the
SYNTHETIC demo data, LMF and TFN, 5 seeds; the stored table of notebook 02's data-efficiency plot.

    python benchmarks/data_efficiency_toy.py --jobs 2          # resumable, like msmix sweep
    python benchmarks/data_efficiency_toy.py --report          # the tables, from the runs done

Budget: every run gets the optimiser steps of 12 epochs on the whole train split (notebook 02's
budget), so a run on a tenth of the data trains as long as one on all of it (12 epochs of a tenth
would be 24 steps, too few to learn anything, and the plot would measure that). Its epoch cap is
``ceil(12 * steps per full epoch / steps per subset epoch)``; early stopping is each backbone's
published one; seeds, caps and early stopping are the same for every mixer. The subset is
``msmix.data.subset.train_subset``: seeded by the run's seed, stratified by sentiment class.

Methods: none, mixup, manifold, multimix, powmix, and MS-Mix twice, with its faithful ``paper``
preset and with ``anchored`` (docs/intensity_collapse.md). Rows go to
``runs/sweep_toy_data_efficiency/results.csv``; ``--report`` copies the rows of this design to
``notebooks/results/sweep_toy_data_efficiency.csv`` (what notebook 02 reads) and prints the
data-efficiency table and the paired tests against ``none``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from msmix.data.cache import load_data
from msmix.data.subset import subset_size
from msmix.experiment import read_results, run_sweep
from msmix.experiment.data_efficiency import data_efficiency
from msmix.experiment.stats import paired_comparison
from msmix.train import RunSpec
from msmix.train.resolve import data_options, resolve

BACKBONES = ("lmf", "tfn")
MIXERS = ("none", "mixup", "manifold", "multimix", "powmix", "msmix")
MSMIX_PRESETS = ("paper", "anchored")
FRACTIONS = (0.1, 0.25, 0.5, 1.0)
SEEDS = (1111, 1112, 1113, 1114, 1115)
FULL_EPOCHS = 12
OUT = Path("runs/sweep_toy_data_efficiency")
STORED = Path("notebooks/results/sweep_toy_data_efficiency.csv")


def epoch_cap(n_train: int, batch_size: int, fraction: float, full_epochs: int = FULL_EPOCHS) -> int:
    """Epochs on the subset that give the optimiser steps of ``full_epochs`` on the whole split."""
    full_steps = full_epochs * math.ceil(n_train / batch_size)
    return math.ceil(full_steps / math.ceil(subset_size(n_train, fraction) / batch_size))


def specs() -> list[RunSpec]:
    """Every run of the design, in backbone, mixer, fraction, seed order (LMF first: it is fast)."""
    out = []
    for backbone in BACKBONES:
        probe = RunSpec(data="toy", backbone=backbone, mixer="none")
        data = load_data("toy", **data_options(backbone, {}))
        batch_size = resolve(probe, data.spec).train.batch_size
        for mixer in MIXERS:
            for preset in MSMIX_PRESETS if mixer == "msmix" else (None,):
                for fraction in FRACTIONS:
                    train = {"max_epochs": epoch_cap(len(data.train), batch_size, fraction)}
                    if fraction < 1:
                        train["train_fraction"] = fraction
                    mixer_config = {"preset": preset} if preset else {}
                    out += [RunSpec(data="toy", backbone=backbone, mixer=mixer, seed=seed, train=dict(train),
                                    mixer_config=dict(mixer_config)) for seed in SEEDS]
    return out


def report() -> pd.DataFrame:
    """The rows of this design (by config hash), stored beside notebook 02; prints the tables."""
    wanted = {spec.config_hash() for spec in specs()}
    rows = read_results(OUT / "results.csv")
    # The epoch cap follows from the fraction (equal steps), so it is no setting of its own to
    # compare by; each row's train_config keeps it.
    rows = rows[rows["config_hash"].isin(wanted)].drop(columns=["run_dir", "train.max_epochs"], errors="ignore")
    STORED.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(STORED, index=False)
    print(f"{len(rows)} of {len(wanted)} runs done; rows written to {STORED}")
    for metric in ("Has0_acc_2", "MAE"):
        table = data_efficiency(rows, metric, percent=True)
        print(f"\n{metric} (x 100), mean and sample std over seeds:")
        print(table.drop(columns=["data"]).round(2).to_string(index=False))
    paired = paired_comparison(rows, baseline="none", metric=["Has0_acc_2", "MAE", "Corr"], percent=True)
    print("\neach mixer minus none on the same seeds and fraction (x 100, paired t-test):")
    print(paired.drop(columns=["data", "t"], errors="ignore").round(3).to_string(index=False))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (default 1)")
    parser.add_argument("--report", action="store_true", help="only store and print the tables of the runs done")
    args = parser.parse_args(argv)
    if not args.report:
        run_sweep(specs(), OUT, jobs=args.jobs, progress=False, threads=1)
    report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
