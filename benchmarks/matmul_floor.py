"""The least time an epoch can take on this CPU: the text LSTM's input projection alone.

TFN and LMF read 50 steps of 768-d text features through an LSTM whose input projection is one
(B * 50, 768) x (768, 4 * 128) matrix product per batch forward, and one more of the same size for
its weight gradient in training (the features are fixed, so no input gradient is needed). Any
implementation of the same model must do this arithmetic; this script times exactly these products
at the published batch sizes, for the split sizes of ``epoch_time.py``'s file, and reports the
total per epoch: a lower bound on msmix's (and MMSA's) seconds per epoch at this float precision.
``MMSA seconds / floor`` is then the largest speed-up over MMSA that any implementation can reach.

    .venv/bin/python benchmarks/matmul_floor.py --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

STEPS, TEXT_DIM, GATES = 50, 768, 4 * 128
BATCH = {"tfn": 32, "lmf": 64}


def seconds(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def projection_seconds(rows: int, repeats: int) -> tuple[float, float]:
    """Forward ``x @ W.T`` and weight gradient ``dG.T @ x`` for ``rows`` = samples x steps."""
    x, w, grad = torch.randn(rows, TEXT_DIM), torch.randn(GATES, TEXT_DIM), torch.randn(rows, GATES)
    return seconds(lambda: x @ w.t(), repeats), seconds(lambda: grad.t() @ x, repeats)


def epoch_floor(batch: int, n_train: int, n_valid: int, repeats: int) -> tuple[float, float]:
    """(seconds, GFLOP/s) of one epoch's projection products: train batches forward + weight
    gradient, and the validation split forward in one batch (as both trainers evaluate it)."""
    total, flops = 0.0, 0.0
    sizes = [batch] * (n_train // batch) + ([n_train % batch] if n_train % batch else [])
    for size in sorted(set(sizes)):
        forward, weight_grad = projection_seconds(size * STEPS, repeats)
        total += sizes.count(size) * (forward + weight_grad)
        flops += sizes.count(size) * 2 * (2 * size * STEPS * TEXT_DIM * GATES)
    forward, _ = projection_seconds(n_valid * STEPS, repeats)
    total += forward
    flops += 2 * n_valid * STEPS * TEXT_DIM * GATES
    return total, flops / total / 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n-train", type=int, default=320)
    parser.add_argument("--n-valid", type=int, default=57)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"# {args.threads} thread(s), {args.n_train} train / {args.n_valid} validation samples, float32")
    print("| model | batch | floor s/epoch | GFLOP/s |")
    print("| --- | --- | --- | --- |")
    for model, batch in BATCH.items():
        floor, rate = epoch_floor(batch, args.n_train, args.n_valid, args.repeats)
        print(f"| {model} | {batch} | {floor:.3f} | {rate:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
