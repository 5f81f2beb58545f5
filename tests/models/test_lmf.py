"""LMF: sizes and parameter count from MMSA's layer formula, the low-rank fusion against a float64
loop and against the full TFN-style weight tensor it factorises, frozen fusion weights as in
MMSA's trainer, and the factor learning rate."""

from __future__ import annotations

import pytest
import torch

from backbone_references import expected_lmf_params, fused64_loop
from msmix.models import create
from msmix.models.lmf import LMF
from msmix.testing import backbone_batch, backbone_spec
from random_latents import random_latents

TINY = {"text_hidden": 5, "audio_hidden": 2, "vision_hidden": 3, "text_out": 4, "rank": 3}
TINY_DIMS = {"text": 7, "audio": 3, "vision": 4}


def tiny_lmf(**overrides) -> LMF:
    torch.manual_seed(0)
    return create("lmf", backbone_spec(dims=TINY_DIMS), **{**TINY, **overrides}).double()


def tiny_latents(model: LMF, b: int = 4, seed: int = 1) -> dict[str, torch.Tensor]:
    latents = {m: z.double() for m, z in random_latents(b, model.latent_dims, seed=seed).items()}
    latents["text"] = latents["text"] - 0.5
    return latents


def test_mosi_sizes_and_parameter_count_follow_mmsa() -> None:
    model = create("lmf", backbone_spec("mosi"))
    c = LMF.default_config("mosi")["model"]
    assert model.latent_dims == {"text": 64, "audio": 16, "vision": 128}
    assert c["rank"] == 3 and c["text_out"] == c["text_hidden"] // 2
    n = sum(p.numel() for p in model.parameters())
    assert n == expected_lmf_params(backbone_spec().dims, c)
    assert 0.45e6 < n < 0.55e6
    frozen = [p for p in model.parameters() if not p.requires_grad]
    assert {id(p) for p in frozen} == {id(model.fusion_weights), id(model.fusion_bias)}


@pytest.mark.parametrize("kind", ["mosei", "sims"])
def test_other_recipes_parameter_count(kind: str) -> None:
    dims = {"mosei": {"text": 768, "audio": 74, "vision": 35}, "sims": {"text": 768, "audio": 33, "vision": 709}}[kind]
    c = LMF.default_config(kind)["model"]
    assert c["text_out"] == c["text_hidden"] // 2
    model = create("lmf", backbone_spec(kind, dims=dims))
    assert sum(p.numel() for p in model.parameters()) == expected_lmf_params(dims, c)


def test_shapes() -> None:
    model = create("lmf", backbone_spec("mosi")).eval()
    enc = model.encode(backbone_batch(6))
    shapes = {m: tuple(z.shape) for m, z in enc.latents.items()}
    assert shapes == {"text": (6, 64), "audio": (6, 16), "vision": (6, 128)}
    out = model.fuse(enc.latents, enc.masks)
    assert out.pred.shape == (6, 1) and out.aux_losses == {}


def test_fuse_equals_the_low_rank_formula_in_float64() -> None:
    model = tiny_lmf()
    latents = tiny_latents(model)
    f = {m: model.factors[m].detach().double() for m in latents}
    w, bias = model.fusion_weights.detach().double()[0], model.fusion_bias.detach().double()[0]
    expected = torch.zeros(4, 1, dtype=torch.float64)
    for b in range(4):
        total = bias.clone()
        for r in range(model.config.rank):
            product = torch.tensor(1.0, dtype=torch.float64)
            for m, z in latents.items():
                with_one = torch.cat([torch.ones(1, dtype=torch.float64), z[b]])
                product = product * (with_one @ f[m][r])
            total = total + w[r] * product
        expected[b, 0] = total
    torch.testing.assert_close(model.fuse(latents).pred, expected)


def test_fuse_equals_a_linear_map_of_the_tensor_fusion() -> None:
    """The LMF identity: a rank-r weight tensor sum_r w_r f_a[r] x f_v[r] x f_t[r] on TFN's fused vector."""
    model = tiny_lmf()
    latents = tiny_latents(model, seed=2)
    f = {m: model.factors[m].detach().double() for m in latents}
    w = model.fusion_weights.detach().double()[0]
    full = sum(
        w[r] * torch.einsum("i,j,k->ijk", f["audio"][r], f["vision"][r], f["text"][r]).flatten() for r in range(3)
    )
    fused = fused64_loop(latents["audio"], latents["vision"], latents["text"])
    expected = fused @ full + model.fusion_bias.detach().double()
    torch.testing.assert_close(model.fuse(latents).pred[:, 0], expected)


def test_no_dropout_after_fusion_in_training() -> None:
    model = tiny_lmf().train()
    latents = tiny_latents(model)
    assert torch.equal(model.fuse(latents).pred, model.eval().fuse(latents).pred)


def test_fusion_weights_frozen_as_in_mmsa_or_learned_on_request() -> None:
    model = tiny_lmf()
    model.fuse(tiny_latents(model)).pred.sum().backward()
    assert model.fusion_weights.grad is None and model.fusion_bias.grad is None
    assert all(model.factors[m].grad is not None for m in model.factors)
    learned = tiny_lmf(learn_fusion_weights=True)
    learned.fuse(tiny_latents(learned)).pred.sum().backward()
    assert learned.fusion_weights.grad is not None and learned.fusion_bias.grad is not None


@pytest.mark.parametrize("learn", [False, True])
def test_parameter_groups_give_the_factors_their_own_rate(learn: bool) -> None:
    model = tiny_lmf(factor_lr=5e-4, learn_fusion_weights=learn)
    groups = model.parameter_groups(lr=2e-3)
    assert [g["lr"] for g in groups] == [5e-4, 2e-3]
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in model.factors.values()}
    grouped = [id(p) for g in groups for p in g["params"]]
    assert len(grouped) == len(set(grouped))
    assert set(grouped) == {id(p) for p in model.parameters() if p.requires_grad}
    same = tiny_lmf(factor_lr=None).parameter_groups(lr=1e-3)
    assert [g["lr"] for g in same] == [1e-3, 1e-3]


def test_fusion_init_follows_mmsa() -> None:
    torch.manual_seed(0)
    model = create("lmf", backbone_spec("mosi"), rank=64)
    assert torch.equal(model.fusion_bias, torch.zeros(1))
    vision = model.factors["vision"].detach()
    xavier_std = (2.0 / (vision.shape[0] + vision.shape[1])) ** 0.5
    assert abs(vision.std().item() / xavier_std - 1) < 0.1


def test_fuse_is_traceable_in_one_graph() -> None:
    model = tiny_lmf()
    compiled = torch.compile(model.fuse, backend="eager", fullgraph=True)
    assert compiled(tiny_latents(model)).pred.shape == (4, 1)


def test_bad_settings_are_refused() -> None:
    spec = backbone_spec()
    with pytest.raises(TypeError, match="unknown settings \\['post_fusion_dim'\\]"):
        create("lmf", spec, post_fusion_dim=4)
    with pytest.raises(ValueError, match="rank must be an integer >= 1, got 0"):
        create("lmf", spec, rank=0)
    with pytest.raises(ValueError, match="factor_lr must be None or a positive number"):
        create("lmf", spec, factor_lr=0)
    with pytest.raises(ValueError, match="learn_fusion_weights must be True or False"):
        create("lmf", spec, learn_fusion_weights="yes")
