"""The per-epoch probe of MS-Mix's intensity predictors: what it records, that its gradient norms
equal an independent computation, and that a run trains exactly as it would without it."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

import msmix.train.trainer as trainer_module
from msmix.mixing.intensity_stats import STATS, intensity_stats
from msmix.mixing.objective import pointwise_loss
from msmix.mixing.sal import sal_batch_kl
from msmix.train.history import EpochRecord, history_frame
from msmix.train.intensity_probe import intensity_diagnostics

from tiny_setup import make_trainer, weights_of, without_timing

MODALITIES = ("text", "audio", "vision")


def test_an_msmix_run_records_the_probe_every_epoch(tiny_data):
    history = make_trainer(tiny_data, max_epochs=2).fit().history
    expected = {f"intensity_{m}_{s}" for m in MODALITIES for s in STATS}
    expected |= {f"grad_{m}_{t}" for m in MODALITIES for t in ("task", "mixup", "sal")}
    assert expected <= set(history.columns)
    assert history[sorted(expected - {c for c in expected if c.endswith("corr")})].notna().all().all()
    assert (history["grad_text_sal"] > 0).all() and (history["grad_text_task"] > 0).all()


def test_mixers_without_predictors_record_nothing(tiny_data):
    history = make_trainer(tiny_data, mixer="mixup", max_epochs=1).fit().history
    assert not [c for c in history.columns if c.startswith(("intensity_", "grad_"))]


def test_the_probe_changes_nothing_in_training(tiny_data, monkeypatch):
    probed = make_trainer(tiny_data, max_epochs=3, patience=10)
    with_probe = probed.fit()
    monkeypatch.setattr(trainer_module, "intensity_diagnostics", lambda *args: {})
    plain = make_trainer(tiny_data, max_epochs=3, patience=10)
    without_probe = plain.fit()
    before, after = weights_of(probed.model), weights_of(plain.model)
    assert all(torch.equal(before[k], after[k]) for k in before)
    columns = [c for c in without_timing(without_probe.history).columns]
    pd.testing.assert_frame_equal(with_probe.history[columns], without_timing(without_probe.history))
    assert with_probe.test_metrics == without_probe.test_metrics


def _probe_batch(trainer):
    train = trainer.data.train
    return train.batch(torch.arange(min(trainer.config.batch_size, len(train))))


def test_gradient_norms_equal_an_independent_computation(tiny_data):
    trainer = make_trainer(tiny_data, max_epochs=1)
    trainer.fit()
    got = intensity_diagnostics(trainer.model, trainer.mixer, trainer.data, trainer.config)
    model, mixer, batch = trainer.model.eval(), trainer.mixer.eval(), _probe_batch(trainer)
    encoded = model.encode(batch)
    latents = [encoded.latents[m] for m in MODALITIES]
    # task: the originals' loss alone (in eval mode no row of the fused batch affects another)
    pred = model.fuse(encoded.latents, encoded.masks).pred.reshape(-1)
    task = pointwise_loss(pred, batch.labels, trainer.config.loss).mean()
    # SAL: batch KL of the predictors' intensities, times its weight in the objective
    sal = trainer.config.objective.sal_weight * sal_batch_kl(
        mixer.intensities(encoded.latents, encoded.masks), batch.labels, tiny_data.spec.label_range,
        scale=mixer.config.sal_scale)
    for term, loss in (("task", task), ("sal", sal)):
        grads = torch.autograd.grad(loss, latents, retain_graph=True, allow_unused=True)
        for m, g in zip(MODALITIES, grads):
            want = 0.0 if g is None else float(g.norm())
            assert got[f"grad_{m}_{term}"] == pytest.approx(want, rel=1e-4, abs=1e-7), (term, m)


def test_validation_stats_equal_an_independent_computation(tiny_data):
    trainer = make_trainer(tiny_data, max_epochs=1)
    last = trainer.fit().history.iloc[-1]
    with torch.no_grad():
        encoded = trainer.model.eval().encode(trainer.data.valid.all())
        want = intensity_stats(trainer.mixer.eval().intensities(encoded.latents, encoded.masks),
                               trainer.data.valid.labels, tiny_data.spec.label_range)
    for key, value in want.items():
        assert last[f"intensity_{key}"] == pytest.approx(value, rel=1e-5, abs=1e-6, nan_ok=True), key


def test_without_sal_its_gradient_is_zero(tiny_data):
    history = make_trainer(tiny_data, max_epochs=1, mixer_config={"sal": "none"}).fit().history
    assert (history[[f"grad_{m}_sal" for m in MODALITIES]] == 0).all().all()
    assert (history["grad_text_task"] > 0).all()


def test_records_without_diagnostics_still_load():
    stored = {"epoch": 1, "train_loss": 1.0, "train_task": 1.0, "train_mixup": 0.0, "train_aux": 0.0,
              "valid_loss": 1.0, "valid_metrics": {"MAE": 1.0}, "seconds": 0.1, "lr": 1e-3, "best": True}
    record = EpochRecord.from_dict(stored)
    assert record.diagnostics == {}
    again = EpochRecord.from_dict({**stored, "diagnostics": {"intensity_text_corr": 0.5}})
    assert history_frame([record, again])["intensity_text_corr"].tolist()[1] == 0.5


def test_detached_intensities_keep_sal_off_the_encoders(tiny_data):
    trainer = make_trainer(tiny_data, max_epochs=1, mixer_config={"detach_intensity": True})
    before = weights_of(trainer.mixer)
    history = trainer.fit().history
    assert (history[[f"grad_{m}_sal" for m in MODALITIES]] == 0).all().all()
    after = weights_of(trainer.mixer)
    assert any(not torch.equal(before[k], after[k]) for k in before), "SAL must still train the predictors"


def test_detach_intensity_must_be_a_bool():
    from msmix.mixing.msmix import MSMixConfig

    with pytest.raises(ValueError, match="detach_intensity must be True or False"):
        MSMixConfig(detach_intensity="yes")
