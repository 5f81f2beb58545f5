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
most as notebook 02's sweep).
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

RESULTS = Path(__file__).resolve().parent / "results" / "intensity_collapse.csv"
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="toy")
    parser.add_argument("--backbones", nargs="+", default=["tfn", "lmf"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1111, 1112, 1113])
    parser.add_argument("--steps", type=int, default=40, help="probe after each of the first STEPS steps")
    parser.add_argument("--max-epochs", type=int, default=12)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
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
