"""Trainer behaviour: determinism, exact resume, checkpoints, stopping, accumulation, clipping."""

from __future__ import annotations

import math
import threading

import pandas as pd
import pytest
import torch

import msmix.mixing
from msmix.train import EpochRecord, Trainer
from msmix.train.checkpoint import BEST, HISTORY, LAST
from msmix.metrics import MOSI_KEYS
from tiny_setup import make_trainer, weights_of, without_timing


def assert_same_run(a, b) -> None:
    pd.testing.assert_frame_equal(without_timing(a.history), without_timing(b.history))
    assert a.test_metrics == b.test_metrics
    assert a.valid_metrics == b.valid_metrics
    assert (a.best_epoch, a.epochs) == (b.best_epoch, b.epochs)


def test_same_seed_gives_identical_history_and_metrics(tiny_data):
    first = make_trainer(tiny_data).fit()
    second = make_trainer(tiny_data).fit()
    assert_same_run(first, second)
    other = make_trainer(tiny_data, seed=7).fit()
    assert not other.history["train_loss"].equals(first.history["train_loss"])


def test_history_table_and_result_fields(tiny_data):
    seen: list[EpochRecord] = []
    trainer = make_trainer(tiny_data)
    trainer.add_callback("on_epoch_end", lambda t, record: seen.append(record))
    result = trainer.fit()
    assert [r.epoch for r in seen] == [1, 2, 3] == result.history["epoch"].tolist()
    for column in ("train_loss", "train_task", "train_mixup", "train_aux", "valid_loss", "seconds", "lr", "best"):
        assert column in result.history
    assert {f"valid_{k}" for k in MOSI_KEYS} <= set(result.history.columns)
    assert set(result.test_metrics) == set(MOSI_KEYS)
    assert result.history["train_mixup"].gt(0).all() and result.history["train_aux"].gt(0).all()
    expected_total = result.history.train_task + 0.7 * result.history.train_mixup + 0.5 * result.history.train_aux
    assert result.history.train_loss.tolist() == pytest.approx(expected_total.tolist(), rel=1e-5)
    assert result.epochs == 3 and not result.interrupted
    assert result.train_seconds >= result.history["seconds"].sum()


def test_unknown_callback_event_is_refused(tiny_data):
    with pytest.raises(ValueError, match="on_epoch_end"):
        make_trainer(tiny_data).add_callback("on_epoch_start", print)


@pytest.mark.parametrize("name", msmix.mixing.available())
def test_every_mixer_trains_an_epoch(tiny_data, name):
    result = make_trainer(tiny_data, mixer=name, max_epochs=1).fit()
    assert result.epochs == 1
    assert math.isfinite(result.history["train_loss"].iloc[0])
    assert math.isfinite(result.test_metrics["MAE"])


def test_mixer_parameters_are_trained(tiny_data):
    trainer = make_trainer(tiny_data, mixer="msmix", max_epochs=1)
    before = weights_of(trainer.mixer)
    assert before, "MS-Mix should own intensity predictors"
    trainer.fit()
    after = weights_of(trainer.mixer)
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_resume_after_a_crash_equals_an_uninterrupted_run(tiny_data, tmp_path):
    full = make_trainer(tiny_data, run_dir=tmp_path / "full", max_epochs=4, patience=10).fit()

    def crash(trainer, record):
        if record.epoch == 2:
            raise KeyboardInterrupt

    crashed = make_trainer(tiny_data, run_dir=tmp_path / "run", max_epochs=4, patience=10)
    crashed.add_callback("on_epoch_end", crash)
    with pytest.raises(KeyboardInterrupt):
        crashed.fit()
    resumed = make_trainer(tiny_data, run_dir=tmp_path / "run", max_epochs=4, patience=10).fit(resume=True)
    assert_same_run(full, resumed)


def test_resume_after_stop_mid_epoch_equals_an_uninterrupted_run(tiny_data, tmp_path):
    full = make_trainer(tiny_data, max_epochs=3).fit()
    trainer = make_trainer(tiny_data, run_dir=tmp_path, max_epochs=3)
    trainer.add_callback("on_batch_end", lambda t, step, loss: t.stop() if step == 6 else None)  # epoch 2, batch 2
    stopped = trainer.fit()
    assert stopped.interrupted and stopped.epochs == 1
    resumed = make_trainer(tiny_data, run_dir=tmp_path, max_epochs=3).fit(resume=True)
    assert not resumed.interrupted
    assert_same_run(full, resumed)


def test_resuming_a_finished_run_trains_no_further(tiny_data, tmp_path):
    done = make_trainer(tiny_data, run_dir=tmp_path).fit()
    again = make_trainer(tiny_data, run_dir=tmp_path)
    steps: list[int] = []
    again.add_callback("on_batch_end", lambda t, step, loss: steps.append(step))
    result = again.fit(resume=True)
    assert steps == []
    assert_same_run(done, result)


def test_resume_refuses_other_settings(tiny_data, tmp_path):
    make_trainer(tiny_data, run_dir=tmp_path, max_epochs=1).fit()
    with pytest.raises(ValueError, match="lr"):
        make_trainer(tiny_data, run_dir=tmp_path, lr=0.5).fit(resume=True)


def test_resume_may_train_longer_unless_the_schedule_depends_on_it(tiny_data, tmp_path):
    make_trainer(tiny_data, run_dir=tmp_path / "a", max_epochs=2, patience=10).fit()
    longer = make_trainer(tiny_data, run_dir=tmp_path / "a", max_epochs=3, patience=10).fit(resume=True)
    assert_same_run(make_trainer(tiny_data, max_epochs=3, patience=10).fit(), longer)
    make_trainer(tiny_data, run_dir=tmp_path / "b", max_epochs=2, scheduler="cosine").fit()
    with pytest.raises(ValueError, match="max_epochs"):
        make_trainer(tiny_data, run_dir=tmp_path / "b", max_epochs=3, scheduler="cosine").fit(resume=True)


def test_stop_from_another_thread(tiny_data):
    trainer = make_trainer(tiny_data, max_epochs=50, patience=50)
    reached, stopped = threading.Event(), threading.Event()

    def wait_for_stop(t, step, loss):
        if step == 3:
            reached.set()
            assert stopped.wait(timeout=30)

    def stopper():
        reached.wait(timeout=30)
        trainer.stop()
        stopped.set()

    trainer.add_callback("on_batch_end", wait_for_stop)
    thread = threading.Thread(target=stopper)
    thread.start()
    result = trainer.fit()
    thread.join()
    assert result.interrupted and result.epochs == 0 and trainer.step == 3
    assert result.test_metrics == {} and result.valid_metrics == {}  # no finished epoch: nothing evaluated


def test_checkpoints_hold_only_tensors_and_plain_types(tiny_data, tmp_path):
    make_trainer(tiny_data, run_dir=tmp_path, scheduler="plateau").fit()
    assert {p.name for p in tmp_path.iterdir()} == {LAST, BEST, HISTORY}

    def check(value, where):
        if isinstance(value, dict):
            for k, v in value.items():
                assert isinstance(k, (str, int)), f"{where}: key {k!r}"
                check(v, f"{where}.{k}")
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                check(v, f"{where}[{i}]")
        else:
            assert value is None or isinstance(value, (torch.Tensor, str, int, float, bool)), f"{where}: {type(value)}"

    for name in (LAST, BEST):
        state = torch.load(tmp_path / name, weights_only=True)
        check(state, name)
    last = torch.load(tmp_path / LAST, weights_only=True)
    assert {"model", "mixer", "optimizer", "scheduler", "rng", "history", "early_stopping"} <= set(last)
    assert len(last["history"]) == 3


def test_checkpoint_writes_leave_no_temporary_files(tiny_data, tmp_path):
    make_trainer(tiny_data, run_dir=tmp_path, max_epochs=2).fit()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


class ScriptedValidation(Trainer):
    """A Trainer whose validation losses follow a script (what early stopping sees)."""

    script: list[float] = []

    def _validate(self):
        loss, metrics = super()._validate()
        return self.script[len(self.records)], metrics


@pytest.mark.parametrize(
    ("losses", "patience", "best", "epochs"),
    [
        ([3.0, 2.0, 2.5, 2.4, 2.2, 1.0, 1.0], 3, 2, 5),  # 3 epochs without improvement after epoch 2
        ([3.0, 2.0, 1.9, 1.8, 1.7, 1.6, 1.5], 2, 7, 7),  # always improving: the cap ends it
        ([1.0, 1.0 - 1e-7, 2.0, 2.0], 2, 1, 3),  # an improvement below min_delta is none
        ([float("nan"), 2.0, 3.0, 3.0, 3.0], 2, 2, 4),  # NaN never improves
    ],
)
def test_early_stopping_follows_the_validation_losses(tiny_data, losses, patience, best, epochs):
    ScriptedValidation.script = losses
    snapshots = {}
    trainer = make_trainer(tiny_data, trainer_class=ScriptedValidation, max_epochs=7, patience=patience)
    trainer.add_callback("on_epoch_end", lambda t, r: snapshots.__setitem__(r.epoch, weights_of(t.model)))
    result = trainer.fit()
    assert (result.best_epoch, result.epochs) == (best, epochs)
    assert result.stopped_early == (epochs < 7)
    assert result.history["best"].tolist() == [e == best or (e < best and _improves(losses, e)) for e in range(1, epochs + 1)]
    final = weights_of(trainer.model)
    assert all(torch.equal(final[k], snapshots[best][k]) for k in final), "best weights not restored"
    assert any(not torch.equal(final[k], snapshots[epochs][k]) for k in final) or best == epochs


def _improves(losses: list[float], epoch: int) -> bool:
    """Reference rule: epoch improves on every earlier epoch by at least 1e-6 (NaN never does)."""
    value = losses[epoch - 1]
    earlier = [v for v in losses[: epoch - 1] if not math.isnan(v)]
    return not math.isnan(value) and all(value <= v - 1e-6 for v in earlier)


def test_gradient_accumulation_matches_one_larger_batch(tiny_data):
    # No dropout and a mixer-free objective: two half batches accumulate the large batch's gradient.
    # Adam is almost blind to a gradient's scale; its L2 weight decay is not, so a wrong scale shows.
    big = make_trainer(tiny_data, mixer="none", dropout=0.0, batch_size=16, max_epochs=2, weight_decay=0.5)
    small = make_trainer(tiny_data, mixer="none", dropout=0.0, batch_size=8, grad_accum=2, max_epochs=2, weight_decay=0.5)
    big.fit()
    small.fit()
    a, b = weights_of(big.model), weights_of(small.model)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)
    plain = make_trainer(tiny_data, mixer="none", dropout=0.0, batch_size=8, max_epochs=2, weight_decay=0.5)
    plain.fit()
    assert any(not torch.allclose(a[k], weights_of(plain.model)[k], atol=1e-4) for k in a), "accumulation changed nothing"


def _gradients(trainer: Trainer) -> list[torch.Tensor]:
    return [p.grad.detach().clone() for p in trainer._params if p.grad is not None]


@pytest.mark.parametrize("mode", ["clip_value", "clip_norm"])
def test_gradients_are_clipped(tiny_data, mode):
    bound = 1e-3
    def largest(trainer: Trainer) -> list[float]:
        seen: list[float] = []

        def record(t, step, loss):
            grads = _gradients(t)
            if mode == "clip_value":
                seen.append(max(float(g.abs().max()) for g in grads))
            else:
                seen.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))

        trainer.add_callback("on_batch_end", record)
        trainer.fit()
        return seen

    unclipped = largest(make_trainer(tiny_data, max_epochs=1))
    clipped = largest(make_trainer(tiny_data, max_epochs=1, **{mode: bound}))
    assert max(unclipped) > 10 * bound
    assert max(clipped) <= bound * (1 + 1e-5)


def test_predict_and_evaluate(tiny_data):
    trainer = make_trainer(tiny_data, max_epochs=1)
    trainer.fit()
    metrics, pred = trainer.evaluate("test")
    assert pred.shape == (len(tiny_data.test),)
    assert torch.equal(trainer.predict(tiny_data.test), pred)
    assert torch.allclose(trainer.predict(tiny_data.test.batch(torch.arange(5))), pred[:5], atol=1e-6)
    assert set(metrics) == set(MOSI_KEYS)


def test_fit_twice_without_resume_is_refused(tiny_data):
    trainer = make_trainer(tiny_data, max_epochs=1)
    trainer.fit()
    with pytest.raises(RuntimeError, match="already trained"):
        trainer.fit()


@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
def test_compile_mode_is_the_mode_encode_and_fuse_are_compiled_in(tiny_data, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    compiled = []
    monkeypatch.setattr(torch, "compile", lambda fn, mode: compiled.append((fn.__name__, mode)) or fn)
    make_trainer(tiny_data, compile=True, compile_mode=mode)
    assert compiled == [("encode", mode), ("fuse", mode)]
