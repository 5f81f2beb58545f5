"""The training forward pass against a step-by-step re-derivation (float64 loops for the losses)."""

from __future__ import annotations

import pytest
import torch

import msmix.mixing
from msmix.data import Batch
from msmix.mixing.objective import ObjectiveConfig
from msmix.testing import TinyBackbone
from msmix.train.step import concat_masks, mixed_batch, training_loss


def reference_total(pred_orig, labels, pred_mixed, label_weights, aux, config: ObjectiveConfig) -> float:
    """task + w_mix * mean_r sum_i W[r, i] l(p_r, y_i) + w_sal * aux, by loops in float64."""
    power = 1 if config.loss == "l1" else 2
    p, y, q = (t.detach().double().tolist() for t in (pred_orig, labels, pred_mixed))
    w = label_weights.detach().double().tolist()
    task = sum(abs(a - b) ** power for a, b in zip(p, y)) / len(y)
    k = len(q)
    mixup = 0.0
    for r in range(k):
        mixup += sum(w[r][i] * abs(q[r] - y[i]) ** power for i in range(len(y)))
    mixup = mixup / k if k else 0.0
    return task + config.mix_weight * mixup + config.sal_weight * float(aux.detach())


@pytest.fixture
def setting(tiny_data):
    torch.manual_seed(0)
    model = TinyBackbone(tiny_data.spec).eval()
    batch = tiny_data.train.batch(torch.arange(12))
    return model, batch


@pytest.mark.parametrize("loss", ["l1", "mse"])
def test_latent_mixer_step_matches_separate_encode_mix_fuse(setting, loss):
    model, batch = setting
    mixer = msmix.mixing.create("msmix", dims=model.latent_dims, label_range=3.0)
    config = ObjectiveConfig(loss=loss)
    parts = training_loss(model, mixer, batch, config, torch.Generator().manual_seed(7))

    enc = model.encode(batch)
    mix = mixer(enc.latents, batch.labels, generator=torch.Generator().manual_seed(7), masks=enc.masks)
    assert mix.k > 0 and mix.masks["audio"] is not None
    pred_orig = model.fuse(enc.latents, enc.masks).pred.reshape(-1)
    pred_mixed = model.fuse(mix.mixed, mix.masks).pred.reshape(-1)  # fused apart, not stacked
    expected = reference_total(pred_orig, batch.labels, pred_mixed, mix.weights["label"], mix.aux_loss, config)
    assert float(parts.total.detach()) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert float(parts.aux.detach()) == pytest.approx(float(mix.aux_loss.detach()), rel=1e-6)


def test_input_mixer_encodes_mixed_inputs_with_union_lengths(setting):
    model, batch = setting
    mixer = msmix.mixing.create("mixup", dims=model.latent_dims, label_range=3.0)
    assert mixer.point == "input"
    config = ObjectiveConfig()
    parts = training_loss(model, mixer, batch, config, torch.Generator().manual_seed(3))

    mix = mixer(batch.features(), batch.labels, generator=torch.Generator().manual_seed(3), masks=batch.masks())
    lengths = batch.lengths["audio"]
    union = torch.maximum(lengths[mix.index_a], lengths[mix.index_b])  # right padding: valid where a parent is
    rebuilt = Batch(text=mix.mixed["text"], audio=mix.mixed["audio"], vision=mix.mixed["vision"],
                    labels=mix.labels, lengths={"audio": union})
    pred_orig = model(batch).pred.reshape(-1)
    pred_mixed = model(rebuilt).pred.reshape(-1)
    expected = reference_total(pred_orig, batch.labels, pred_mixed, mix.weights["label"], mix.aux_loss, config)
    assert float(parts.total.detach()) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert torch.equal(mixed_batch(batch, mix).lengths["audio"], union)


def test_no_mixing_scores_the_originals_only(setting):
    model, batch = setting
    mixer = msmix.mixing.create("none", dims=model.latent_dims)
    parts = training_loss(model, mixer, batch, ObjectiveConfig(), None)
    pred = model(batch).pred.reshape(-1)
    assert float(parts.total.detach()) == pytest.approx(float((pred - batch.labels).abs().mean().detach()), rel=1e-6)
    assert float(parts.mixup) == 0.0


def test_concat_masks_fills_a_missing_side_with_valid_frames():
    a = torch.tensor([[True, False, False]])
    b = torch.tensor([[True, True, False], [True, True, True]])
    out = concat_masks({"audio": a, "text": None}, {"audio": None, "text": b}, {"audio": (1, 2, 3), "text": (1, 2, 3)})
    assert out["audio"].tolist() == [[True, False, False], [True, True, True], [True, True, True]]
    assert out["text"].tolist() == [[True, True, True], [True, True, False], [True, True, True]]
    assert concat_masks({"vision": None}, {}, {"vision": (2, 1, 1)}) == {"vision": None}
