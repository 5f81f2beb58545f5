"""MISA: parameter counts and recipes against MMSA 2.2.1, predictions and auxiliary losses equal to
MMSA's on shared weights (fine-tuned BERT and precomputed text), padding, gradients, settings."""

from __future__ import annotations

import pytest
import torch

from misa_reference import (
    mmsa_args, mmsa_misa, mmsa_weighted_losses, non_bert_count, renamed_state, unused_count, write_bert_folder,
)
from msmix.data.batch import Batch
from msmix.data.spec import DataSpec
from msmix.models import create
from msmix.models.misa import MISA, difference_loss, moment_discrepancy
from msmix.models.text_encoder import TextEncoderError
from msmix.testing import backbone_batch, backbone_spec, check_backbone

MOSI = {"text": 768, "audio": 5, "vision": 20}
DIMS = {
    "mosi": MOSI,
    "mosei": {"text": 768, "audio": 74, "vision": 35},
    "sims": {"text": 768, "audio": 33, "vision": 709},
}
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")  # MMSA's own layer, batch-second

PUBLISHED_MILLIONS = {"mosi": 1.14, "mosei": 1.44, "sims": 21.7}
SHORT = {"text": 8, "audio": 12, "vision": 10}


def short_spec(dims: dict[str, int] = MOSI) -> DataSpec:
    return DataSpec(kind="mosi", dims=dict(dims), seq_lens=dict(SHORT), name="test")


def batch_with(text_len: list[int], audio_len: list[int], vision_len: list[int], seed: int = 0, pad: float = 0.0,
               dims: dict[str, int] = MOSI) -> Batch:
    """Right-padded random features with the given lengths; text validity comes with ``text_bert`` tokens."""
    g = torch.Generator().manual_seed(seed)
    b = len(text_len)
    features, lengths = {}, {}
    for m, n in (("text", text_len), ("audio", audio_len), ("vision", vision_len)):
        n = torch.tensor(n)
        valid = torch.arange(SHORT[m]).unsqueeze(0) < n.unsqueeze(1)
        x = torch.randn(b, SHORT[m], dims[m], generator=g)
        features[m] = torch.where(valid.unsqueeze(-1), x, torch.full_like(x, pad))
        if m != "text":
            lengths[m] = n
    mask = (torch.arange(SHORT["text"]).unsqueeze(0) < torch.tensor(text_len).unsqueeze(1)).long()
    ids = torch.randint(5, 100, (b, SHORT["text"]), generator=g)
    ids[:, 0] = 2
    tokens = torch.stack([ids * mask, mask, torch.zeros_like(mask)], dim=1)
    return Batch(**features, labels=torch.zeros(b), lengths=lengths, text_bert=tokens)


# audio shorter than text in samples 1 and 3: MMSA reads their padding frames
TEXT_LEN, AUDIO_LEN, VISION_LEN = [8, 5, 3, 7, 1], [12, 2, 9, 4, 1], [10, 7, 3, 2, 1]


@pytest.fixture(scope="module")
def bert768(tmp_path_factory) -> str:
    """A one-layer random BERT of width 768 (MMSA's MISA hard-codes 768 text features)."""
    return write_bert_folder(tmp_path_factory.mktemp("bert768"), hidden=768, layers=1, heads=2)


@pytest.fixture(scope="module")
def bert32(tmp_path_factory) -> str:
    return write_bert_folder(tmp_path_factory.mktemp("bert32"))


@pytest.mark.parametrize("kind", ["mosi", "mosei", "sims"])
def test_parameter_count_equals_mmsa_without_its_untrained_parts(kind: str, bert32: str) -> None:
    reference = mmsa_misa(kind, DIMS[kind], bert32)
    ours = create("misa", backbone_spec(kind, dims=DIMS[kind]))
    n = sum(p.numel() for p in ours.parameters())
    assert n == non_bert_count(reference) - unused_count(reference)
    assert unused_count(reference) == 2 * 768 * 2 + 128 * 4 + 4  # tlayer_norm and sp_discriminator
    assert round(non_bert_count(reference) / 1e6, 2 if kind != "sims" else 1) == PUBLISHED_MILLIONS[kind]


@pytest.mark.parametrize("kind", ["mosi", "mosei", "sims"])
def test_recipe_follows_mmsa_config(kind: str, bert32: str) -> None:
    args = mmsa_args(kind, DIMS[kind], bert32)
    recipe = MISA.default_config(kind)
    model, train = recipe["model"], recipe["train"]
    assert args.use_cmd_sim and args.rnncell == "lstm" and args.use_finetune
    assert model["hidden_size"] == args.hidden_size and model["fusion_dropout"] == args.dropout
    for name in ("diff_weight", "sim_weight", "recon_weight"):
        assert model[name] == args[name]
    assert (train["batch_size"], train["lr"]) == (args.batch_size, args.learning_rate)
    assert train["clip_value"] == args.grad_clip / args.update_epochs  # the same bound on MMSA's summed gradient
    assert (train["grad_accum"], train["patience"], train["loss"]) == (args.update_epochs, args.early_stop, "mse")
    assert train["weight_decay"] == 0.0  # MMSA's trainer does not pass its config's weight decay to Adam
    assert model["text_encoder"] is None and not model["pack_with_own_lengths"]


def test_predictions_and_losses_equal_mmsa_with_a_finetuned_bert(bert768: str) -> None:
    torch.manual_seed(0)
    reference = mmsa_misa("mosi", MOSI, bert768).eval()
    ours = create("misa", short_spec(), text_encoder=bert768).eval()
    ours.load_state_dict(renamed_state(reference))
    batch = batch_with(TEXT_LEN, AUDIO_LEN, VISION_LEN, pad=0.7)
    with torch.no_grad():
        expected = reference(batch.text_bert.float(), batch.audio, batch.vision)["M"]
        losses = mmsa_weighted_losses(reference, mmsa_args("mosi", MOSI, bert768))
        out = ours(batch)
    torch.testing.assert_close(out.pred, expected, rtol=1e-5, atol=1e-5)
    assert sorted(out.aux_losses) == ["diff", "recon", "sim"]
    for name, value in losses.items():
        torch.testing.assert_close(out.aux_losses[name], value, rtol=1e-5, atol=1e-6)


def test_precomputed_text_states_equal_mmsa_bert_path(bert768: str) -> None:
    torch.manual_seed(1)
    reference = mmsa_misa("mosi", MOSI, bert768).eval()
    ours = create("misa", short_spec()).eval()
    ours.load_state_dict(renamed_state(reference, with_bert=False))
    batch = batch_with(TEXT_LEN, AUDIO_LEN, VISION_LEN, seed=3, pad=-0.4)
    with torch.no_grad():
        expected = reference(batch.text_bert.float(), batch.audio, batch.vision)["M"]
        states = reference.bertmodel(batch.text_bert.float())
        got = ours(batch.with_features({"text": states})).pred
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_text_mean_ignores_padded_text_frames() -> None:
    torch.manual_seed(0)
    model = create("misa", short_spec()).eval()
    clean = batch_with(TEXT_LEN, AUDIO_LEN, VISION_LEN, seed=4)
    noisy = batch_with(TEXT_LEN, AUDIO_LEN, VISION_LEN, seed=4, pad=3.0)
    noisy = clean.with_features({"text": noisy.text})
    assert not torch.equal(noisy.text, clean.text)
    torch.testing.assert_close(model.encode(noisy).latents["text"], model.encode(clean).latents["text"])
    torch.testing.assert_close(model(noisy).pred, model(clean).pred)


def test_own_lengths_ignore_padding_and_text_lengths_read_it() -> None:
    clean = batch_with(TEXT_LEN, AUDIO_LEN, VISION_LEN, seed=5)
    noisy = batch_with(TEXT_LEN, AUDIO_LEN, VISION_LEN, seed=5, pad=2.0)
    noisy = clean.with_features({"audio": noisy.audio, "vision": noisy.vision})
    torch.manual_seed(0)
    own = create("misa", short_spec(), pack_with_own_lengths=True).eval()
    assert own.masks_padding
    torch.testing.assert_close(own(noisy).pred, own(clean).pred)
    torch.manual_seed(0)
    quirk = create("misa", short_spec()).eval()
    assert not quirk.masks_padding
    changed = (quirk(noisy).pred - quirk(clean).pred).abs().flatten() > 1e-6
    assert changed.tolist() == [False, True, False, True, False]  # samples whose audio or vision is shorter than text


def test_left_padding_is_read_as_right_padding() -> None:
    torch.manual_seed(0)
    model = create("misa", short_spec(), pack_with_own_lengths=True).eval()
    right = batch_with(TEXT_LEN, AUDIO_LEN, VISION_LEN, seed=6)
    rolled = {}
    for m in ("audio", "vision"):
        x, n = getattr(right, m), right.lengths[m]
        rolled[m] = torch.stack([torch.roll(x[i], int(x.shape[1] - n[i]), 0) for i in range(len(right))])
    left = Batch(
        text=right.text, labels=right.labels, lengths=right.lengths, padding="left", text_bert=right.text_bert, **rolled
    )
    torch.testing.assert_close(model(left).pred, model(right).pred)


def test_gradients_reach_a_finetuned_text_encoder(bert32: str) -> None:
    torch.manual_seed(0)
    model = create("misa", short_spec(), text_encoder=bert32).train()
    assert model.latent_dims == {"text": 128, "audio": 128, "vision": 128}
    assert model.project["text"][0].in_features == 32
    out = model(batch_with(TEXT_LEN, AUDIO_LEN, VISION_LEN))
    (out.pred.square().mean() + sum(out.aux_losses.values())).backward()
    silent = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not silent
    assert any(n.startswith("text_encoder.") for n, _ in model.named_parameters())


def test_a_frozen_text_encoder_gets_no_gradient(bert32: str) -> None:
    torch.manual_seed(0)
    model = create("misa", short_spec(), text_encoder=bert32, finetune_text_encoder=False).train()
    out = model(batch_with(TEXT_LEN, AUDIO_LEN, VISION_LEN))
    (out.pred.square().mean() + sum(out.aux_losses.values())).backward()
    for name, p in model.named_parameters():
        if name.startswith("text_encoder."):
            assert not p.requires_grad and p.grad is None, name
        else:
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_text_encoder_without_tokens_says_so(bert32: str) -> None:
    model = create("misa", short_spec(), text_encoder=bert32)
    batch = batch_with(TEXT_LEN, AUDIO_LEN, VISION_LEN)
    batch.text_bert = None
    with pytest.raises(TextEncoderError, match="text_bert"):
        model.encode(batch)


def test_a_training_batch_of_one_has_finite_gradients() -> None:
    torch.manual_seed(0)
    model = create("misa", short_spec()).train()
    out = model(batch_with([4], [6], [3]))
    assert out.aux_losses["sim"] > 0
    (out.pred.sum() + sum(out.aux_losses.values())).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_losses_are_weighted_and_zero_for_identical_shared_statistics() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 4, generator=g, dtype=torch.float64)
    assert moment_discrepancy({"text": x, "vision": x, "audio": x}, 5) == 0
    shifted = {"text": x, "vision": x + 0.5, "audio": x}
    torch.testing.assert_close(moment_discrepancy(shifted, 1), torch.tensor(2 / 3 * 0.5 * 4**0.5, dtype=torch.float64))
    private = {m: torch.rand(6, 4, generator=g, dtype=torch.float64) for m in ("text", "vision", "audio")}
    assert difference_loss(private, shifted) > 0
    torch.manual_seed(0)
    model = create("misa", short_spec()).eval()
    doubled = create("misa", short_spec(), diff_weight=0.2, sim_weight=0.6, recon_weight=2.0).eval()
    doubled.load_state_dict(model.state_dict())
    batch = batch_with(TEXT_LEN, AUDIO_LEN, VISION_LEN)
    a, b = model(batch).aux_losses, doubled(batch).aux_losses
    for name in a:
        torch.testing.assert_close(b[name], 2 * a[name])


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="divisible"):
        create("misa", short_spec(), transformer_heads=3)
    with pytest.raises(ValueError, match="sim_weight"):
        create("misa", short_spec(), sim_weight=-1.0)
    with pytest.raises(ValueError, match="pack_with_own_lengths"):
        create("misa", short_spec(), pack_with_own_lengths=1)


def test_contract() -> None:
    check_backbone("misa")


def test_mosi_sized_forward_shapes() -> None:
    spec = DataSpec(kind="mosi", dims=MOSI, seq_lens={"text": 50, "audio": 375, "vision": 500}, name="mosi")
    model = create("misa", spec).eval()
    batch = backbone_batch(3, spec=spec, with_text_bert=True)
    enc = model.encode(batch)
    assert {m: tuple(z.shape) for m, z in enc.latents.items()} == {m: (3, 128) for m in MOSI}
    assert model.fuse(enc.latents).pred.shape == (3, 1)
