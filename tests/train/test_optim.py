"""Optimiser groups, the cosine warm-up schedule and gradient clipping against plain re-derivations."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from msmix.train import TrainConfig
from msmix.train.optim import (
    build_optimizer,
    build_scheduler,
    clip_gradients,
    cosine_warmup_factor,
    parameter_groups,
    step_scheduler,
)


def test_adam_is_fused_on_this_machine():
    optimizer = build_optimizer([{"params": [nn.Parameter(torch.zeros(3))]}], TrainConfig())
    assert optimizer.param_groups[0]["fused"] is True


def test_adamw_and_weight_decay_are_passed_on():
    config = TrainConfig(optimizer="adamw", weight_decay=0.1, lr=0.5)
    optimizer = build_optimizer([{"params": [nn.Parameter(torch.zeros(3))]}], config)
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.param_groups[0]["weight_decay"] == 0.1 and optimizer.param_groups[0]["lr"] == 0.5


class WithGroups(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.factor = nn.Parameter(torch.zeros(2))
        self.rest = nn.Linear(2, 2)
        self.frozen = nn.Parameter(torch.zeros(1), requires_grad=False)

    def parameter_groups(self, lr: float):
        return [{"params": [self.factor], "lr": 0.1}, {"params": list(self.rest.parameters()), "lr": lr}]


def test_parameter_groups_use_the_models_own_and_add_the_mixers():
    model, mixer, empty = WithGroups(), nn.Linear(2, 1), nn.Module()
    groups = parameter_groups(model, mixer, lr=0.01)
    assert [len(g["params"]) for g in groups] == [1, 2, 2]
    assert groups[0]["lr"] == 0.1 and "lr" not in groups[2]
    plain = parameter_groups(nn.Linear(3, 1), empty, lr=0.01)
    assert len(plain) == 1 and len(plain[0]["params"]) == 2


@pytest.mark.parametrize(("warmup", "total"), [(0, 10), (3, 10), (2, 3), (5, 5)])
def test_cosine_warmup_factor(warmup, total):
    for epoch in range(total):
        if epoch < warmup:
            expected = (epoch + 1) / warmup
        else:
            span = max(total - warmup, 1)
            expected = (1 + math.cos(math.pi * (epoch - warmup) / span)) / 2
        assert cosine_warmup_factor(epoch, warmup, total) == pytest.approx(expected)
    if warmup < total:
        assert cosine_warmup_factor(warmup, warmup, total) == 1.0


def test_cosine_scheduler_steps_once_per_epoch():
    config = TrainConfig(scheduler="cosine", warmup_epochs=2, max_epochs=6, lr=1.0)
    optimizer = build_optimizer([{"params": [nn.Parameter(torch.zeros(1))]}], config)
    scheduler = build_scheduler(optimizer, config)
    seen = []
    for epoch in range(6):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        step_scheduler(scheduler, valid_loss=1.0)
    assert seen == pytest.approx([cosine_warmup_factor(e, 2, 6) for e in range(6)])


def test_plateau_scheduler_reads_the_validation_loss():
    config = TrainConfig(scheduler="plateau", plateau_patience=1, plateau_factor=0.5, lr=1.0)
    optimizer = build_optimizer([{"params": [nn.Parameter(torch.zeros(1))]}], config)
    scheduler = build_scheduler(optimizer, config)
    for loss in (1.0, 1.0, 1.0):
        step_scheduler(scheduler, loss)
    assert optimizer.param_groups[0]["lr"] == 0.5
    assert build_scheduler(optimizer, TrainConfig()) is None


def _with_grads(values: list[list[float]]) -> list[nn.Parameter]:
    params = [nn.Parameter(torch.zeros(len(v))) for v in values]
    for p, v in zip(params, values):
        p.grad = torch.tensor(v)
    return params


def test_clip_value_bounds_every_entry():
    params = _with_grads([[3.0, -0.2, -5.0], [0.1]])
    clip_gradients(params, TrainConfig(clip_value=0.5))
    assert params[0].grad.tolist() == pytest.approx([0.5, -0.2, -0.5])
    assert params[1].grad.tolist() == pytest.approx([0.1])


def test_clip_norm_rescales_the_total_norm():
    values = [[3.0, 4.0], [12.0]]  # total norm 13
    params = _with_grads(values)
    clip_gradients(params, TrainConfig(clip_norm=1.3))
    scale = 1.3 / 13.0
    assert params[0].grad.tolist() == pytest.approx([3.0 * scale, 4.0 * scale], rel=1e-5)
    assert params[1].grad.tolist() == pytest.approx([12.0 * scale], rel=1e-5)
    small = _with_grads([[0.3, 0.4]])
    clip_gradients(small, TrainConfig(clip_norm=1.0))
    assert small[0].grad.tolist() == pytest.approx([0.3, 0.4])
