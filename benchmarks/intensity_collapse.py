"""Why MS-Mix's intensity predictors collapse: the probe of ``msmix.train.intensity_probe`` after
every step of the first epochs and after every epoch, for the faithful setting and for variants
that each remove one suspected cause.

    python benchmarks/intensity_collapse.py [--data toy] [--backbones tfn lmf] [--seeds 1111 1112 1113]

Variants (MS-Mix settings over the faithful ``paper`` preset):
  faithful       batch-KL SAL x 1000, as the authors' code
  scale_1        batch-KL SAL x 1: is it the factor's share of the encoders' gradient?
  per_sample     SAL regressing each intensity on its signed label: is it the batch KL's blindness
                 to sign and level?
  detached       the predictors read detached latents: is it SAL pulling the encoders?
  no_sal         no SAL at all: what do the mixing ratios alone teach the predictors?

Writes ``benchmarks/results/intensity_collapse.csv`` (one row per probe) and prints a summary.
Every variant has the same seeds, epochs and early stopping (the backbone's recipe, 12 epochs at
most as notebook 02's sweep). ``--report`` draws the figures of docs/intensity_collapse.md and
its tables (``benchmarks/results/intensity_collapse.md``) from that CSV without training.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import torch

from msmix.data.cache import load_data
from msmix.train import Callback, RunSpec
from msmix.train.assemble import assemble
from msmix.train.intensity_probe import intensity_diagnostics
from msmix.train.resolve import data_options, resolve

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "intensity_collapse.csv"
FIGURES = ROOT / "docs" / "figures"
MODALITIES = ("text", "audio", "vision")
VARIANTS: dict[str, dict[str, object]] = {
    "faithful": {},
    "scale_1": {"sal_scale": 1.0},
    "per_sample": {"sal": "per_sample"},
    "detached": {"detach_intensity": True},
    "no_sal": {"sal": "none"},
}


class StepProbe(Callback):
    """The probe after each of the first ``steps`` optimiser steps (it leaves training unchanged)."""

    def __init__(self, steps: int) -> None:
        self.steps, self.rows = steps, []

    def on_batch_end(self, trainer, step, loss) -> None:
        if step <= self.steps:
            self.rows.append({"step": step, **intensity_diagnostics(trainer.model, trainer.mixer, trainer.data, trainer.config)})


def probe_run(spec: RunSpec, steps: int) -> pd.DataFrame:
    """Train ``spec``; its probes: step 0 (initial weights), the first ``steps`` steps, every epoch."""
    data = load_data(spec.data, **data_options(spec.backbone, spec.data_options))
    trainer = assemble(resolve(spec, data.spec), data, progress=False)
    start = {"step": 0, **intensity_diagnostics(trainer.model, trainer.mixer, trainer.data, trainer.config)}
    probe = StepProbe(steps)
    trainer.add_callback("on_batch_end", probe.on_batch_end)
    steps_per_epoch = -(-len(trainer.data.train) // trainer.config.batch_size)
    result = trainer.fit()
    history = result.history.assign(step=result.history["epoch"] * steps_per_epoch, when="epoch")
    rows = pd.concat([pd.DataFrame([start]).assign(when="step"), pd.DataFrame(probe.rows).assign(when="step"), history])
    return rows.assign(test_Has0_acc_2=result.test_metrics["Has0_acc_2"], test_MAE=result.test_metrics["MAE"],
                       test_Corr=result.test_metrics["Corr"], best_epoch=result.best_epoch)


def last_epochs(table: pd.DataFrame) -> pd.DataFrame:
    """Each run's probe after its last epoch."""
    epochs = table[table["when"] == "epoch"].sort_values("epoch")
    return epochs.groupby(["backbone", "variant", "seed"], sort=False).tail(1)


def summary_tables(table: pd.DataFrame) -> str:
    """Markdown: per backbone and variant, the predictors after the last epoch and the test
    metrics (mean over seeds, min-max in brackets for the correlations)."""
    last = last_epochs(table)
    lines = []
    for backbone in table["backbone"].unique():
        runs = last[last["backbone"] == backbone]
        lines += [f"**{backbone.upper()}** ({runs['seed'].nunique()} seeds, after the last epoch; corr = Pearson r of "
                  "intensity with label on the validation split; sat = share within 1 % of ±3)", "",
                  "| variant | " + " | ".join(f"{m} corr | {m} sat" for m in MODALITIES)
                  + " | test Has0_acc_2 | test MAE | test Corr |",
                  "|---|" + "---:|" * (2 * len(MODALITIES) + 3)]
        for variant in VARIANTS:
            cell = runs[runs["variant"] == variant]
            if cell.empty:
                continue
            parts = []
            for m in MODALITIES:
                corr = cell[f"intensity_{m}_corr"]
                parts += [f"{corr.mean():+.2f} [{corr.min():+.2f}, {corr.max():+.2f}]",
                          f"{cell[f'intensity_{m}_saturated'].mean():.2f}"]
            metrics = [f"{cell[c].mean():.3f}" for c in ("test_Has0_acc_2", "test_MAE", "test_Corr")]
            lines.append(f"| {variant} | " + " | ".join(parts + metrics) + " |")
        lines.append("")
    return "\n".join(lines)


def draw_figures(table: pd.DataFrame, folder: Path, backbone: str = "tfn") -> list[Path]:
    """Two PNGs: the first steps of the faithful and per-sample variants, and the predictors'
    correlation with the labels per variant after the last epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    folder.mkdir(parents=True, exist_ok=True)
    colours = {"text": "#E69F00", "audio": "#56B4E9", "vision": "#CC79A7"}
    steps = table[(table["when"] == "step") & (table["backbone"] == backbone)]
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5), sharex=True)
    for row, variant in enumerate(("faithful", "per_sample")):
        runs = steps[steps["variant"] == variant]
        for m, seed in ((m, seed) for m in MODALITIES for seed in runs["seed"].unique()):
            one = runs[runs["seed"] == seed].sort_values("step")
            label = m if seed == runs["seed"].iloc[0] else None
            norms = one[[f"grad_{m}_{t}" for t in ("task", "mixup", "sal")]].sum(axis=1)
            for col, values in enumerate((one[f"intensity_{m}_mean"], one[f"intensity_{m}_saturated"],
                                          one[f"grad_{m}_sal"] / norms)):
                axes[row, col].plot(one["step"], values, color=colours[m], label=label, lw=1.2, alpha=0.8)
        axes[row, 0].set_ylabel(f"{variant}\nmean intensity")
        axes[row, 0].set_ylim(-3.1, 3.1)
        axes[row, 1].set_ylim(-0.03, 1.03)
        axes[row, 2].set_ylim(-0.03, 1.03)
    for col, title in enumerate(("mean intensity (validation)", "share saturated at ±3", "SAL's share of the latent's gradient")):
        axes[0, col].set_title(title)
        axes[1, col].set_xlabel("optimiser step")
    axes[0, 0].legend(loc="lower left", fontsize=8)
    fig.suptitle(f"{backbone.upper()} with MS-Mix on the SYNTHETIC demo data: the first steps "
                 f"(one line per modality and seed, {steps['seed'].nunique()} seeds; an epoch is 13 steps)")
    fig.tight_layout()
    first = folder / "intensity_collapse_steps.png"
    fig.savefig(first, dpi=110)
    plt.close(fig)

    last = last_epochs(table)
    long = last.melt(id_vars=["backbone", "variant", "seed"], value_vars=[f"intensity_{m}_corr" for m in MODALITIES],
                     var_name="modality", value_name="corr")
    long["modality"] = long["modality"].str.split("_").str[1]
    grid = sns.catplot(data=long, x="variant", y="corr", hue="modality", col="backbone", kind="strip",
                       palette=colours, dodge=True, order=list(VARIANTS), height=3.6, aspect=1.6, s=60)
    for ax in grid.axes.flat:
        ax.axhline(0, color="#999999", lw=0.8)
        ax.set_ylim(-1, 1)
    grid.set_axis_labels("", "corr(intensity, label), last epoch")
    grid.figure.suptitle("Each seed's intensity predictors after training, per variant (SYNTHETIC demo data)", y=1.03)
    second = folder / "intensity_collapse_variants.png"
    grid.figure.savefig(second, dpi=110, bbox_inches="tight")
    plt.close(grid.figure)
    return [first, second]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="toy")
    parser.add_argument("--backbones", nargs="+", default=["tfn", "lmf"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1111, 1112, 1113])
    parser.add_argument("--steps", type=int, default=40, help="probe after each of the first STEPS steps")
    parser.add_argument("--max-epochs", type=int, default=12)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--report", action="store_true", help="draw the figures and tables from --out; train nothing")
    args = parser.parse_args(argv)
    if args.report:
        table = pd.read_csv(args.out)
        for path in draw_figures(table, FIGURES):
            print(f"wrote {path}")
        markdown = args.out.with_suffix(".md")
        markdown.write_text(summary_tables(table))
        print(f"wrote {markdown}")
        return 0
    torch.set_num_threads(1)
    frames = []
    for backbone in args.backbones:
        for variant in args.variants:
            for seed in args.seeds:
                spec = RunSpec(data=args.data, backbone=backbone, mixer="msmix", seed=seed,
                               mixer_config=dict(VARIANTS[variant]), train={"max_epochs": args.max_epochs})
                rows = probe_run(spec, args.steps).assign(backbone=backbone, variant=variant, seed=seed, data=args.data)
                frames.append(rows)
                last = rows[rows["when"] == "epoch"].iloc[-1]
                print(f"{backbone} {variant:10s} {seed}: " + ", ".join(
                    f"{m} corr {last[f'intensity_{m}_corr']:+.2f} sat {last[f'intensity_{m}_saturated']:.2f} "
                    f"mean {last[f'intensity_{m}_mean']:+.2f}" for m in ("text", "audio", "vision")
                ) + f" | test Has0 {last['test_Has0_acc_2']:.3f}", flush=True)
    table = pd.concat(frames, ignore_index=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(f"wrote {len(table)} rows to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
