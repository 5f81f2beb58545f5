"""TFN: sizes and parameter count from MMSA's layer formula, the outer-product fusion against a
float64 loop, the dropout on the fused tensor, the output range, and its settings."""

from __future__ import annotations

import math

import pytest
import torch

from backbone_references import expected_tfn_params, fused64_loop
from msmix.models import create
from msmix.models.tfn import TFN, WideLinear, tensor_fusion, with_leading_one
from msmix.testing import backbone_batch, backbone_spec
from random_latents import random_latents

TINY = {"text_hidden": 5, "audio_hidden": 2, "vision_hidden": 3, "text_out": 4, "post_fusion_dim": 6}
TINY_DIMS = {"text": 7, "audio": 3, "vision": 4}


def tiny_tfn(**overrides) -> TFN:
    torch.manual_seed(0)
    return create("tfn", backbone_spec(dims=TINY_DIMS), **{**TINY, **overrides}).double()


def head64(model: TFN, fused: torch.Tensor) -> torch.Tensor:
    """The post-fusion layers and the output scaling, written out."""
    l1, l2, l3 = (model.post_fusion[i] for i in (0, 2, 4))
    h = torch.relu(fused @ l1.weight_t.double() + l1.bias.double())
    h = torch.relu(h @ l2.weight.double().T + l2.bias.double())
    out = h @ l3.weight.double().T + l3.bias.double()
    return torch.sigmoid(out) * 2 * model.output_bound - model.output_bound


def test_mosi_sizes_and_parameter_count_follow_mmsa() -> None:
    model = create("tfn", backbone_spec("mosi"))
    c = TFN.default_config("mosi")["model"]
    assert model.latent_dims == {"text": 32, "audio": 32, "vision": 128}
    assert model.post_fusion[0].in_features == 140_481
    n = sum(p.numel() for p in model.parameters())
    assert n == expected_tfn_params(backbone_spec().dims, c)
    assert 9.4e6 < n < 9.6e6
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("kind", ["mosei", "sims"])
def test_other_recipes_parameter_count(kind: str) -> None:
    dims = {"mosei": {"text": 768, "audio": 74, "vision": 35}, "sims": {"text": 768, "audio": 33, "vision": 709}}[kind]
    c = TFN.default_config(kind)["model"]
    model = create("tfn", backbone_spec(kind, dims=dims))
    assert sum(p.numel() for p in model.parameters()) == expected_tfn_params(dims, c)


def test_shapes() -> None:
    model = create("tfn", backbone_spec("mosi")).eval()
    enc = model.encode(backbone_batch(6))
    shapes = {m: tuple(z.shape) for m, z in enc.latents.items()}
    assert shapes == {"text": (6, 32), "audio": (6, 32), "vision": (6, 128)}
    assert enc.masks == {"text": None, "audio": None, "vision": None}
    out = model.fuse(enc.latents, enc.masks)
    assert out.pred.shape == (6, 1) and out.aux_losses == {}


def test_tensor_fusion_equals_a_loop() -> None:
    g = torch.Generator().manual_seed(3)
    a, v, t = (torch.randn(3, d, generator=g, dtype=torch.float64) for d in (2, 3, 4))
    got = tensor_fusion(with_leading_one(a), with_leading_one(v), with_leading_one(t)).flatten(1)
    torch.testing.assert_close(got, fused64_loop(a, v, t))


def test_wide_linear_is_a_linear_layer_with_nn_linear_init() -> None:
    torch.manual_seed(0)
    layer = WideLinear(400, 3)
    assert layer.weight_t.shape == (400, 3) and layer.bias.shape == (3,)
    x = torch.randn(5, 400, dtype=torch.float64)
    torch.testing.assert_close(layer.double()(x), x @ layer.weight_t + layer.bias)
    reference = torch.nn.Linear(400, 3)
    bound = 1 / 400**0.5
    for ours, theirs in ((layer.weight_t, reference.weight), (layer.bias, reference.bias)):
        assert ours.abs().max() <= bound and theirs.abs().max() <= bound
    assert abs(layer.weight_t.std().item() / reference.weight.std().item() - 1) < 0.1


def test_fuse_equals_float64_rederivation() -> None:
    model = tiny_tfn().eval()
    latents = {m: z.double() for m, z in random_latents(4, model.latent_dims, seed=1).items()}
    latents["text"] = latents["text"] - 0.5
    expected = head64(model, fused64_loop(latents["audio"], latents["vision"], latents["text"]))
    torch.testing.assert_close(model.fuse(latents).pred, expected)


@pytest.mark.parametrize("p", [0.3, 0.5])  # 0.5 draws its mask from random bits
def test_fusion_dropout_is_inverted_bernoulli_dropout(p: float) -> None:
    model = tiny_tfn(fusion_dropout=p)
    latents = {m: z.double() + 0.1 for m, z in random_latents(64, model.latent_dims, seed=2).items()}
    seen: list[torch.Tensor] = []
    model.post_fusion[0].register_forward_hook(lambda mod, args, out: seen.append(args[0].detach()))
    model.eval().fuse(latents)
    clean = seen.pop()
    torch.manual_seed(5)
    model.train().fuse(latents)
    model.fuse(latents)
    first, second = seen
    kept = first != 0
    torch.testing.assert_close(first[kept], clean[kept] / (1 - p))
    n = kept.numel()
    z = (kept.sum().item() - n * (1 - p)) / math.sqrt(n * p * (1 - p))
    assert abs(z) < 5, f"kept share {kept.float().mean():.4f} is not 1 - p = {1 - p}"
    both = (first != 0) & (second != 0)
    z_pair = (both.sum().item() - n * (1 - p) ** 2) / math.sqrt(n * (1 - p) ** 2 * (1 - (1 - p) ** 2))
    assert abs(z_pair) < 5, "masks of two steps must be independent"
    per_row = kept.double().mean(1)
    assert per_row.std() < 3 * math.sqrt(p * (1 - p) / kept.shape[1]), "one mask element per value, not per sample"


def test_no_dropout_setting_or_eval_mode_keeps_the_fused_tensor() -> None:
    model = tiny_tfn(fusion_dropout=0.0).train()
    latents = {m: z.double() for m, z in random_latents(3, model.latent_dims, seed=4).items()}
    expected = head64(model, fused64_loop(latents["audio"], latents["vision"], latents["text"]))
    torch.testing.assert_close(model.fuse(latents).pred, expected)


@pytest.mark.parametrize(
    ("kind", "label_range", "bound"), [("mosi", 3.0, 3.0), ("custom", 1.0, 1.0), ("sims", 1.0, 3.0)]
)
def test_output_lies_in_the_bound(kind: str, label_range: float, bound: float) -> None:
    model = create("tfn", backbone_spec(kind, label_range=label_range), **TINY)
    with torch.no_grad():
        model.post_fusion[4].bias.fill_(50.0)
        high = model.eval().fuse(random_latents(4, model.latent_dims, scale=10.0)).pred
        model.post_fusion[4].bias.fill_(-50.0)
        low = model.fuse(random_latents(4, model.latent_dims, scale=10.0)).pred
        model.post_fusion[4].bias.zero_()
        mid = model.fuse(random_latents(64, model.latent_dims, seed=9)).pred
    assert model.output_bound == bound
    torch.testing.assert_close(high, torch.full_like(high, bound))
    torch.testing.assert_close(low, torch.full_like(low, -bound))
    assert (mid.abs() < bound).all()


def test_output_bound_setting_overrides_the_label_range() -> None:
    assert create("tfn", backbone_spec(label_range=3.0), **TINY, output_bound=2.0).output_bound == 2.0


def test_text_lengths_setting_ignores_padded_tokens() -> None:
    batch = backbone_batch(5, with_text_lengths=True, spec=backbone_spec(dims=TINY_DIMS))
    noisy = backbone_batch(5, with_text_lengths=True, spec=backbone_spec(dims=TINY_DIMS), pad_value=7.0)
    faithful = tiny_tfn().float().eval()
    by_length = tiny_tfn(use_text_lengths=True).float().eval()
    assert torch.equal(by_length.encode(batch).latents["text"], by_length.encode(noisy).latents["text"])
    assert not torch.equal(faithful.encode(batch).latents["text"], faithful.encode(noisy).latents["text"])


def test_fuse_is_traceable_in_one_graph() -> None:
    model = tiny_tfn().train()
    latents = {m: z.double() for m, z in random_latents(4, model.latent_dims).items()}
    compiled = torch.compile(model.fuse, backend="eager", fullgraph=True)
    assert compiled(latents).pred.shape == (4, 1)
    assert compiled(latents).pred.shape == (4, 1)


@pytest.mark.parametrize("use_text_lengths", [False, True])
def test_encode_compiles_and_matches_eager(use_text_lengths: bool) -> None:
    """Dynamo stops at the ``nn.LSTM`` module (its policy for RNN modules), so not one graph."""
    model = tiny_tfn(use_text_lengths=use_text_lengths).float().eval()
    batch = backbone_batch(4, spec=backbone_spec(dims=TINY_DIMS), with_text_lengths=True)
    compiled = torch.compile(model.encode, backend="eager")
    for m, z in compiled(batch).latents.items():
        torch.testing.assert_close(z, model.encode(batch).latents[m])


def test_bad_settings_are_refused() -> None:
    spec = backbone_spec()
    with pytest.raises(TypeError, match="unknown settings \\['hidden'\\]"):
        create("tfn", spec, hidden=3)
    with pytest.raises(TypeError, match="unknown settings"):
        TFN(spec, dropouts=[0.1])
    with pytest.raises(ValueError, match="fusion_dropout must be a dropout probability in \\[0, 1\\), got 1.0"):
        create("tfn", spec, fusion_dropout=1.0)
    with pytest.raises(ValueError, match="text_out must be an integer >= 1, got 0"):
        create("tfn", spec, text_out=0)
    with pytest.raises(ValueError, match="output_bound must be None or a positive number"):
        create("tfn", spec, output_bound=-1)
    with pytest.raises(ValueError, match="batch.audio must be \\(batch, time, 5\\)"):
        create("tfn", spec).encode(backbone_batch(2, spec=backbone_spec(dims={"text": 768, "audio": 6, "vision": 20})))
