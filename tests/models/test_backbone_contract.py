"""The Backbone contract, checked on every registered backbone with small toy-shaped batches.

``encode`` gives latents of ``latent_dims`` (with (B, T) masks where they are sequences), ``fuse``
gives (B, 1) predictions for any batch size (2B when originals and mixed samples go together),
``forward == fuse(encode())``, eval-mode predictions are per-sample, gradients reach every
trainable parameter, a training batch of one works, time-averaging backbones ignore padding frames,
and the published recipes and ``create``'s errors behave.
"""

from __future__ import annotations

from dataclasses import fields

import pytest
import torch
from torch import Tensor

from backbone_batches import toy_batch, toy_spec
from msmix import MODALITIES
from msmix.data import Batch
from msmix.data.spec import KINDS
from msmix.models import Backbone, available, backbone_class, create

BACKBONES = [name for name in available() if not name.startswith("_")]


def build(name: str, seed: int = 0) -> Backbone:
    torch.manual_seed(seed)
    return create(name, toy_spec())


def concat(a: dict[str, Tensor | None], b: dict[str, Tensor | None]) -> dict[str, Tensor | None]:
    return {m: None if a[m] is None else torch.cat([a[m], b[m]]) for m in a}


def test_tfn_and_lmf_are_registered() -> None:
    assert {"tfn", "lmf"} <= set(BACKBONES)


@pytest.mark.parametrize("name", BACKBONES)
def test_encode_matches_latent_dims_and_masks(name: str) -> None:
    model = build(name).eval()
    enc = model.encode(toy_batch(5))
    assert set(enc.latents) == set(MODALITIES) == set(model.latent_dims)
    for m, z in enc.latents.items():
        assert z.shape[0] == 5 and z.shape[-1] == model.latent_dims[m] and z.dim() in (2, 3)
        mask = enc.masks.get(m)
        if z.dim() == 2:
            assert mask is None
        elif mask is not None:
            assert mask.shape == z.shape[:2] and mask.dtype == torch.bool
    out = model.fuse(enc.latents, enc.masks)
    assert out.pred.shape == (5, 1) and torch.isfinite(out.pred).all()
    assert all(v.dim() == 0 for v in out.aux_losses.values())


@pytest.mark.parametrize("name", BACKBONES)
def test_forward_is_fuse_of_encode(name: str) -> None:
    model = build(name).eval()
    batch = toy_batch(4, seed=1)
    enc = model.encode(batch)
    torch.testing.assert_close(model(batch).pred, model.fuse(enc.latents, enc.masks).pred)


@pytest.mark.parametrize("name", BACKBONES)
def test_fuse_takes_twice_the_batch(name: str) -> None:
    model = build(name).eval()
    first, second = model.encode(toy_batch(4, seed=2)), model.encode(toy_batch(4, seed=3))
    both = model.fuse(concat(first.latents, second.latents), concat(first.masks, second.masks)).pred
    assert both.shape == (8, 1)
    torch.testing.assert_close(both[:4], model.fuse(first.latents, first.masks).pred, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(both[4:], model.fuse(second.latents, second.masks).pred, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", BACKBONES)
def test_eval_predictions_are_per_sample(name: str) -> None:
    model = build(name).eval()
    batch = toy_batch(4, seed=4)
    changed = batch.with_features({m: getattr(batch, m).clone() for m in MODALITIES})
    for m in MODALITIES:
        getattr(changed, m)[2] += 1.0
    before, after = model(batch).pred, model(changed).pred
    keep = [0, 1, 3]
    torch.testing.assert_close(after[keep], before[keep], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(after[2], before[2])


@pytest.mark.parametrize("name", BACKBONES)
def test_gradients_reach_every_trainable_parameter(name: str) -> None:
    model = build(name).train()
    out = model(toy_batch(6, seed=5))
    loss = out.pred.square().mean() + sum(out.aux_losses.values(), torch.zeros(()))
    loss.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    silent = [n for n, p in trainable if p.grad is None or not p.grad.abs().sum() > 0]
    assert silent == []


@pytest.mark.parametrize("name", BACKBONES)
def test_a_training_batch_of_one_works(name: str) -> None:
    model = build(name).train()
    pred = model(toy_batch(1, seed=6)).pred
    assert pred.shape == (1, 1) and torch.isfinite(pred).all()


@pytest.mark.parametrize("name", [n for n in BACKBONES if backbone_class(n).needs_time_average])
@pytest.mark.parametrize("padding", ["right", "left"])
def test_time_averaging_reads_valid_audio_and_vision_frames_only(name: str, padding: str) -> None:
    model = build(name).eval()
    clean = toy_batch(5, seed=7, padding=padding)
    noisy = toy_batch(5, seed=7, padding=padding, pad_value=5.0)
    noisy = clean.with_features({"audio": noisy.audio, "vision": noisy.vision})
    torch.testing.assert_close(model(noisy).pred, model(clean).pred)
    averaged = {}
    for m in ("audio", "vision"):
        x, mask = getattr(clean, m).double(), clean.mask(m)
        means = torch.stack([x[i][mask[i]].mean(0) for i in range(len(clean))])
        averaged[m] = means.float().unsqueeze(1)
    pre = Batch(text=clean.text, labels=clean.labels, lengths={}, **averaged)
    torch.testing.assert_close(model(pre).pred, model(clean).pred, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", BACKBONES)
def test_default_config_covers_every_kind(name: str) -> None:
    train_fields = {f.name for f in fields(pytest.importorskip("msmix.train.config").TrainConfig)}
    cls = backbone_class(name)
    for kind in KINDS:
        config = cls.default_config(kind)
        assert set(config) == {"model", "train"}
        assert set(config["train"]) <= train_fields
        assert {"batch_size", "lr", "loss", "patience"} <= set(config["train"])
        config["model"]["__scratch__"] = 1
        assert "__scratch__" not in cls.default_config(kind)["model"], "recipes must be returned as copies"
    assert cls.default_config("custom") == cls.default_config("mosi")


@pytest.mark.parametrize("name", BACKBONES)
def test_create_rejects_unknown_settings(name: str) -> None:
    with pytest.raises(TypeError, match="unknown settings \\['no_such_setting'\\]"):
        create(name, toy_spec(), no_such_setting=1)
