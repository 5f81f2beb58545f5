"""GLoMo: parameter counts (a layer formula and the reference's counts), segment pooling, padding,
the noisy top-2 gating and balancing loss against loops, latent mixing, gradients, text encoder, recipes."""

from __future__ import annotations

import math

import pytest
import torch

from msmix.mixing.base import create as create_mixer
from msmix.models import create
from msmix.models.glomo import GLoMo, NoisyTopKMoE, segment_max, stack_valid_frames
from msmix.testing import backbone_batch, backbone_spec, write_tiny_bert

DIMS = {
    "mosi": {"text": 768, "audio": 5, "vision": 20},
    "mosei": {"text": 768, "audio": 74, "vision": 35},
    "sims": {"text": 768, "audio": 33, "vision": 709},
}
REFERENCE_COUNTS = {"mosi": 913_415, "mosei": 7_057_799, "sims": 1_016_663}
"""The authors' GLoMo built with these input sizes and each recipe's d / layers (16 heads, 3
granularities, 3 experts), counting every parameter but its BERT's embeddings and encoder."""

TINY = {"hidden": 8, "layers": 1, "heads": 2, "fusion_ff": 16}


def linear(i: int, o: int) -> int:
    return i * o + o


def expected_params(dims: dict[str, int], d: int, layers: int, g: int = 3, e: int = 3, ff: int = 2048) -> int:
    """GLoMo's parameters, layer by layer."""
    block = linear(d, 3 * d) + linear(d, d) + linear(d, 4 * d) + linear(4 * d, d) + 2 * 2 * d
    encoders = sum(3 * dims[m] * d + layers * block + 2 * d for m in ("audio", "vision"))
    text = linear(dims["text"], d) + 3 * dims["text"] * d
    moe = 2 * g * d * e + e * (linear(g * d, d) + linear(d, d))
    fusion_layer = linear(d, 3 * d) + linear(d, d) + linear(d, ff) + linear(ff, d) + 2 * 2 * d
    attention = linear(3 * d, d) + linear(d, 3)
    head = 4 * linear(2 * d, d) + linear(2 * d, 1)
    return encoders + text + 3 * moe + 2 * fusion_layer + 2 * attention + head


def tiny(seed: int = 0, **overrides) -> GLoMo:
    torch.manual_seed(seed)
    return create("glomo", backbone_spec("mosi"), **{**TINY, **overrides})


@pytest.mark.parametrize("kind", ["mosi", "mosei", "sims"])
def test_parameter_count_matches_formula_and_reference(kind: str) -> None:
    model = create("glomo", backbone_spec(kind, dims=DIMS[kind]))
    c = model.config
    n = sum(p.numel() for p in model.parameters())
    assert n == expected_params(DIMS[kind], c.hidden, c.layers)
    assert n == REFERENCE_COUNTS[kind]
    assert model.latent_dims == {m: c.hidden for m in ("text", "audio", "vision")}


def test_recipes() -> None:
    mosi, mosei, sims = (GLoMo.default_config(k) for k in ("mosi", "mosei", "sims"))
    assert (mosi["model"]["hidden"], mosi["model"]["layers"]) == (48, 4)
    assert (mosei["model"]["hidden"], mosei["model"]["layers"]) == (192, 3)
    assert mosi["train"] | {} == sims["train"] and mosi["model"] == sims["model"]
    assert (mosi["train"]["lr"], mosi["train"]["batch_size"]) == (4e-5, 240)
    assert (mosei["train"]["lr"], mosei["train"]["batch_size"]) == (1e-5, 64)
    for r in (mosi, mosei):
        assert r["train"]["optimizer"] == "adamw" and r["train"]["loss"] == "l1"
        m = r["model"]
        assert (m["granularities"], m["experts"], m["top_k"], m["moe_weight"], m["heads"]) == (3, 3, 2, 1e-2, 16)
    assert GLoMo.default_config("custom") == mosi
    with pytest.raises(ValueError, match="heads"):
        tiny(heads=3)
    with pytest.raises(ValueError, match="top_k"):
        tiny(top_k=4)


def test_segment_max_is_adaptive_max_pool_over_valid_frames() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 11, 5, generator=g, dtype=torch.float64)
    full = torch.ones(4, 11, dtype=torch.bool)
    expected = torch.nn.AdaptiveMaxPool1d(3)(x.transpose(1, 2)).transpose(1, 2)
    torch.testing.assert_close(segment_max(x, full, 3), expected)
    valid = torch.rand(4, 11, generator=g) > 0.4
    valid[1] = False
    valid[2] = False
    valid[2, 7] = True  # one valid frame: every segment repeats it
    got = segment_max(x, valid, 3)
    for i in range(4):
        frames = x[i][valid[i]]
        if len(frames) == 0:
            assert torch.equal(got[i], torch.zeros_like(got[i]))
        else:
            ref = torch.nn.AdaptiveMaxPool1d(3)(frames.T.unsqueeze(0))[0].T
            torch.testing.assert_close(got[i], ref)


def test_stack_valid_frames_joins_the_valid_frames_of_two_layers() -> None:
    a = torch.arange(1.0, 5.0).view(1, 4, 1).repeat(2, 1, 1)
    b = -a
    valid = torch.tensor([[True, True, True, True], [True, True, False, False]])
    both, mask = stack_valid_frames(a, b, valid)
    assert both[0, :, 0].tolist() == [1, 2, 3, 4, -1, -2, -3, -4]
    assert both[1, :, 0].tolist() == [1, 2, -1, -2, 0, 0, 0, 0]
    assert mask.sum(1).tolist() == [8, 4]


def test_encode_shapes_and_masks() -> None:
    model = tiny().eval()
    batch = backbone_batch(5, seed=1)
    enc = model.encode(batch)
    for m in ("text", "audio", "vision"):
        assert enc.latents[m].shape == (5, 4, 8)
        assert enc.masks[m].shape == (5, 4) and enc.masks[m].dtype == torch.bool and bool(enc.masks[m].all())
    out = model.fuse(enc.latents, enc.masks)
    assert out.pred.shape == (5, 1) and set(out.aux_losses) == {"moe_balance"}


def test_padding_changes_nothing_and_the_reference_setting_reads_it() -> None:
    clean = backbone_batch(5, seed=2, with_text_lengths=True)
    noisy = backbone_batch(5, seed=2, with_text_lengths=True, pad_value=4.0)
    for mask_padding in (True, False):
        model = tiny(mask_padding=mask_padding).eval()
        assert model.masks_padding is mask_padding
        a, b = model(clean).pred, model(noisy).pred
        if mask_padding:
            torch.testing.assert_close(a, b)
            model.train()  # same dropout and gating noise draws
            torch.manual_seed(3)
            a = model(clean).pred
            torch.manual_seed(3)
            torch.testing.assert_close(model(noisy).pred, a)
        else:
            assert not torch.allclose(a[1:], b[1:])  # sample 0 has no padding


def moe_with_random_gates(seed: int = 0, d_in: int = 6, d_out: int = 4) -> NoisyTopKMoE:
    torch.manual_seed(seed)
    moe = NoisyTopKMoE(d_in, d_out, experts=3, top_k=2).double()
    with torch.no_grad():
        moe.w_gate.normal_()
        moe.w_noise.normal_(std=0.5)
        for e in moe.experts:
            for p in e.parameters():
                p.normal_(std=0.5)
    return moe


@torch.no_grad()
def brute_force_moe(moe: NoisyTopKMoE, x: torch.Tensor, noise: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per sample: sort the three logits, keep the best two, softmax them, log-sum of weighted exp outputs;
    then the balancing loss from importance and load, in float64 with Python loops."""
    x = x.double()
    clean = x @ moe.w_gate.double()
    scale = torch.nn.functional.softplus(x @ moe.w_noise.double()) + 0.01
    logits = clean if noise is None else clean + noise * scale
    rows, gates = [], torch.zeros_like(logits)
    for i in range(len(x)):
        order = sorted(range(3), key=lambda j: -float(logits[i, j].detach()))
        top = order[:2]
        w = torch.softmax(logits[i, top], dim=0)
        gates[i, top] = w
        rows.append(torch.log(sum(w[r] * torch.exp(moe.experts[j](x[i])) for r, j in enumerate(top))))
    y = torch.stack(rows)
    if noise is None:
        load = (gates > 0).sum(0).double()
    else:
        load = torch.zeros(3, dtype=torch.float64)
        for i in range(len(x)):
            srt = sorted(logits[i].detach().tolist(), reverse=True)
            for j in range(3):
                threshold = srt[2] if logits[i, j] > srt[2] else srt[1]
                z = float((clean[i, j] - threshold) / scale[i, j]) - 0.1
                load[j] += 0.5 * (1 + math.erf(z / math.sqrt(2)))

    def cv2(v: torch.Tensor) -> torch.Tensor:
        mean = v.mean()
        return ((v - mean) ** 2).sum() / (len(v) - 1) / (mean**2 + 1e-10)

    return y, cv2(gates.sum(0)) + cv2(load)


@pytest.mark.parametrize("training", [False, True])
def test_moe_top2_gating_and_balance_loss_match_loops(training: bool) -> None:
    moe = moe_with_random_gates().train(training)
    x = torch.randn(9, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    noise = torch.randn(9, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) if training else None
    y, loss = moe(x, noise=noise)
    index, _, gates, _ = moe.gating(x, noise)
    assert index.shape == (9, 2) and bool(((gates > 0).sum(1) == 2).all())
    y_ref, loss_ref = brute_force_moe(moe, x, noise)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(loss.double(), loss_ref, rtol=1e-6, atol=1e-9)


def test_moe_weight_scales_the_auxiliary_loss() -> None:
    batch = backbone_batch(6, seed=3)
    losses = []
    for weight in (1e-2, 1.0):
        model = tiny(moe_weight=weight).eval()
        enc = model.encode(batch)
        losses.append(model.fuse(enc.latents, enc.masks).aux_losses["moe_balance"])
        total = sum(model.moes[m](enc.latents[m][:, 1:].transpose(1, 2).flatten(1))[1] for m in ("text", "audio", "vision"))
        torch.testing.assert_close(losses[-1], weight * total)
    torch.testing.assert_close(losses[1] * 1e-2, losses[0])


@pytest.mark.parametrize("mixer_name", ["msmix", "manifold"])
def test_global_and_local_tokens_mix_together_and_fuse_takes_b_plus_k(mixer_name: str) -> None:
    model = tiny().train()
    batch = backbone_batch(6, seed=4)
    enc = model.encode(batch)
    mixer = create_mixer(mixer_name, model.latent_dims, 3.0)
    mix = mixer(enc.latents, batch.labels, generator=torch.Generator().manual_seed(0), masks=enc.masks)
    assert mix.k > 0
    for m, z in enc.latents.items():
        assert mix.mixed[m].shape == (mix.k, 4, 8)
        if mix.ratios is not None:  # one ratio for the global and the local tokens of a modality
            lam = mix.ratios[m].view(-1, 1, 1).to(z.dtype)
            expected = lam * z[mix.index_a] + (1 - lam) * z[mix.index_b]
            torch.testing.assert_close(mix.mixed[m], expected)
    latents = {m: torch.cat([z, mix.mixed[m]]) for m, z in enc.latents.items()}
    masks = {m: torch.cat([enc.masks[m], mix.masks[m]]) for m in enc.latents}
    out = model.fuse(latents, masks)
    assert out.pred.shape == (6 + mix.k, 1) and bool(torch.isfinite(out.pred).all())
    out.pred.sum().backward()


def test_gradients_reach_every_parameter_and_only_unselected_experts_stay_silent() -> None:
    model = tiny().train()
    torch.manual_seed(5)
    out = model(backbone_batch(24, seed=5))
    (out.pred.square().mean() + out.aux_losses["moe_balance"]).backward()
    silent = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert silent == []  # 24 noisy samples: every expert is among some sample's top two

    moe = moe_with_random_gates()
    x = torch.randn(8, 6, dtype=torch.float64)
    noise = torch.tensor([[10.0, 10.0, -10.0]], dtype=torch.float64).expand(8, 3)  # expert 2 always last
    y, loss = moe(x, noise=noise)
    (y.sum() + loss).backward()
    assert all(p.grad is None or not p.grad.any() for p in moe.experts[2].parameters())
    for p in (*moe.experts[0].parameters(), *moe.experts[1].parameters(), moe.w_gate, moe.w_noise):
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_text_encoder_reads_two_layers_of_text_bert(tmp_path) -> None:
    folder = write_tiny_bert(tmp_path)
    spec = backbone_spec("mosi")
    batch = backbone_batch(4, seed=6, spec=spec, with_text_bert=True)
    torch.manual_seed(0)
    model = create("glomo", spec, text_encoder=folder, mask_padding=True, **TINY).train()
    assert model.text_global.in_features == 32
    out = model(batch)
    (out.pred.sum() + out.aux_losses["moe_balance"]).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.text_encoder.parameters())
    model.eval()
    ids = batch.text_bert.clone()
    ids[:, 0][ids[:, 1] == 0] = 7  # padding tokens' ids (masked by the attention mask)
    torch.testing.assert_close(model(batch).pred, model(batch.__class__(**{**batch.__dict__, "text_bert": ids})).pred)
    frozen = create("glomo", spec, text_encoder=folder, finetune_text_encoder=False, **TINY)
    assert not any(p.requires_grad for p in frozen.text_encoder.parameters())


def reference_positions(first_feature: torch.Tensor, dim: int) -> torch.Tensor:
    """fairseq's rule, as the reference's encoder applies it, in float64: frame t is position t + 1
    unless its first feature is exactly 0 (padding index 0, whose embedding is zero); the table holds
    sin(p * f_i) then cos(p * f_i), f_i = 10000^(-i / (dim / 2 - 1))."""
    half = dim // 2
    freq = torch.tensor([10000.0 ** (-i / (half - 1)) for i in range(half)], dtype=torch.float64)
    steps = torch.arange(1, first_feature.shape[1] + 1, dtype=torch.float64)
    table = torch.cat([torch.sin(steps[:, None] * freq), torch.cos(steps[:, None] * freq)], dim=1)
    return table * (first_feature != 0).unsqueeze(-1).double()


def test_the_default_reads_padding_and_gives_padded_frames_positions_as_the_reference() -> None:
    model = tiny()
    encoder = model.audio_encoder.eval()
    encoder.layers = torch.nn.ModuleList()  # leave the embedding: conv * sqrt(d) + positions, then LayerNorm
    x = torch.randn(3, 12, 5)
    x[1, 7:] = 0.0  # padding: the conv's window reaches valid frames at 7 only
    x[2, 2:] = 0.0
    conv = encoder.conv(x.transpose(1, 2)).transpose(1, 2)
    assert (conv[1, 8:] == 0).all() and (conv[1, 7] != 0).any()
    expected = torch.nn.functional.layer_norm(
        conv.double() * math.sqrt(encoder.d) + reference_positions(conv[..., 0], encoder.d), (encoder.d,),
        encoder.norm.weight.double(), encoder.norm.bias.double(),
    )
    torch.testing.assert_close(encoder(x, None).double(), expected, rtol=1e-5, atol=1e-5)
