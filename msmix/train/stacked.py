"""Many seeds of one configuration trained at once, as one stacked model.

A StackedTrainer drives N ordinary Trainers (one per seed, built by ``assemble`` as for separate
runs, so each member starts from the weights, data order and mixer draws its own run would) in
lockstep. Training runs once for all members: their weights are stacked (``StackedBackbone``) and
one Adam(W) steps them all, which equals N separate optimisers because Adam works element by
element. Everything per run stays per member: gradient clipping (each member's own norm), the
learning-rate schedule (a member whose plateau schedule has cut its rate steps with its own rate),
validation, the intensity probe, early stopping, the best weights and the test. A member whose run
has ended keeps being carried along until the last one ends, but nothing of it is recorded.

With dropout at 0, every member's history and metrics equal its separate run's within float
tolerance (``tests/train/test_stacked.py``); with dropout, members draw other masks than their
separate runs (``msmix.train.stacked_model``), so they agree in distribution only.

Members built with run folders keep the checkpoints their own runs would (``last.pt`` with their
share of the stacked optimiser state, ``best.pt``), so a killed group resumes (``fit(resume=True)``)
and ends as it would have, and any member can also be resumed alone as an ordinary run.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from msmix.train.history import EpochRecord, FitResult
from msmix.train.optim import accumulation_step, build_optimizer, parameter_groups
from msmix.train.precision import autocast
from msmix.train.progress import StepProgress, batch_bar
from msmix.train.stacked_model import NotStackableError, StackedBackbone
from msmix.train.stacked_step import stacked_training_loss
from msmix.train.trainer import LOSS_PARTS, Trainer, loss_vector


class StackedTrainer:
    """Trains member Trainers (same configuration, different seeds) together.

    Args:
        members: new Trainers, one per seed, built alike except for the seed (and run folder).
        progress: an epoch bar and a batch bar.
    """

    def __init__(self, members: Sequence[Trainer], progress: bool = True) -> None:
        _check_members(members)
        self.members = list(members)
        self.config = members[0].config
        self.device = members[0].device
        self.progress = progress
        self.model = StackedBackbone([m.model for m in members]).to(self.device)
        self._mixer_params = [[p for p in m.mixer.parameters() if p.requires_grad] for m in members]
        self.optimizer = build_optimizer(self._groups(), self.config)
        self._base_lrs = [float(g["lr"]) for g in self.optimizer.param_groups]
        self._member_of = {id(p): i for i, params in enumerate(self._mixer_params) for p in params}

    def fit(self, resume: bool = False) -> list[FitResult]:
        """Train every member until its early stopping or ``max_epochs``; test each on its best
        weights. One FitResult per member, in order; ``train_seconds`` is the group's time.

        Members built with a ``run_dir`` write their checkpoints after every epoch as their own
        runs would (their optimiser's share of the stacked state included), so with ``resume``
        each continues from its ``last.pt``. A member that a kill between two members' writes left
        one epoch behind first trains that epoch on its own.
        """
        for member in self.members:
            member.start(resume)
        if any(m.records for m in self.members) and not all(m.finished for m in self.members):
            self._catch_up()
            self._restack()
        seconds_before = max(m.state.train_seconds for m in self.members)
        started = time.perf_counter()
        batches = math.ceil(len(self.members[0].data.train) / self.config.batch_size)
        done = max(len(m.records) for m in self.members)
        bar = StepProgress(self.config.max_epochs, "epochs", f"epoch ({len(self.members)} stacked)", initial=done,
                           enabled=self.progress)
        with bar:
            while not all(m.finished for m in self.members):
                epoch_started = time.perf_counter()
                factors = [m.lr_factor() for m in self.members]
                training = sum(not m.finished for m in self.members)
                means, batch_losses = self._train_epoch(factors)
                for i, member in enumerate(self.members):
                    if member.finished:
                        continue
                    self.model.write_back(i, member.model)
                    with warnings.catch_warnings():  # a member's own optimiser never steps; its schedule still does
                        warnings.filterwarnings("ignore", "Detected call of `lr_scheduler.step", UserWarning)
                        record = member.close_epoch(means[i], batch_losses[i], member.config.lr * factors[i], epoch_started)
                    member.state.step += batches
                    member.state.train_seconds = seconds_before + time.perf_counter() - started
                    self._save_member(i, record)
                bar.step(f"{training} of {len(self.members)} still training")
        seconds = seconds_before + time.perf_counter() - started
        return [member.finish(seconds) for member in self.members]

    # -- checkpoints and resume -----------------------------------------------------------------

    def _save_member(self, i: int, record: EpochRecord) -> None:
        """Keep member ``i``'s epoch; with a run folder, with its share of the optimiser state, so
        its checkpoint is the one its own run would write."""
        member = self.members[i]
        if member.run_dir is None:
            member.save_epoch(record)
            return
        for stacked, own in self._model_pairs(i):
            if stacked in self.optimizer.state:
                member.optimizer.state[own] = {k: _member_share(v, i, stacked) for k, v in self.optimizer.state[stacked].items()}
        for param in self._mixer_params[i]:
            if param in self.optimizer.state:
                member.optimizer.state[param] = {k: v.clone() for k, v in self.optimizer.state[param].items()}
        member.save_epoch(record)  # kept until the next epoch: a checkpoint_seconds interval may write them later

    def _catch_up(self) -> None:
        """Members still training that are behind the furthest one train alone until level."""
        training = [m for m in self.members if not m.finished]
        level = max(len(m.records) for m in training)
        for member in training:
            while len(member.records) < level and not member.finished:
                member.run_epoch()

    def _restack(self) -> None:
        """Stack the members' weights and optimiser states again, as their checkpoints left them."""
        self.model = StackedBackbone([m.model for m in self.members]).to(self.device)
        self.optimizer = build_optimizer(self._groups(), self.config)
        reference = next(i for i, m in enumerate(self.members) if not m.finished)  # these share their step count
        pairs = [self._model_pairs(i) for i in range(len(self.members))]
        for j, (stacked, _) in enumerate(pairs[0]):
            states = [m.optimizer.state.get(own[j][1]) for m, own in zip(self.members, pairs)]
            if states[reference]:
                self.optimizer.state[stacked] = {
                    k: torch.stack([s[k] for s in states]) if v.dim() else v.clone() for k, v in states[reference].items()
                }
        for member, params in zip(self.members, self._mixer_params):
            for param in params:
                if member.optimizer.state.get(param):
                    self.optimizer.state[param] = dict(member.optimizer.state[param])
        for member in self.members:
            member.optimizer.state.clear()

    def _model_pairs(self, i: int) -> list[tuple[nn.Parameter, nn.Parameter]]:
        """(stacked parameter, member ``i``'s own parameter) for every model weight."""
        stacked = self.model.stacked_parameters()
        return [(stacked["model." + n], p) for n, p in self.members[i].model.named_parameters()]

    # -- one epoch ----------------------------------------------------------------------------

    def _train_epoch(self, factors: list[float]) -> tuple[Tensor, Tensor]:
        """One pass of every member over its train split: per member, the per-sample means of the
        loss parts (N, len(LOSS_PARTS)) and each batch's total loss (N, batches), on the device."""
        self.model.train()
        for member in self.members:
            member.mixer.train()
        cfg, n = self.config, len(self.members[0].data.train)
        n_batches = math.ceil(n / cfg.batch_size)
        sums = torch.zeros(len(self.members), len(LOSS_PARTS), device=self.device)
        batch_losses = torch.zeros(len(self.members), n_batches, device=self.device)
        streams = [
            m.data.train.batches(cfg.batch_size, shuffle=True, generator=m.state.generators["shuffle"]) for m in self.members
        ]
        mixers = [m.mixer for m in self.members]
        generators = [m.state.generators["mix"] for m in self.members]
        with batch_bar(zip(*streams), n_batches, "batches", enabled=self.progress) as bar:
            for i, batches in enumerate(bar):
                starts, group_size, ends = accumulation_step(i, cfg.grad_accum, n_batches)
                if starts:
                    self.optimizer.zero_grad(set_to_none=True)
                with autocast(cfg.precision, self.device):
                    parts = stacked_training_loss(self.model, mixers, batches, cfg.objective, generators)
                (torch.stack([p.total for p in parts]).sum() / group_size).backward()
                if ends:
                    self._clip()
                    self._step(factors)
                now = torch.stack([loss_vector(p) for p in parts])
                sums += now * len(batches[0])
                batch_losses[:, i] = now[:, 0]
        return sums / n, batch_losses

    def _groups(self) -> list[dict]:
        """Member 0's optimiser groups, with each model weight replaced by its stack and each mixer
        weight by that weight of every member's mixer."""
        first = self.members[0]
        names = {id(p): "model." + n for n, p in first.model.named_parameters()}
        mixer_names = {id(p): n for n, p in first.mixer.named_parameters()}
        stacked = self.model.stacked_parameters()
        mixers = [dict(m.mixer.named_parameters()) for m in self.members]
        groups = []
        for group in parameter_groups(first.model, first.mixer, self.config.lr):
            params: list[nn.Parameter] = []
            for p in group["params"]:
                if id(p) in names:
                    params.append(stacked[names[id(p)]])
                else:
                    params.extend(own[mixer_names[id(p)]] for own in mixers)
            groups.append({**group, "params": params})
        return groups

    def _clip(self) -> None:
        """``clip_gradients`` of every member on its own: values, then each member's total norm."""
        cfg = self.config
        params = [p for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]
        if cfg.clip_value is not None:
            nn.utils.clip_grad_value_(params, cfg.clip_value, foreach=True)
        if cfg.clip_norm is None:
            return
        dtype = torch.promote_types(params[0].grad.dtype, torch.float32)  # as exact as clip_grad_norm_
        squares = torch.zeros(len(self.members), device=self.device, dtype=dtype)
        for p in params:
            member = self._member_of.get(id(p))
            if member is None:
                squares += p.grad.to(dtype).square().flatten(1).sum(1)
            else:
                squares[member] += p.grad.to(dtype).square().sum()
        coef = (cfg.clip_norm / (squares.sqrt() + 1e-6)).clamp(max=1.0)
        for p in params:
            member = self._member_of.get(id(p))
            scale = coef.view(-1, *[1] * (p.dim() - 1)) if member is None else coef[member]
            p.grad.mul_(scale.to(p.grad.dtype))

    def _step(self, factors: list[float]) -> None:
        """One optimiser step at each member's own learning rate.

        When every member's schedule stands at one factor the step runs at that rate. Otherwise it
        runs at the starting rates and each member's change is scaled by its factor: Adam's and
        AdamW's updates (decoupled weight decay included) are linear in the rate, so this is the
        step each member's own optimiser would take.
        """
        if len(set(factors)) == 1:
            for group, base in zip(self.optimizer.param_groups, self._base_lrs):
                group["lr"] = base * factors[0]
            self.optimizer.step()
            return
        for group, base in zip(self.optimizer.param_groups, self._base_lrs):
            group["lr"] = base
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        before = [p.detach().clone() for p in params]
        self.optimizer.step()
        scale = torch.tensor(factors, device=self.device)
        with torch.no_grad():
            for p, old in zip(params, before):
                member = self._member_of.get(id(p))
                f = scale.view(-1, *[1] * (p.dim() - 1)) if member is None else scale[member]
                p.sub_(old).mul_(f.to(p.dtype)).add_(old)


def _member_share(value: Tensor, i: int, stacked: nn.Parameter) -> Tensor:
    """Member ``i``'s part of a stacked optimiser state entry: its slice of a per-weight tensor
    (exp_avg, exp_avg_sq), or a copy of a shared scalar (the step count)."""
    return value[i].clone() if value.dim() and value.shape == stacked.shape else value.clone()


def _check_members(members: Sequence[Trainer]) -> None:
    """Refuse members that differ in more than their seed, or that cannot train stacked."""
    if not members:
        raise NotStackableError("a stacked run needs at least one member")
    first = members[0]
    base = dataclasses.replace(first.config, seed=0)
    for member in members:
        if dataclasses.replace(member.config, seed=0) != base:
            raise NotStackableError("stacked members must share every training setting but the seed")
        if type(member.mixer) is not type(first.mixer) or member.device != first.device:
            raise NotStackableError("stacked members must share their mixer and device")
        if len(member.data.train) != len(first.data.train):
            raise NotStackableError("stacked members must train on splits of one size")
    if first.config.compile:
        raise NotStackableError("stacked runs do not compile (compile=False)")
