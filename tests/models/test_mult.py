"""MulT: parameter counts and eval outputs equal MMSA 2.2.1's MULT (shared weights, parity mode), the
future mask equals MMSA's, the padding masks (padded values, padded length, no padding), gradients,
the text encoder option, the recipes against MMSA's config, and the backbone contract."""

from __future__ import annotations

import math

import pytest
import torch

from mmsa_reference import mmsa_config
from msmix.data.batch import Batch
from msmix.models import create
from msmix.models.mult import MulT, allowed_keys, attend, dropped_attention, mmsa_state_dict, window_mask
from msmix.testing import backbone_batch, backbone_spec, check_backbone, write_tiny_bert
from mult_reference import ORDER, future_mask, mmsa_mult, with_position_embedding

DIMS = {
    "mosi": {"text": 768, "audio": 5, "vision": 20},
    "mosei": {"text": 768, "audio": 74, "vision": 35},
    "sims": {"text": 768, "audio": 33, "vision": 709},
}
PUBLISHED_MILLIONS = {"mosi": 2.57, "mosei": 0.98, "sims": 1.87}
MMSA_TOL = {"rtol": 1e-7, "atol": 1e-7}
"""Float64 tolerance: MMSA computes its attention softmax in float32 whatever the model's dtype."""
TINY = {"d_model": 8, "heads": 2, "levels": 2, "memory_levels": 2, "mask_padding": True}
"""A small MulT in mask mode (the fix; MMSA's reading of padding is the default and is checked on shared weights)."""
TINY_DIMS = {"text": 12, "audio": 5, "vision": 6}


@pytest.fixture(autouse=True)
def one_thread():
    """Run on one thread: these tensors are small, and on a busy CPU a thread pool's barriers cost
    far more than they save (the file took minutes instead of seconds)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def random_batch(lengths: dict[str, list[int]], steps: dict[str, int], dims: dict[str, int], seed: int = 0,
                 pad_value: float = 0.0, with_lengths: bool = True) -> Batch:
    """Right-padded random features: sample i of modality m has ``lengths[m][i]`` valid frames."""
    g = torch.Generator().manual_seed(seed)
    features, counts = {}, {}
    for m in ORDER:
        n = torch.tensor(lengths[m])
        x = torch.randn(len(n), steps[m], dims[m], generator=g, dtype=torch.float64)
        valid = torch.arange(steps[m]).unsqueeze(0) < n.unsqueeze(1)
        features[m] = torch.where(valid.unsqueeze(-1), x, torch.full_like(x, pad_value))
        counts[m] = n
    labels = torch.zeros(len(counts["text"]))
    return Batch(**features, labels=labels, lengths=counts if with_lengths else {})


def shared_pair(kind: str = "mosi", position_embedding: bool = False, **ours) -> tuple[torch.nn.Module, MulT]:
    """MMSA's MULT and ours with its weights, float64, in eval mode."""
    theirs = mmsa_mult(kind, DIMS[kind])
    if position_embedding:
        with_position_embedding(theirs)
    model = create("mult", backbone_spec(kind, dims=DIMS[kind]), position_embedding=position_embedding, **ours)
    model.load_state_dict(mmsa_state_dict(theirs.state_dict()))
    return theirs.double().eval(), model.double().eval()


def mmsa_pred(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    with torch.no_grad():
        return model(batch.text, batch.audio, batch.vision)["M"]


def our_pred(model: MulT, batch: Batch) -> torch.Tensor:
    with torch.no_grad():
        return model(batch).pred


@pytest.mark.parametrize("kind", ["mosi", "mosei", "sims"])
def test_parameter_counts_equal_mmsa(kind: str) -> None:
    ours = count(create("mult", backbone_spec(kind, dims=DIMS[kind])))
    assert ours == count(mmsa_mult(kind, DIMS[kind]))
    assert round(ours / 1e6, 2) == PUBLISHED_MILLIONS[kind]


def test_recipes_follow_mmsa_config() -> None:
    for kind in ("mosi", "mosei", "sims"):
        c, recipe = mmsa_config("mult", kind), MulT.default_config(kind)
        model, train = recipe["model"], recipe["train"]
        d, heads = c.dst_feature_dim_nheads
        expected_model = {
            "d_model": d, "heads": heads, "levels": c.nlevels, "memory_levels": max(c.nlevels, 3),
            "text_kernel": c.conv1d_kernel_size_l, "audio_kernel": c.conv1d_kernel_size_a,
            "vision_kernel": c.conv1d_kernel_size_v, "attn_dropout": c.attn_dropout,
            "attn_dropout_audio": c.attn_dropout_a, "attn_dropout_vision": c.attn_dropout_v,
            "relu_dropout": c.relu_dropout, "res_dropout": c.res_dropout, "embed_dropout": c.embed_dropout,
            "output_dropout": c.output_dropout, "text_dropout": c.text_dropout, "future_mask": c.attn_mask,
            "text_encoder": None,
        }
        assert {k: model[k] for k in expected_model} == expected_model, kind
        assert c.use_bert is False and model["position_embedding"] is False and model["mask_padding"] is False
        expected_train = {
            "batch_size": c.batch_size, "lr": c.learning_rate, "patience": c.early_stop,
            "grad_accum": c.update_epochs, "clip_value": c.grad_clip / c.update_epochs,
            "plateau_patience": c.patience, "plateau_factor": 0.1, "scheduler": "plateau",
            "loss": "l1", "optimizer": "adam", "weight_decay": 0.0,
        }
        assert {k: train[k] for k in expected_train} == expected_train, kind
        assert c.weight_decay > 0  # configured, but MMSA's trainer never gives it to Adam


@pytest.mark.parametrize("steps", [{"text": 12, "audio": 30, "vision": 40}, {"text": 50, "audio": 375, "vision": 500}])
def test_parity_mode_equals_mmsa_on_shared_weights(steps: dict[str, int]) -> None:
    theirs, ours = shared_pair(mask_padding=False)
    b = 3 if steps["text"] < 50 else 2
    full = random_batch({m: [steps[m]] * b for m in ORDER}, steps, DIMS["mosi"], seed=1)
    torch.testing.assert_close(our_pred(ours, full), mmsa_pred(theirs, full), **MMSA_TOL)
    padded = random_batch({m: [steps[m], steps[m] // 2, 3][:b] for m in ORDER}, steps, DIMS["mosi"], seed=2)
    torch.testing.assert_close(our_pred(ours, padded), mmsa_pred(theirs, padded), **MMSA_TOL)


@pytest.mark.parametrize("kind", ["mosei", "sims"])
def test_parity_mode_equals_mmsa_on_other_recipes(kind: str) -> None:
    theirs, ours = shared_pair(kind, mask_padding=False)
    steps = {"text": 10, "audio": 14, "vision": 9}
    batch = random_batch({m: [steps[m], 4, 2] for m in ORDER}, steps, DIMS[kind], seed=3)
    torch.testing.assert_close(our_pred(ours, batch), mmsa_pred(theirs, batch), **MMSA_TOL)


@pytest.mark.filterwarnings("ignore:The number of elements in the out tensor")  # MMSA's position buffer grows
def test_position_embedding_equals_mmsa_with_its_padding_rule() -> None:
    theirs, ours = shared_pair(position_embedding=True, mask_padding=False)
    steps = {"text": 12, "audio": 30, "vision": 40}
    batch = random_batch({m: [steps[m], 7, 3] for m in ORDER}, steps, DIMS["mosi"], seed=4)
    torch.testing.assert_close(our_pred(ours, batch), mmsa_pred(theirs, batch), **MMSA_TOL)


def test_float32_parity_within_1e_5() -> None:
    theirs, ours = shared_pair(mask_padding=False)
    theirs, ours = theirs.float(), ours.float()
    steps = {"text": 12, "audio": 30, "vision": 40}
    batch = random_batch({m: [steps[m], 5] for m in ORDER}, steps, DIMS["mosi"], seed=5)
    batch = batch.with_features({m: getattr(batch, m).float() for m in ORDER})
    torch.testing.assert_close(our_pred(ours, batch), mmsa_pred(theirs, batch), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("queries, keys", [(5, 5), (4, 9), (9, 4), (1, 3)])
def test_future_mask_equals_mmsa(queries: int, keys: int) -> None:
    ours = allowed_keys(None, None, queries, keys, future=True)[0]
    assert torch.equal(ours, future_mask(queries, keys) == 0)
    full = torch.ones(2, queries, dtype=torch.bool), torch.ones(2, keys, dtype=torch.bool)
    assert torch.equal(allowed_keys(*full, queries, keys, future=True), ours.expand(2, -1, -1))


def test_masked_future_mask_counts_valid_frames() -> None:
    q = torch.tensor([[True, True, False, False]])
    k = torch.tensor([[True, True, True, False, False]])
    allowed = allowed_keys(q, k, 4, 5, future=True)[0]
    assert torch.equal(allowed[:2, :3], future_mask(2, 3) == 0)
    assert not allowed[:, 3:].any() and allowed[2:, :3].all()


def test_cpu_attention_dropout_is_written_out_attention_with_a_keep_mask() -> None:
    g = torch.Generator().manual_seed(11)
    q, k, v = (torch.randn(2, 3, n, 4, generator=g, dtype=torch.float64) for n in (5, 6, 6))
    key_valid = torch.tensor([[True] * 6, [True, True, False, False, False, False]])
    for allowed in (None, key_valid, allowed_keys(None, key_valid, 5, 6, future=True)):
        torch.manual_seed(0)
        got = dropped_attention(q, k, v, allowed, 0.3)
        torch.manual_seed(0)
        scores = q @ k.transpose(-1, -2) / 2.0
        if allowed is not None:
            full = allowed if allowed.dim() == 3 else allowed.unsqueeze(1)
            scores = scores.masked_fill(~full.unsqueeze(1), -math.inf)
        weights = torch.softmax(scores, dim=-1)
        keep = torch.rand(weights.shape, dtype=torch.float64) >= 0.3
        torch.testing.assert_close(got, (weights * keep) @ v / 0.7)
        assert torch.allclose(dropped_attention(q, k, v, allowed, 1e-12), attend(q, k, v, allowed, 0.0))


def test_window_mask() -> None:
    valid = torch.arange(8).unsqueeze(0) < torch.tensor([[8], [6], [3], [0]])
    windows = window_mask(valid, 3)
    assert windows.sum(1).tolist() == [6, 4, 1, 0] and windows[2, 0]


@pytest.mark.parametrize("position_embedding", [False, True])
def test_mask_mode_equals_parity_mode_without_padding(position_embedding: bool) -> None:
    _, parity = shared_pair(position_embedding=position_embedding, mask_padding=False)
    masked = create("mult", backbone_spec("mosi", dims=DIMS["mosi"]), position_embedding=position_embedding)
    masked = masked.double().eval()
    masked.load_state_dict(parity.state_dict())
    steps = {"text": 12, "audio": 30, "vision": 40}
    batch = random_batch({m: [steps[m]] * 3 for m in ORDER}, steps, DIMS["mosi"], seed=6)
    assert batch.lengths  # every frame valid, but through the masks
    torch.testing.assert_close(our_pred(masked, batch), our_pred(parity, batch), rtol=1e-10, atol=1e-10)


def tiny(**overrides) -> MulT:
    torch.manual_seed(0)
    return create("mult", backbone_spec(dims=TINY_DIMS), **{**TINY, **overrides}).double().eval()


@pytest.mark.parametrize("position_embedding", [False, True])
def test_mask_mode_ignores_padding_values_and_padded_length(position_embedding: bool) -> None:
    model = tiny(position_embedding=position_embedding)
    steps = {"text": 9, "audio": 14, "vision": 11}
    lengths = {"text": [9, 6, 2, 4], "audio": [14, 8, 3, 1], "vision": [5, 11, 2, 7]}
    clean = random_batch(lengths, steps, TINY_DIMS, seed=7)
    noisy = random_batch(lengths, steps, TINY_DIMS, seed=7, pad_value=4.0)
    pred = our_pred(model, clean)
    torch.testing.assert_close(our_pred(model, noisy), pred, rtol=1e-12, atol=1e-12)
    for i in range(4):  # each sample alone, cut to its own lengths (no padding at all)
        alone = Batch(
            **{m: getattr(clean, m)[i:i + 1, : max(lengths[m][i], model.config.kernel(m))] for m in ORDER},
            labels=clean.labels[i:i + 1],
            lengths={m: torch.tensor([lengths[m][i]]) for m in ORDER},
        )
        torch.testing.assert_close(our_pred(model, alone), pred[i:i + 1], rtol=1e-10, atol=1e-10)


def test_parity_mode_reads_padding() -> None:
    model = tiny(mask_padding=False)
    steps = {"text": 9, "audio": 14, "vision": 11}
    lengths = {"text": [9, 6], "audio": [14, 8], "vision": [11, 7]}
    clean = random_batch(lengths, steps, TINY_DIMS, seed=8)
    noisy = random_batch(lengths, steps, TINY_DIMS, seed=8, pad_value=4.0)
    assert not model.masks_padding and all(v is None for v in model.encode(clean).masks.values())
    diff = (our_pred(model, clean) - our_pred(model, noisy)).abs().squeeze(1)
    assert diff[0] == 0 and diff[1] > 1e-6


def test_shapes_and_masks() -> None:
    spec = backbone_spec("mosi", dims=DIMS["mosi"])
    batch = backbone_batch(3, spec=spec)
    faithful = create("mult", spec).eval().encode(batch)
    assert all(mask is None for mask in faithful.masks.values())  # MMSA's default reads every frame
    model = create("mult", spec, mask_padding=True).eval()
    enc = model.encode(batch)
    assert {m: tuple(z.shape) for m, z in enc.latents.items()} == {
        "text": (3, 4, 50), "audio": (3, 16, 50), "vision": (3, 16, 50)
    }
    assert enc.masks["text"] is None and enc.masks["audio"].dtype == torch.bool
    assert model.latent_dims == {"text": 50, "audio": 50, "vision": 50}
    assert (enc.latents["audio"][~enc.masks["audio"]] == 0).all()


@pytest.mark.parametrize("overrides", [{}, {"mask_padding": False, "position_embedding": True, "future_mask": False}])
def test_gradients_reach_every_parameter(overrides: dict) -> None:
    model = tiny(**overrides).train()
    steps = {"text": 9, "audio": 14, "vision": 11}
    batch = random_batch({"text": [9, 4, 2], "audio": [14, 6, 1], "vision": [11, 3, 2]}, steps, TINY_DIMS, seed=9)
    model(batch).pred.square().sum().backward()
    silent = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not silent


def test_sequences_shorter_than_a_kernel_are_zero_padded() -> None:
    model = tiny()
    steps = {"text": 3, "audio": 2, "vision": 4}
    batch = random_batch({m: [steps[m], 1] for m in ORDER}, steps, TINY_DIMS, seed=10)
    enc = model.encode(batch)
    assert enc.latents["text"].shape[1] == 1 and enc.masks["text"] is not None and enc.masks["text"].all()
    assert torch.isfinite(our_pred(model, batch)).all()


def test_text_encoder_reads_tokens(tmp_path) -> None:
    spec = backbone_spec(dims=TINY_DIMS)
    torch.manual_seed(0)
    model = create("mult", spec, text_encoder=write_tiny_bert(tmp_path / "bert"), **TINY).train()
    assert model.projections["text"].in_channels == 32
    batch = backbone_batch(3, spec=spec, with_text_bert=True)
    enc = model.encode(batch)
    assert enc.masks["text"] is not None
    model.fuse(enc.latents, enc.masks).pred.sum().backward()
    silent = [n for n, p in model.text_encoder.named_parameters() if p.grad is None]
    assert not silent


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="multiple of MulT.heads"):
        tiny(d_model=9)
    with pytest.raises(ValueError, match="mask_padding"):
        tiny(mask_padding=1)
    assert math.isclose(MulT.default_config("mosi")["train"]["clip_value"], 0.075)


def test_backbone_contract() -> None:
    check_backbone("mult")
