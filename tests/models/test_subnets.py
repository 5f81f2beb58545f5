"""The sub-networks shared by TFN and LMF: time averaging, the text LSTM with and without lengths,
the audio / vision MLP, and the latent checks."""

from __future__ import annotations

import pytest
import torch

from msmix.data.batch import lengths_to_mask
from msmix.models.subnets import FeatureMLP, TextLSTM, lstm_states, time_average, valid_frames_first, vector_latents


def loop_average(x: torch.Tensor, lengths: torch.Tensor, padding: str) -> torch.Tensor:
    """Float64 mean of each sample's valid frames, found by walking the time axis."""
    b, t, d = x.shape
    out = torch.zeros(b, d, dtype=torch.float64)
    for i in range(b):
        n = int(lengths[i])
        frames = range(n) if padding == "right" else range(t - n, t)
        for s in frames:
            out[i] += x[i, s].double()
        out[i] /= max(n, 1)
    return out


@pytest.mark.parametrize("padding", ["right", "left"])
def test_time_average_uses_valid_frames_only(padding: str) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 7, 3, generator=g)
    lengths = torch.tensor([7, 1, 3, 0, 5])
    got = time_average(x, lengths_to_mask(lengths, 7, padding))
    torch.testing.assert_close(got.double(), loop_average(x, lengths, padding), rtol=1e-6, atol=1e-6)
    assert torch.equal(got[3], torch.zeros(3)), "a sample with no valid frame averages to 0"


def test_time_average_without_mask_and_pre_averaged_input() -> None:
    x = torch.randn(4, 6, 3)
    torch.testing.assert_close(time_average(x, None), x.double().mean(1).float())
    pre = torch.randn(4, 1, 3)
    assert torch.equal(time_average(pre, torch.zeros(4, 1, dtype=torch.bool)), pre[:, 0])
    with pytest.raises(ValueError, match="batch, time, features"):
        time_average(torch.randn(4, 3), None)


def test_valid_frames_first_rotates_left_padding() -> None:
    x = torch.arange(2 * 5, dtype=torch.float32).view(2, 5, 1)
    out = valid_frames_first(x, torch.tensor([2, 5]))
    assert out[0, :, 0].tolist() == [3.0, 4.0, 0.0, 1.0, 2.0]
    assert torch.equal(out[1], x[1])


def test_text_lstm_without_lengths_keeps_the_state_after_every_step() -> None:
    torch.manual_seed(0)
    net = TextLSTM(6, 5, 3).eval()
    x = torch.randn(4, 7, 6)
    _, (h, _) = net.rnn(x)
    torch.testing.assert_close(net(x), net.proj(h[0]))
    changed = x.clone()
    changed[:, -1] += 1.0
    assert not torch.allclose(net(changed), net(x)), "MMSA's subnet reads the padded steps too"


@pytest.mark.parametrize("padding", ["right", "left"])
def test_text_lstm_with_lengths_equals_running_each_valid_sequence_alone(padding: str) -> None:
    torch.manual_seed(1)
    net = TextLSTM(6, 5, 3).eval()
    t = 7
    lengths = torch.tensor([7, 1, 4, 0, 6])
    valid = lengths_to_mask(lengths, t, padding)
    x = torch.where(valid.unsqueeze(-1), torch.randn(5, t, 6), torch.full((5, t, 6), 9.0))
    got = net(x, lengths, padding)
    for i, n in enumerate(lengths.tolist()):
        frames = x[i, valid[i]] if n > 0 else x[i, :1]
        _, (h, _) = net.rnn(frames.unsqueeze(0))
        torch.testing.assert_close(got[i], net.proj(h[0, 0]), rtol=1e-5, atol=1e-6)


def test_feature_mlp_layers_and_batch_of_one() -> None:
    torch.manual_seed(2)
    net = FeatureMLP(4, 6, dropout=0.0).train()
    x = torch.randn(8, 4)
    expected = (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + net.norm.eps)
    for layer in net.layers:
        expected = layer(expected)
    torch.testing.assert_close(net(x), expected, rtol=1e-5, atol=1e-5)
    assert (net(x) >= 0).all(), "the last layer is followed by a ReLU"
    mean, var = net.norm.running_mean.clone(), net.norm.running_var.clone()
    one = net(x[:1])
    assert one.shape == (1, 6)
    assert torch.equal(net.norm.running_mean, mean) and torch.equal(net.norm.running_var, var)
    torch.testing.assert_close(one, net.eval()(x[:1]))


def test_vector_latents_errors_name_what_was_expected() -> None:
    dims = {"text": 3, "audio": 2, "vision": 4}
    good = {m: torch.zeros(5, d) for m, d in dims.items()}
    assert [z.shape[1] for z in vector_latents(good, dims, "X")] == [3, 2, 4]
    with pytest.raises(KeyError, match="missing \\['vision'\\]"):
        vector_latents({"text": good["text"], "audio": good["audio"]}, dims, "X")
    with pytest.raises(ValueError, match=r"latents\['audio'\] must be \(5, 2\), found \(5, 3\)"):
        vector_latents({**good, "audio": torch.zeros(5, 3)}, dims, "X")
    with pytest.raises(ValueError, match=r"must be \(5, 4\), found \(5, 7, 4\)"):
        vector_latents({**good, "vision": torch.zeros(5, 7, 4)}, dims, "X")


def test_lstm_states_match_nn_lstm_values_and_gradients() -> None:
    torch.manual_seed(3)
    rnn = torch.nn.LSTM(6, 5, batch_first=True).double()
    x = torch.randn(4, 7, 6, dtype=torch.float64)
    expected, _ = rnn(x)
    expected.square().sum().backward()
    reference_grads = [p.grad.clone() for p in rnn.parameters()]
    rnn.zero_grad()
    got = lstm_states(x, rnn)
    got.square().sum().backward()
    torch.testing.assert_close(got, expected)
    for p, g in zip(rnn.parameters(), reference_grads):
        torch.testing.assert_close(p.grad, g)


def test_text_lengths_come_from_the_tokens_when_the_data_carry_none() -> None:
    """MMSA files have no text lengths, only ``text_bert``'s attention mask: use_text_lengths reads it."""
    from dataclasses import replace

    from msmix.models import create
    from msmix.testing.backbone_batches import backbone_batch, backbone_spec

    spec = backbone_spec()
    batch = backbone_batch(5, seed=3, spec=spec, with_text_bert=True)
    assert "text" not in batch.lengths
    with_lengths = replace(batch, lengths={**batch.lengths, "text": batch.text_bert[:, 1].sum(dim=1)})
    for name in ("tfn", "lmf"):
        torch.manual_seed(0)
        model = create(name, spec, use_text_lengths=True).eval()
        from_tokens = model.encode(batch).latents["text"]
        torch.testing.assert_close(from_tokens, model.encode(with_lengths).latents["text"])
        torch.manual_seed(0)
        every_step = create(name, spec, use_text_lengths=False).eval().encode(batch).latents["text"]
        assert not torch.allclose(from_tokens, every_step)  # the same weights read the padding too
        with pytest.raises(ValueError, match="use_text_lengths needs each sample's text length"):
            model.encode(replace(batch, text_bert=None))
