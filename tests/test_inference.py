"""``msmix.inference.predict``: the predictions every caller uses, equal to a plain eval-mode loop."""

from __future__ import annotations

from copy import deepcopy as copy_module

import torch

from msmix.inference import device_of, eval_mode, predict
from msmix.testing import TinyBackbone, tiny_dataset


def reference(model: TinyBackbone, split) -> torch.Tensor:
    """One forward pass per sample of a copy of the model in eval mode."""
    copy = copy_module(model).eval()
    with torch.no_grad():
        return torch.cat([copy(split.batch(torch.tensor([i]))).pred.reshape(-1) for i in range(len(split))])


def test_predictions_of_a_split_in_batches_equal_one_sample_at_a_time() -> None:
    torch.manual_seed(0)
    data = tiny_dataset(n=40, seed=3)
    model = TinyBackbone(data.spec, dropout=0.5)
    model.train()
    for batch_size in (1, 7, 64):
        got = predict(model, data.test, batch_size)
        assert got.dtype == torch.float32 and got.shape == (len(data.test),)
        torch.testing.assert_close(got, reference(model, data.test), atol=1e-6, rtol=1e-6)
    model.train()
    predict(model, data.test)
    assert model.training, "the model goes back to the mode it was in"


def test_a_batch_and_replacement_encode_fuse() -> None:
    torch.manual_seed(1)
    data = tiny_dataset(n=20, seed=4)
    model = TinyBackbone(data.spec)
    batch = data.valid.all()
    calls: list[str] = []

    def encode(b):
        calls.append("encode")
        return model.encode(b)

    def fuse(latents, masks):
        calls.append("fuse")
        return model.fuse(latents, masks)

    torch.testing.assert_close(predict(model, batch, encode=encode, fuse=fuse), predict(model, batch))
    assert calls == ["encode", "fuse"]
    assert not predict(model, batch).requires_grad


def test_eval_mode_and_device_helpers() -> None:
    module = torch.nn.Linear(2, 1)
    module.train()
    with eval_mode(module):
        assert not module.training
    assert module.training and device_of(module) == torch.device("cpu")
    assert device_of(torch.nn.ReLU()) == torch.device("cpu")
