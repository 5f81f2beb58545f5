"""ALMT: parameter counts against the reference's and a layer formula, the 8 x 128 token latents, padding
masks, the rows skipped after the last projection and fusion layers, the hyper-modality update, mixing
the token latents, gradients, the BERT path, and the recipes."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from msmix.data.spec import DataSpec
from msmix.mixing import create as create_mixer
from msmix.models import create
from msmix.models.almt import ALMT, ALMTConfig
from msmix.testing import backbone_batch, backbone_spec, write_tiny_bert
from msmix.train.config import TrainConfig

REAL = {
    "mosi": ({"text": 768, "audio": 5, "vision": 20}, {"text": 50, "audio": 375, "vision": 500}),
    "mosei": ({"text": 768, "audio": 74, "vision": 35}, {"text": 50, "audio": 500, "vision": 500}),
    "sims": ({"text": 768, "audio": 33, "vision": 709}, {"text": 39, "audio": 400, "vision": 55}),
}
REFERENCE_PARAMS = {"mosi": 2_603_649, "mosei": 3_223_041, "sims": 3_232_897}
"""Counted on the reference modules built with MMSA's ``almt`` configuration (BERT left out)."""

TINY = {"tokens": 3, "dim": 16, "head_dim": 8, "proj_heads": 2, "proj_mlp_dim": 12, "text_heads": 2,
        "text_mlp_dim": 12, "ahl_heads": 2, "ahl_head_dim": 8, "fusion_heads": 2, "fusion_mlp_dim": 12}
TINY_DIMS = {"text": 6, "audio": 3, "vision": 4}


def real_spec(kind: str) -> DataSpec:
    dims, lens = REAL[kind]
    return DataSpec(kind=kind, dims=dims, seq_lens=lens, label_range=1.0 if kind == "sims" else 3.0)


def tiny(**overrides) -> ALMT:
    torch.manual_seed(0)
    return create("almt", backbone_spec(dims=TINY_DIMS), **{**TINY, **overrides})


def expected_params(dims: dict[str, int], lens: dict[str, int], c: dict) -> int:
    """ALMT's parameters written out layer by layer (LayerNorm 2d; q/k/v without bias; out Linear with bias)."""
    d, n = c["dim"], c["tokens"]
    norm = 2 * d

    def attention(heads: int, head_dim: int) -> int:
        inner = heads * head_dim
        return 3 * norm + 3 * d * inner + inner * d + d

    def block(heads: int, mlp: int) -> int:
        return attention(heads, c["head_dim"]) + norm + d * mlp + mlp + mlp * d + d

    projectors = sum(
        dims[m] * d + d + n * d + (lens[m] + n) * d + c["proj_depth"] * block(c["proj_heads"], c["proj_mlp_dim"])
        for m in dims
    )
    language = n * d + (c["ahl_depth"] - 1) * block(c["text_heads"], c["text_mlp_dim"])
    ahl_inner = c["ahl_heads"] * c["ahl_head_dim"]
    hyper = n * d + c["ahl_depth"] * (4 * norm + 5 * d * ahl_inner + ahl_inner * d + d)
    fusion = d + 2 * (n + 1) * d + c["fusion_depth"] * block(c["fusion_heads"], c["fusion_mlp_dim"])
    return projectors + language + hyper + fusion + d + 1


@pytest.mark.parametrize("kind", ["mosi", "mosei", "sims"])
def test_parameter_counts_match_the_reference_and_the_formula(kind: str) -> None:
    model = create("almt", real_spec(kind))
    n = sum(p.numel() for p in model.parameters())
    assert n == REFERENCE_PARAMS[kind]
    assert n == expected_params(*REAL[kind], ALMT.default_config(kind)["model"])
    assert round(n / 1e6, 2) == {"mosi": 2.60, "mosei": 3.22, "sims": 3.23}[kind]
    assert len(model.fusion_layers) == (2 if kind == "mosi" else 4)


def test_token_latents_and_a_real_sized_forward() -> None:
    spec = real_spec("mosi")
    model = create("almt", spec).eval()
    batch = backbone_batch(2, seed=0, spec=spec)
    enc = model.encode(batch)
    assert {m: tuple(z.shape) for m, z in enc.latents.items()} == {m: (2, 8, 128) for m in REAL["mosi"][0]}
    assert enc.masks == {"text": None, "audio": None, "vision": None}
    assert model.latent_dims == {"text": 128, "audio": 128, "vision": 128}
    out = model.fuse(enc.latents, enc.masks)
    assert out.pred.shape == (2, 1) and out.aux_losses == {}
    assert torch.isfinite(out.pred).all()


def test_padding_frames_change_nothing_when_masked() -> None:
    model = tiny(mask_padding=True).eval()
    spec = backbone_spec(dims=TINY_DIMS)
    clean = backbone_batch(5, seed=1, spec=spec, with_text_lengths=True)
    noisy = backbone_batch(5, seed=1, spec=spec, with_text_lengths=True, pad_value=7.0)
    assert not torch.equal(clean.text, noisy.text)
    torch.testing.assert_close(model(noisy).pred, model(clean).pred)


def test_reference_behaviour_reads_padding_frames() -> None:
    model = tiny(mask_padding=False).eval()
    assert not model.masks_padding
    spec = backbone_spec(dims=TINY_DIMS)
    clean = backbone_batch(5, seed=1, spec=spec, with_text_lengths=True)
    for m in ("text", "audio", "vision"):
        padded = backbone_batch(5, seed=1, spec=spec, with_text_lengths=True, pad_value=7.0)
        noisy = clean.with_features({m: getattr(padded, m)})
        changed = (model(noisy).pred - model(clean).pred).abs()[1:-1]  # sample 0 has no padding
        assert changed.max() > 1e-4, m


def test_masking_changes_nothing_on_full_length_inputs() -> None:
    spec = backbone_spec(dims=TINY_DIMS)
    batch = backbone_batch(4, seed=2, spec=spec)
    full = batch.with_features({m: torch.randn_like(getattr(batch, m)) for m in TINY_DIMS})
    full.lengths = {m: torch.full((4,), t) for m, t in spec.seq_lens.items()}
    torch.testing.assert_close(tiny().eval()(full).pred, tiny(mask_padding=False).eval()(full).pred)


def test_last_layers_compute_only_the_rows_read_later() -> None:
    model = tiny(proj_depth=2).double().eval()
    x = torch.randn(3, 9, TINY_DIMS["audio"], dtype=torch.float64)
    projector = model.projectors["audio"]
    h = torch.cat([projector.tokens.expand(3, -1, -1), projector.linear(x)], 1) + projector.position[:, :12]
    for layer in projector.layers:
        h = layer(h, h)
    torch.testing.assert_close(projector(x, None), h[:, :3])

    latents = {m: torch.randn(3, 3, 16, dtype=torch.float64) for m in TINY_DIMS}
    states = [latents["text"] + model.text_position]
    for layer in model.text_layers:
        states.append(layer(states[-1], states[-1]))
    hyper = model.hyper.expand(3, -1, -1)
    for state, layer in zip(states, model.hyper_layers):
        hyper = layer(state, latents["audio"], latents["vision"], hyper)
    cls = model.cls.expand(3, -1, -1)
    source = torch.cat([cls, hyper], 1) + model.source_position
    target = torch.cat([cls, states[-1]], 1) + model.target_position
    for layer in model.fusion_layers:
        target = layer(target, source)
    torch.testing.assert_close(model.fuse(latents).pred, model.head(target[:, 0]))


def test_hyper_modality_update_adds_to_the_normalised_state() -> None:
    """Layer i: softmax(q k_a / 4) v_a + softmax(q k_v / 4) v_v per head, projected, added to LayerNorm(hyper)."""
    layer = tiny(ahl_heads=2, ahl_head_dim=8).hyper_layers[0].double()
    g = torch.Generator().manual_seed(0)
    text, audio, vision, hyper = (torch.randn(2, 3, 16, generator=g, dtype=torch.float64) for _ in range(4))

    def heads(x: torch.Tensor) -> torch.Tensor:
        return x.view(2, 3, 2, 8).transpose(1, 2)

    q = heads(layer.norm_text(text) @ layer.to_q.weight.T)
    total = 0
    for x, norm, to_k, to_v in (
        (audio, layer.norm_audio, layer.to_k_audio, layer.to_v_audio),
        (vision, layer.norm_vision, layer.to_k_vision, layer.to_v_vision),
    ):
        k, v = heads(norm(x) @ to_k.weight.T), heads(norm(x) @ to_v.weight.T)
        total = total + torch.softmax(q @ k.transpose(-1, -2) / 8**0.5, -1) @ v
    shift = layer.out(total.transpose(1, 2).reshape(2, 3, 16))
    torch.testing.assert_close(layer(text, audio, vision, hyper), layer.norm_hyper(hyper) + shift)


def test_token_latents_mix_and_fuse_as_they_are() -> None:
    torch.manual_seed(0)
    model = create("almt", backbone_spec()).train()
    batch = backbone_batch(6, seed=3)
    enc = model.encode(batch)
    for name in ("msmix", "mixup"):
        mixer = create_mixer(name, model.latent_dims, 3.0)
        mix = mixer(enc.latents, batch.labels, generator=torch.Generator().manual_seed(0), masks=enc.masks)
        assert mix.k > 0, name
        assert all(tuple(mix.mixed[m].shape) == (mix.k, 8, 128) for m in TINY_DIMS), name
        latents = {m: torch.cat([z, mix.mixed[m]]) for m, z in enc.latents.items()}
        out = model.fuse(latents, {m: None for m in latents})
        assert out.pred.shape == (6 + mix.k, 1)
        (out.pred.square().mean() + mix.aux_loss).backward()
        assert model.projectors["text"].linear.weight.grad is not None
        model.zero_grad()
        enc = model.encode(batch)


def test_gradients_reach_every_parameter_and_reference_start_leaves_one_silent() -> None:
    batch = backbone_batch(4, seed=4, spec=backbone_spec(dims=TINY_DIMS))
    for std, silent in ((1e-4, set()), (0.0, {"hyper_layers.0.norm_hyper.weight"})):
        model = tiny(hyper_init_std=std).train()
        model(batch).pred.square().mean().backward()
        zero = {n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0}
        assert zero == silent
    assert torch.equal(tiny(hyper_init_std=0.0).hyper, torch.ones(1, 3, 16))


def test_tiny_bert_text_encoder_runs_and_learns(tmp_path) -> None:
    bert = write_tiny_bert(tmp_path / "bert")
    spec = backbone_spec(dims=TINY_DIMS)
    batch = backbone_batch(6, seed=5, spec=spec, with_text_bert=True)
    torch.manual_seed(0)
    model = create("almt", spec, text_encoder=bert, mask_padding=True, **TINY)
    assert model.projectors["text"].linear.in_features == 32
    model.eval()
    before = model(batch).pred
    padded = batch.text_bert.clone()
    padded[:, 0] = torch.where(padded[:, 1] > 0, padded[:, 0], torch.full_like(padded[:, 0], 50))
    torch.testing.assert_close(model(replace(batch, text_bert=padded)).pred, before)

    model.train()
    words = model.text_encoder.model.embeddings.word_embeddings.weight
    first = words.detach().clone()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(12):
        loss = (model(batch).pred.squeeze(1) - batch.labels).square().mean()
        optimizer.zero_grad()
        loss.backward()
        losses.append(loss.item())
        optimizer.step()
    assert min(losses[-3:]) < 0.5 * losses[0]
    assert not torch.equal(words, first)

    frozen = create("almt", spec, text_encoder=bert, finetune_text_encoder=False, **TINY).train()
    frozen(batch).pred.sum().backward()
    assert all(p.grad is None for p in frozen.text_encoder.parameters())
    assert frozen.projectors["text"].linear.weight.grad is not None


def test_recipes() -> None:
    for kind in ("mosi", "mosei", "sims"):
        recipe = ALMT.default_config(kind)
        model, train = recipe["model"], recipe["train"]
        assert (model["tokens"], model["dim"], model["ahl_depth"]) == (8, 128, 3)
        assert model["fusion_depth"] == (2 if kind == "mosi" else 4)
        config = TrainConfig.from_dict(train)
        assert (config.optimizer, config.lr, config.weight_decay, config.batch_size) == ("adamw", 1e-4, 1e-4, 64)
        assert (config.loss, config.scheduler, config.max_epochs, config.patience) == ("mse", "cosine", 200, 32)
        assert config.warmup_epochs == config.max_epochs // 10
    assert ALMT.default_config("custom") == ALMT.default_config("mosi")


def test_settings_are_checked() -> None:
    base = ALMT.default_config("mosi")["model"]
    for bad in ({"tokens": 0}, {"dropout": 1.0}, {"mask_padding": 1}, {"hyper_init_std": -1.0}, {"text_encoder": ""}):
        with pytest.raises(ValueError):
            ALMTConfig(**{**base, **bad})
    model = tiny()
    too_long = torch.randn(1, 21, TINY_DIMS["audio"])
    with pytest.raises(ValueError, match="longer than the 20 learned positions"):
        model.projectors["audio"](too_long, None)
