"""Where panels get their model, data and batch from."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from workbench.sources import encode_sample, load_data, predict_split, resolve_mixer, resolve_model


def test_encode_sample_is_seeded_sorted_by_label_and_encoded(backbone, dataset) -> None:
    backbone.train()
    first = encode_sample(backbone, dataset, "train", size=12, seed=3)
    again = encode_sample(backbone, dataset, "train", size=12, seed=3)
    other = encode_sample(backbone, dataset, "train", size=12, seed=4)
    assert backbone.training, "the model's mode is restored"
    assert first.ids == again.ids and first.ids != other.ids
    assert torch.all(first.labels[1:] >= first.labels[:-1])
    positions = first.batch.index.tolist()
    assert first.texts == [dataset.train.raw_text[i] for i in positions]
    assert torch.equal(first.labels, dataset.train.labels[positions])
    backbone.eval()
    with torch.no_grad():
        expected = backbone.encode(dataset.train.batch(torch.tensor(positions)))
    for m, z in expected.latents.items():
        torch.testing.assert_close(first.latents[m], z)
    with pytest.raises(ValueError, match="at least 2"):
        encode_sample(backbone, dataset, size=1)


def test_resolve_model_forms(backbone, dataset) -> None:
    assert resolve_model(backbone, dataset.spec).model is backbone
    fresh = resolve_model("lmf", dataset.spec, seed=5)
    again = resolve_model("lmf", dataset.spec, seed=5)
    assert "fresh lmf" in fresh.description
    for p, q in zip(fresh.model.parameters(), again.model.parameters()):
        assert torch.equal(p, q)
    run = SimpleNamespace(model=backbone, mixer=None, backbone="tiny", mixer_name="none")
    assert resolve_model(run, dataset.spec).description == "trained tiny with none"
    with pytest.raises(ValueError, match="train or load one first"):
        resolve_model(SimpleNamespace(model=None), dataset.spec)
    with pytest.raises(TypeError, match="backbone name"):
        resolve_model(3, dataset.spec)


def test_resolve_mixer_refuses_input_mixers(backbone, dataset) -> None:
    source = resolve_model(backbone, dataset.spec)
    assert resolve_mixer(None, source, dataset.spec).name == "msmix"
    with pytest.raises(ValueError, match="mixes inputs"):
        resolve_mixer("mixup", source, dataset.spec)


def test_load_data_follows_the_backbone(dataset) -> None:
    assert load_data(dataset) is dataset
    averaged = load_data("toy", "lmf")
    assert averaged.spec.synthetic and averaged.train.audio.shape[1] == 1
    with pytest.raises(TypeError, match="Dataset"):
        load_data(42)


def test_predict_split_matches_the_forward_pass(backbone, dataset) -> None:
    backbone.eval()
    with torch.no_grad():
        expected = backbone(dataset.valid.all()).pred.reshape(-1)
    torch.testing.assert_close(predict_split(backbone, dataset.valid, batch_size=5), expected)
