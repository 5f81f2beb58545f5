"""How much memory a training step keeps for its backward pass, per sample, at MOSI's shapes.

Every tensor autograd saves during one forward pass (a training batch of ``--batch`` samples of
a MOSI-shaped file, no mixer) is counted once by its storage, through
``torch.autograd.graph.saved_tensors_hooks``, and divided by the batch. On a CPU, attention with
a padding mask runs the math kernel, which saves every B x heads x L x S weight; on CUDA the fused
kernels save far less when they can take the head size (``msmix.models.attention``), so these
numbers bound what a GPU step keeps, and show which backbones would not fit their recipe's batch
without the fused kernel.

    PYTHONPATH=. python benchmarks/saved_activations.py [--backbones glomo mult] [--batch 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import msmix.data  # noqa: E402
import msmix.mixing  # noqa: E402
import msmix.models  # noqa: E402
from msmix.mixing import ObjectiveConfig  # noqa: E402
from msmix.train import TrainConfig  # noqa: E402
from msmix.train.step import training_loss  # noqa: E402

import mmsa_epoch  # noqa: E402


def saved_bytes(backbone: str, data: msmix.data.Dataset, batch: int) -> int:
    """Bytes autograd keeps for the backward pass of one training forward of ``batch`` samples."""
    torch.manual_seed(0)
    model = msmix.models.create(backbone, data.spec).train()
    mixer = msmix.mixing.create("none", model.latent_dims, data.spec.label_range)
    storages: dict[int, int] = {}

    def keep(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = max(storages.get(storage.data_ptr(), 0), storage.nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t):
        training_loss(model, mixer, data.train.batch(torch.arange(batch)), ObjectiveConfig(), torch.Generator().manual_seed(0))
    return sum(storages.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbones", nargs="+", default=msmix.models.available())
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mosi_shaped.pkl"
        mmsa_epoch.make_data(path, {"train": args.batch, "valid": 2, "test": 2}, seed=1111)
        print("| backbone | recipe batch | saved MiB per sample | at the recipe batch, GiB |")
        print("| --- | --- | --- | --- |")
        for backbone in args.backbones:
            data = msmix.data.load(str(path), time_average=msmix.models.backbone_class(backbone).needs_time_average)
            per_sample = saved_bytes(backbone, data, args.batch) / args.batch
            recipe = TrainConfig.for_backbone(backbone, "mosi").batch_size
            print(f"| {backbone} | {recipe} | {per_sample / 2**20:.1f} | {per_sample * recipe / 2**30:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
