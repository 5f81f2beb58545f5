"""Stacked seeds: N members trained as one vmapped model equal N separate runs.

The references are separate runs through the ordinary Trainer. Dropout (and GLoMo's gating noise)
draws differently when stacked, so the exact comparisons switch it off; everything else (data
order, mixer draws, BatchNorm statistics, clipping, schedules, early stopping) stays as published.
Whole runs are compared in float64: in float32 the batched kernels round differently, and Adam's
first steps turn differences of 1e-7 in near-zero gradients into whole steps, so runs drift apart
by ~1e-4 within a few epochs whatever the code; in float64 that drift stays far below the
tolerance, so a real difference (a wrong rate, clip or batch) shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from msmix.data.cache import load_data
from msmix.experiment.tasks import plan_tasks
from msmix.train import RunSpec, run
from msmix.train.stacked import StackedTrainer
from msmix.train.stacked_model import NotStackableError, StackedBackbone
from msmix.train.stacked_run import run_stacked
from msmix.train.stacked_step import stacked_training_loss
from msmix.train.step import training_loss
from stacked_setup import assert_same_runs, specs, trainers

MIXERS = ["none", "mixup", "manifold", "multimix", "powmix", "msmix"]
STACKABLE = ["tfn", "lmf", "mult", "almt", "glomo"]


@pytest.fixture(scope="module")
def toy():
    return load_data("toy")


@pytest.mark.parametrize("mixer", MIXERS)
def test_stacked_tfn_members_equal_their_separate_runs(toy64, mixer: str) -> None:
    runs = specs("tfn", mixer, seeds=(1, 2), max_epochs=2, train_fraction=0.4)
    separate = [t.fit() for t in trainers(runs, toy64)]
    assert_same_runs(separate, StackedTrainer(trainers(runs, toy64), progress=False).fit())


def test_stacked_lmf_members_equal_their_separate_runs(toy64) -> None:
    runs = specs("lmf", "msmix", seeds=(1, 2))
    separate = [t.fit() for t in trainers(runs, toy64)]
    assert_same_runs(separate, StackedTrainer(trainers(runs, toy64), progress=False).fit())


def test_each_member_keeps_its_own_clipping_schedule_and_early_stop(toy64) -> None:
    # a tight norm clips every step; plateau and patience 0 cut rates and stop members at
    # different epochs, so members step with different learning rates part of the time
    runs = specs("tfn", "msmix", seeds=(4, 5, 6), max_epochs=6, patience=1, clip_norm=0.05, clip_value=0.02,
                 scheduler="plateau", plateau_patience=0, plateau_factor=0.5, grad_accum=2, train_fraction=0.4, lr=0.01)
    separate = [t.fit() for t in trainers(runs, toy64)]
    assert len({r.epochs for r in separate}) > 1 or len({tuple(r.history["lr"]) for r in separate}) > 1
    assert_same_runs(separate, StackedTrainer(trainers(runs, toy64), progress=False).fit())


@pytest.mark.parametrize("backbone", [b for b in STACKABLE if b != "glomo"])
def test_one_stacked_step_gives_each_member_its_own_gradients(toy64, backbone: str) -> None:
    """Forward and backward of every stackable backbone, in eval mode so nothing is drawn at random
    (GLoMo's transformer layers have no backward in eval mode; its whole runs train stacked in
    ``test_every_stackable_backbone_trains_stacked``)."""
    runs = specs(backbone, "msmix", seeds=(1, 2))
    members = trainers(runs, toy64)
    batches = [toy64.train.batch(torch.arange(i, 40 + i)) for i in range(len(members))]
    reference = []
    for member, batch in zip(members, batches):
        member.model.eval()
        generator = torch.Generator().manual_seed(7)
        loss = training_loss(member.model, member.mixer, batch, member.config.objective, generator).total
        reference.append(torch.autograd.grad(loss, [p for p in member.model.parameters() if p.requires_grad], allow_unused=True))
    stacked = StackedBackbone([m.model for m in members]).eval()
    generators = [torch.Generator().manual_seed(7) for _ in members]
    parts = stacked_training_loss(stacked, [m.mixer for m in members], batches, members[0].config.objective, generators)
    names = [name for name, p in members[0].model.named_parameters() if p.requires_grad]
    weights = [stacked.stacked_parameters()["model." + n] for n in names]
    grads = torch.autograd.grad(sum(p.total for p in parts), weights, allow_unused=True)
    for i, own in enumerate(reference):
        for name, mine, theirs in zip(names, own, grads):
            if mine is None:
                assert theirs is None or not theirs[i].abs().any(), name
                continue
            torch.testing.assert_close(theirs[i], mine, rtol=1e-9, atol=1e-12, msg=f"{backbone} {name} member {i}")


def test_write_back_puts_each_members_weights_into_its_module(toy) -> None:
    members = trainers(specs("tfn", "none", seeds=(1, 2)), toy)
    stacked = StackedBackbone([m.model for m in members])
    with torch.no_grad():
        for tensor in stacked.stacked_parameters().values():
            tensor.add_(torch.arange(2.0).view(-1, *[1] * (tensor.dim() - 1)))
    before = {n: p.clone() for n, p in members[1].model.named_parameters()}
    stacked.write_back(1, members[1].model)
    for name, p in members[1].model.named_parameters():
        torch.testing.assert_close(p, before[name] + 1)


def test_misa_and_mismatched_members_are_refused_in_one_line(toy) -> None:
    with pytest.raises(NotStackableError, match="'misa' cannot train stacked"):
        run_stacked(specs("misa", "none", seeds=(1, 2)), data=toy)
    with pytest.raises(NotStackableError, match="seed only"):
        run_stacked(specs("tfn", "none", seeds=(1,)) + specs("tfn", "mixup", seeds=(2,)), data=toy)
    with pytest.raises(NotStackableError, match="different seeds"):
        run_stacked(specs("tfn", "none", seeds=(1, 1)), data=toy)
    mixed = trainers(specs("tfn", "none", seeds=(1,)) + specs("tfn", "none", seeds=(2,), batch_size=32), toy)
    with pytest.raises(NotStackableError, match="every training setting but the seed"):
        StackedTrainer(mixed)


def test_stacked_rows_are_run_rows_and_their_folders_read_as_finished(toy, tmp_path: Path) -> None:
    runs = specs("tfn", "msmix", seeds=(1, 2), max_epochs=2)
    rows = run_stacked(runs, out_dir=tmp_path, progress=False, data=toy)
    alone = run(runs[0], progress=False, data=toy)
    assert set(rows[0]) == set(alone) | {"stacked_seeds"} and rows[0]["stacked_seeds"] == 2
    assert [r["config_hash"] for r in rows] == [s.config_hash() for s in runs]
    for spec, row in zip(runs, rows):
        stored = run(spec, out_dir=tmp_path, resume=True, progress=False)  # finished: not trained again
        assert stored == json.loads(json.dumps(row, default=str))


def test_plan_tasks_stacks_seeds_of_one_configuration_only() -> None:
    grid = (specs("tfn", "none", seeds=(1, 2)) + specs("misa", "none", seeds=(1, 2))
            + specs("tfn", "msmix", seeds=(1,)) + specs("tfn", "none", seeds=(3,))
            + specs("lmf", "none", seeds=(1, 2), compile=True))
    tasks = plan_tasks(grid, stack_seeds=True)
    assert [[(s.backbone, s.mixer, s.seed) for s in t.specs] for t in tasks] == [
        [("tfn", "none", 1), ("tfn", "none", 2), ("tfn", "none", 3)],
        [("misa", "none", 1)], [("misa", "none", 2)],
        [("tfn", "msmix", 1)],
        [("lmf", "none", 1)], [("lmf", "none", 2)],
    ]
    assert all(len(t.specs) == 1 for t in plan_tasks(grid, stack_seeds=False))


@pytest.mark.parametrize("backbone", ["mult", "glomo"])
def test_every_stackable_backbone_trains_stacked(toy, backbone: str) -> None:
    """With their published dropout (and GLoMo's gating noise) on: rows with finite metrics."""
    runs = [RunSpec(data="toy", backbone=backbone, mixer="msmix", seed=s, train={"max_epochs": 1, "train_fraction": 0.2})
            for s in (1, 2)]
    rows = run_stacked(runs, progress=False, data=toy)
    assert [r["seed"] for r in rows] == [1, 2] and all(np.isfinite(r["MAE"]) for r in rows)
    assert rows[0]["MAE"] != rows[1]["MAE"]


def test_a_sweep_with_stacked_seeds_writes_every_row_once(tmp_path: Path) -> None:
    from msmix.experiment import expand_grid, read_results, run_sweep

    grid = expand_grid({"data": "toy", "backbones": ["tfn", "misa"], "mixers": ["msmix"], "seeds": [1, 2],
                        "train": {"max_epochs": 1, "train_fraction": 0.2}})
    table = run_sweep(grid, tmp_path, progress=False, stack_seeds=True)
    assert table["config_hash"].tolist() == [s.config_hash() for s in grid]
    assert table.set_index("backbone")["stacked_seeds"].fillna(1).to_dict() == {"tfn": 2, "misa": 1}
    again = run_sweep(grid, tmp_path, progress=False, stack_seeds=True)  # nothing runs again
    assert len(read_results(tmp_path / "results.csv")) == 4 and again.equals(table)
