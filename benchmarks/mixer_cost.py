"""Benchmark (not a test): what one MS-Mix call costs inside a TFN / LMF training step, on a CPU.

The step is the one MS-Mix sits in: encode B samples, mix (k = B), fuse the 2B rows, the objective,
backward, an Adam step (fused, as the trainer uses). It runs on synthetic batches of MOSI's shapes
(text 50 x 768, time-averaged audio 5 and vision 20) at the published batch sizes: TFN 32, LMF 64.

MS-Mix's cost is measured on its own: its forward (intensity predictors, SAL, SASS, SIG, mixing),
its backward (the gradients the fused model would send back, replayed as fixed random tensors
into its outputs, down to the latents and the predictors' weights) and the Adam step over the
predictors' weights. A second estimate, from whole steps, is the MS-Mix step minus the step with
Manifold Mixup, which mixes the same 2B rows through random pairs without any predictor. Goal:
under 10% of the step. Medians over the timed steps, after warm-up, with torch's threads pinned.
On a machine shared with other work, ``--clock cpu --threads 1`` times the CPU this process used
(``time.process_time``), which other processes' load does not inflate as it does wall time.

Usage: ``python benchmarks/mixer_cost.py [--threads N] [--steps 30] [--warmup 5] [--clock wall|cpu]``

Recorded (``--steps 30 --warmup 5 --clock cpu --threads 1``, on a 2-core machine shared with other
work at a load average near 9, so CPU time rather than wall time):

| date | machine | torch | backbone | B | step with MS-Mix (ms) | MS-Mix fwd / bwd / Adam (ms) | MS-Mix share | step with Manifold (ms) | difference share |
|---|---|---|---|---|---|---|---|---|---|
| 2026-11-26 | x86_64, 2 cores, 1 threads, cpu clock | 2.13.0+cpu | tfn | 32 | 451.2 | 4.06 / 2.56 / 0.47 | 1.6% | 447.1 | 0.9% |
| 2026-11-26 | x86_64, 2 cores, 1 threads, cpu clock | 2.13.0+cpu | lmf | 64 | 152.9 | 4.12 / 2.88 / 0.48 | 4.9% | 146.5 | 4.2% |
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch

from msmix.data import Batch, DataSpec
from msmix.mixing import Mixer, ObjectiveConfig, create, objective
from msmix.models import Backbone
from msmix.models import create as create_backbone

PUBLISHED_BATCH = {"tfn": 32, "lmf": 64}
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
MOSI_DIMS = {"text": 768, "audio": 5, "vision": 20}
MOSI_TEXT_STEPS = 50


def mosi_batch(b: int, generator: torch.Generator) -> Batch:
    """A synthetic batch of MOSI's shapes; audio and vision time-averaged as TFN and LMF read them."""
    return Batch(
        text=torch.randn(b, MOSI_TEXT_STEPS, MOSI_DIMS["text"], generator=generator),
        audio=torch.randn(b, 1, MOSI_DIMS["audio"], generator=generator),
        vision=torch.randn(b, 1, MOSI_DIMS["vision"], generator=generator),
        labels=torch.rand(b, generator=generator) * 6 - 3,
    )


def train_step(model: Backbone, mixer: Mixer, optimizer: torch.optim.Optimizer, batch: Batch, generator) -> None:
    """Encode, mix, fuse originals and mixed samples as one batch, objective, backward, Adam."""
    optimizer.zero_grad(set_to_none=True)
    enc = model.encode(batch)
    mix = mixer(enc.latents, batch.labels, generator=generator, masks=enc.masks)
    out = model.fuse({m: torch.cat([z, mix.mixed[m]]) for m, z in enc.latents.items()})
    pred = out.pred.reshape(-1)
    b = len(batch)
    objective(pred[:b], batch.labels, pred[b:], mix, ObjectiveConfig(), out.aux_losses).total.backward()
    optimizer.step()


def mixer_parts(
    mixer: Mixer, optimizer: torch.optim.Optimizer, latents, labels, generator, clock: Callable[[], float]
) -> tuple[float, float, float]:
    """Seconds of MS-Mix's forward, backward and Adam step over its own weights, for one batch."""
    optimizer.zero_grad(set_to_none=True)
    leaves = {m: z.detach().requires_grad_() for m, z in latents.items()}
    start = clock()
    mix = mixer(leaves, labels, generator=generator)
    forward = clock()
    outputs = [*mix.mixed.values(), mix.weights["label"], mix.aux_loss]
    upstream = [torch.randn_like(t) for t in outputs]
    start_backward = clock()
    torch.autograd.backward(outputs, upstream)
    backward = clock()
    optimizer.step()
    done = clock()
    return forward - start, backward - start_backward, done - backward


def measure(name: str, steps: int, warmup: int, clock: Callable[[], float], seed: int = 0) -> dict[str, float]:
    """Median seconds of the step with MS-Mix, with Manifold Mixup, and of MS-Mix's own parts.

    The three are timed in turn within each round, so a change in the machine's load hits all alike.
    """
    b = PUBLISHED_BATCH[name]
    spec = DataSpec(kind="mosi", dims=MOSI_DIMS, seq_lens={"text": MOSI_TEXT_STEPS, "audio": 1, "vision": 1})
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    batches = [mosi_batch(b, generator) for _ in range(4)]
    setups = {}
    for mixer_name in ("msmix", "manifold"):
        model = create_backbone(name, spec).train()
        mixer = create(mixer_name, model.latent_dims, label_range=spec.label_range).train()
        optimizer = torch.optim.Adam([*model.parameters(), *mixer.parameters()], lr=1e-3, fused=True)
        setups[mixer_name] = (model, mixer, optimizer)
    model, msmix, _ = setups["msmix"]
    own = torch.optim.Adam(msmix.parameters(), lr=1e-3, fused=True)
    with torch.no_grad():
        latents = [model.encode(batch).latents for batch in batches]

    times: dict[str, list[float]] = {"step_msmix": [], "step_manifold": [], "parts": []}
    for i in range(warmup + steps):
        batch = batches[i % len(batches)]
        for mixer_name, (model, mixer, optimizer) in setups.items():
            start = clock()
            train_step(model, mixer, optimizer, batch, generator)
            times[f"step_{mixer_name}"].append(clock() - start)
        times["parts"].append(mixer_parts(msmix, own, latents[i % len(batches)], batch.labels, generator, clock))
    result = {"batch": float(b)}
    result.update({key: statistics.median(values[warmup:]) for key, values in times.items() if key != "parts"})
    for key, column in zip(("forward", "backward", "adam"), zip(*times["parts"][warmup:])):
        result[key] = statistics.median(column)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch intra-op threads (pinned)")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument("--clock", choices=tuple(CLOCKS), default="wall", help="wall time, or this process's CPU time")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    machine = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{args.threads} threads, {args.clock} clock"
    )
    today = datetime.date.today().isoformat()
    print(
        "| date | machine | torch | backbone | B | step with MS-Mix (ms) | MS-Mix fwd / bwd / Adam (ms) "
        "| MS-Mix share | step with Manifold (ms) | difference share |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in PUBLISHED_BATCH:
        r = measure(name, args.steps, args.warmup, CLOCKS[args.clock])
        own = r["forward"] + r["backward"] + r["adam"]
        difference = r["step_msmix"] - r["step_manifold"]
        print(
            f"| {today} | {machine} | {torch.__version__} | {name} | {r['batch']:.0f} "
            f"| {1e3 * r['step_msmix']:.1f} "
            f"| {1e3 * r['forward']:.2f} / {1e3 * r['backward']:.2f} / {1e3 * r['adam']:.2f} "
            f"| {100 * own / r['step_msmix']:.1f}% | {1e3 * r['step_manifold']:.1f} "
            f"| {100 * difference / r['step_msmix']:.1f}% |"
        )


if __name__ == "__main__":
    main()
