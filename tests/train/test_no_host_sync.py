"""A training step never reads a tensor's value on the host.

On a GPU each ``.item()``, ``float(t)``, ``int(t)`` or ``bool(t)`` (an ``if`` on a tensor) makes
the host wait for every queued kernel. Here, on the CPU, those four are made to raise while a
training epoch of every mixer, and of every backbone with MS-Mix, runs (forward, mixing, objective,
backward, clipping, optimiser step); the epoch's loss sums are read only after it. (Copies such as
``.cpu()`` are not caught here: MISA's packed LSTMs copy their lengths to the host once per step.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch

import msmix.mixing
import msmix.models
from msmix.testing import tiny_dataset
from msmix.train import RunSpec, assemble, resolve

SYNCING = ("item", "__float__", "__int__", "__bool__")


class HostSync(AssertionError):
    """A tensor's value was read on the host inside a training step."""


@contextmanager
def no_host_sync() -> Iterator[None]:
    """Make every way of reading a tensor's value on the host raise ``HostSync`` inside the block."""
    saved = {name: getattr(torch.Tensor, name) for name in SYNCING}

    def refuse(name: str):
        def read(self, *args, **kwargs):
            raise HostSync(f"Tensor.{name} called inside a training step")
        return read

    for name in SYNCING:
        setattr(torch.Tensor, name, refuse(name))
    try:
        yield
    finally:
        for name, method in saved.items():
            setattr(torch.Tensor, name, method)


def test_the_guard_catches_each_kind_of_read() -> None:
    t = torch.ones(())
    for read in (lambda: t.item(), lambda: float(t), lambda: int(t), lambda: bool(t), lambda: 1 if t > 0 else 0):
        with no_host_sync(), pytest.raises(HostSync):
            read()
    assert t.item() == 1.0, "the guard is gone after the block"


@pytest.mark.parametrize("mixer", msmix.mixing.available())
@pytest.mark.parametrize("clip", [None, "clip_norm", "clip_value"])
def test_a_training_epoch_reads_no_tensor_on_the_host(mixer: str, clip: str | None) -> None:
    data = tiny_dataset(n=48, seed=2)
    train = {"max_epochs": 1, "batch_size": 8, **({clip: 1.0} if clip else {})}
    spec = RunSpec(data="tiny", backbone="_tiny", mixer=mixer, seed=3, train=train)
    trainer = assemble(resolve(spec, data.spec), data, progress=False)
    trainer.state.generators["mix"].manual_seed(5)
    with no_host_sync():
        sums = trainer._train_epoch(1)
    assert sums is not None and torch.isfinite(sums).all()


@pytest.mark.parametrize("backbone", msmix.models.available())
def test_a_training_epoch_of_every_backbone_reads_no_tensor_on_the_host(backbone: str, one_thread: None) -> None:
    data = tiny_dataset(n=24, seed=2, sequence="vision")
    spec = RunSpec(data="tiny", backbone=backbone, mixer="msmix", seed=3, train={"max_epochs": 1, "batch_size": 8})
    trainer = assemble(resolve(spec, data.spec), data, progress=False)
    with no_host_sync():
        sums = trainer._train_epoch(1)
    assert sums is not None and torch.isfinite(sums).all()


@pytest.mark.parametrize("factors", [[1.0, 1.0], [1.0, 0.5]], ids=["one rate", "per-member rates"])
@pytest.mark.parametrize("backbone", [b for b in msmix.models.available() if msmix.models.backbone_class(b).stackable])
def test_a_stacked_training_epoch_reads_no_tensor_on_the_host(backbone: str, factors: list[float], one_thread: None) -> None:
    from msmix.train import StackedTrainer

    data = tiny_dataset(n=24, seed=2, sequence="vision")
    train = {"max_epochs": 1, "batch_size": 8, "clip_norm": 1.0, "clip_value": 1.0}
    specs = [RunSpec(data="tiny", backbone=backbone, mixer="msmix", seed=s, train=train) for s in (3, 4)]
    stacked = StackedTrainer([assemble(resolve(s, data.spec), data, progress=False) for s in specs], progress=False)
    for member in stacked.members:
        member.start()
    with no_host_sync():
        means, batch_losses = stacked._train_epoch(factors)
    assert torch.isfinite(means).all() and torch.isfinite(batch_losses).all()
