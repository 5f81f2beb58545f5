"""msmix.attribution against independent checks on tiny backbones.

- IG completeness: the scores add up to f(x) - f(0), computed here by calling the model.
- IG on a model linear in its inputs equals gradient x input exactly (autograd, per time step).
- A model that ignores one modality gives that modality zero attribution, by both methods.
- Feature ablation equals a brute-force loop that zeroes each time step (or modality) in turn.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from msmix import MODALITIES
from msmix.attribution import (
    attribute_inputs,
    attribute_latents,
    attribute_mixed,
    modality_shares,
    modality_totals,
)
from msmix.data.batch import Batch
from msmix.mixing.base import MixResult
from msmix.models.base import Backbone, Encoded, FuseOutput

DIMS = {"text": 5, "audio": 3, "vision": 4}
LENS = {"text": 6, "audio": 7, "vision": 1}
HIDDEN = 4


class TinyBackbone(Backbone):
    """Per-frame linear encoders, masked mean over time, and a small fusion head.

    ``ignore`` zeroes the fusion weights of one modality, so the prediction cannot depend on it;
    ``linear`` drops the tanh, making the prediction affine in the inputs; ``text_sequence`` keeps
    the text latent as a B x T x h sequence (with its mask) for the fusion to average.
    """

    def __init__(self, ignore: str | None = None, linear: bool = False, text_sequence: bool = False) -> None:
        super().__init__()
        self.latent_dims = {m: HIDDEN for m in MODALITIES}
        self.encoders = nn.ModuleDict({m: nn.Linear(DIMS[m], HIDDEN) for m in MODALITIES})
        self.head = nn.Linear(3 * HIDDEN, 3)
        self.out = nn.Linear(3, 1)
        self.linear, self.text_sequence = linear, text_sequence
        self.dropout = nn.Dropout(0.5)  # must be off during attribution
        if ignore is not None:
            column = MODALITIES.index(ignore) * HIDDEN
            with torch.no_grad():
                self.head.weight[:, column : column + HIDDEN] = 0.0

    def encode(self, batch: Batch) -> Encoded:
        latents, masks = {}, {}
        for m in MODALITIES:
            frames = self.encoders[m](getattr(batch, m))
            mask = batch.mask(m)
            if m == "text" and self.text_sequence:
                latents[m], masks[m] = frames, mask
            else:
                latents[m], masks[m] = _masked_mean(frames, mask), None
        return Encoded(latents, masks)

    def fuse(self, latents: dict[str, Tensor], masks: dict[str, Tensor | None] | None = None) -> FuseOutput:
        masks = masks or {}
        parts = [
            _masked_mean(latents[m], masks.get(m)) if latents[m].dim() == 3 else latents[m] for m in MODALITIES
        ]
        hidden = self.head(self.dropout(torch.cat(parts, dim=-1)))
        return FuseOutput(self.out(hidden if self.linear else torch.tanh(hidden)))


def _masked_mean(frames: Tensor, mask: Tensor | None) -> Tensor:
    if mask is None:
        return frames.mean(dim=1)
    weights = mask.to(frames.dtype).unsqueeze(-1)
    return (frames * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)


def make_batch(b: int = 4, seed: int = 0) -> Batch:
    gen = torch.Generator().manual_seed(seed)
    feats = {m: torch.randn(b, LENS[m], DIMS[m], generator=gen) for m in MODALITIES}
    lengths = {
        "text": torch.randint(2, LENS["text"] + 1, (b,), generator=gen),
        "audio": torch.randint(2, LENS["audio"] + 1, (b,), generator=gen),
    }
    # padded frames hold zeros, as in MMSA files
    for m, n in lengths.items():
        valid = torch.arange(LENS[m]).unsqueeze(0) < n.unsqueeze(1)
        feats[m] = feats[m] * valid.unsqueeze(-1)
    return Batch(**feats, labels=torch.zeros(b), lengths=lengths, ids=[f"s{i}" for i in range(b)])


def predict(model: Backbone, batch: Batch) -> Tensor:
    model.eval()
    with torch.no_grad():
        return model(batch).pred[:, 0].double()


def zeroed(batch: Batch, modality: str | None = None, step: int | None = None) -> Batch:
    """The batch with everything (modality None), one modality, or one of its time steps set to 0."""
    features = {}
    for m in MODALITIES:
        x = getattr(batch, m).clone()
        if modality is None or (m == modality and step is None):
            x.zero_()
        elif m == modality:
            x[:, step] = 0.0
        features[m] = x
    return batch.with_features(features)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def test_ig_completeness_on_inputs() -> None:
    model, batch = TinyBackbone(), make_batch()
    attr = attribute_inputs(model, batch, method="ig", n_steps=200)
    total = sum(attr.totals().values()).double()
    expected = predict(model, batch) - predict(model, zeroed(batch))
    assert torch.allclose(total, expected, atol=1e-4)
    # Captum's delta is the same gap, measured inside Captum
    assert torch.allclose((total - expected).abs(), attr.delta.abs().double(), atol=1e-5)
    assert torch.allclose(attr.prediction.double(), predict(model, batch), atol=1e-6)
    assert {m: tuple(s.shape) for m, s in attr.scores.items()} == {m: (4, LENS[m]) for m in MODALITIES}
    assert attr.ids == batch.ids and attr.space == "input"


def test_ig_is_gradient_times_input_for_a_linear_model() -> None:
    model, batch = TinyBackbone(linear=True), make_batch(seed=3)
    attr = attribute_inputs(model, batch, method="ig", n_steps=8)
    model.eval()
    feats = {m: getattr(batch, m).clone().requires_grad_(True) for m in MODALITIES}
    model(batch.with_features(feats)).pred.sum().backward()
    for m in MODALITIES:
        reference = (feats[m].grad * feats[m].detach()).sum(dim=-1)
        assert torch.allclose(attr.scores[m], reference, atol=1e-5), m


def test_padded_frames_get_no_attribution() -> None:
    batch = make_batch(seed=5)
    attr = attribute_inputs(TinyBackbone(), batch, method="ig", n_steps=16)
    for m, lengths in batch.lengths.items():
        padded = torch.arange(LENS[m]).unsqueeze(0) >= lengths.unsqueeze(1)
        assert padded.any()
        assert attr.scores[m][padded].abs().max() == 0.0


@pytest.mark.parametrize("method", ["ig", "ablation"])
@pytest.mark.parametrize("ignored", list(MODALITIES))
def test_an_ignored_modality_gets_zero_attribution(method: str, ignored: str) -> None:
    model, batch = TinyBackbone(ignore=ignored), make_batch(seed=1)
    attr = attribute_inputs(model, batch, method=method, n_steps=16)
    assert attr.scores[ignored].abs().max() == 0.0
    for m in MODALITIES:
        if m != ignored:
            assert attr.scores[m].abs().max() > 1e-6, m
    shares = modality_shares(attr)
    assert (shares[ignored] == 0).all()
    assert list(shares.index) == batch.ids


def test_ablation_equals_a_brute_force_occlusion_loop() -> None:
    model, batch = TinyBackbone(), make_batch(seed=2)
    attr = attribute_inputs(model, batch, method="ablation")
    full = predict(model, batch)
    assert attr.delta is None
    for m in MODALITIES:
        for t in range(LENS[m]):
            expected = full - predict(model, zeroed(batch, m, t))
            assert torch.allclose(attr.scores[m][:, t].double(), expected, atol=1e-5), (m, t)


def test_ablation_by_modality_zeroes_the_whole_modality() -> None:
    model, batch = TinyBackbone(), make_batch(seed=4)
    attr = attribute_inputs(model, batch, method="ablation", granularity="modality")
    full = predict(model, batch)
    for m in MODALITIES:
        assert attr.scores[m].shape == (4, 1)
        expected = full - predict(model, zeroed(batch, m))
        assert torch.allclose(attr.scores[m][:, 0].double(), expected, atol=1e-5), m


def test_attribution_leaves_the_model_as_it_was() -> None:
    model, batch = TinyBackbone(), make_batch()
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    first = attribute_inputs(model, batch, method="ig", n_steps=8)
    second = attribute_inputs(model, batch, method="ig", n_steps=8)
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    # dropout is off while attributing, so the result repeats
    assert all(torch.equal(first.scores[m], second.scores[m]) for m in MODALITIES)


def _latents(model: TinyBackbone, batch: Batch) -> tuple[dict[str, Tensor], dict[str, Tensor | None]]:
    with torch.no_grad():
        enc = model.encode(batch)
    return enc.latents, enc.masks


def test_latent_ig_completeness_and_per_token_scores() -> None:
    model, batch = TinyBackbone(text_sequence=True), make_batch(seed=6)
    latents, masks = _latents(model, batch)
    attr = attribute_latents(model, latents, masks, method="ig", n_steps=200, ids=batch.ids)
    assert attr.scores["text"].shape == (4, LENS["text"])
    assert attr.scores["audio"].shape == (4, 1) and attr.scores["vision"].shape == (4, 1)
    model.eval()
    with torch.no_grad():
        f_x = model.fuse(latents, masks).pred[:, 0].double()
        f_0 = model.fuse({m: torch.zeros_like(z) for m, z in latents.items()}, masks).pred[:, 0].double()
    total = sum(attr.totals().values()).double()
    assert torch.allclose(total, f_x - f_0, atol=1e-4)
    padded = ~masks["text"]
    assert attr.scores["text"][padded].abs().max() == 0.0


def test_latent_ablation_equals_brute_force_per_token() -> None:
    model, batch = TinyBackbone(text_sequence=True), make_batch(seed=7)
    latents, masks = _latents(model, batch)
    attr = attribute_latents(model, latents, masks, method="ablation")
    model.eval()
    with torch.no_grad():
        full = model.fuse(latents, masks).pred[:, 0].double()
        for t in range(LENS["text"]):
            text = latents["text"].clone()
            text[:, t] = 0.0
            expected = full - model.fuse({**latents, "text": text}, masks).pred[:, 0].double()
            assert torch.allclose(attr.scores["text"][:, t].double(), expected, atol=1e-5), t
        for m in ("audio", "vision"):
            expected = full - model.fuse({**latents, m: torch.zeros_like(latents[m])}, masks).pred[:, 0].double()
            assert torch.allclose(attr.scores[m][:, 0].double(), expected, atol=1e-5), m


def _mix_of(latents: dict[str, Tensor], masks: dict[str, Tensor | None]) -> MixResult:
    """Three hand-made mixed samples (pairs 0-1, 1-2, 2-3 at ratio 0.3)."""
    a, b = torch.tensor([0, 1, 2]), torch.tensor([1, 2, 3])
    mixed = {m: 0.3 * z[a] + 0.7 * z[b] for m, z in latents.items()}
    mixed_masks = {m: None if k is None else k[a] | k[b] for m, k in masks.items()}
    weights = torch.zeros(3, 4)
    weights[torch.arange(3), a], weights[torch.arange(3), b] = 0.3, 0.7
    return MixResult(
        weights={**{m: weights for m in latents}, "label": weights},
        mixed=mixed, labels=torch.zeros(3), aux_loss=torch.zeros(()), masks=mixed_masks,
        index_a=a, index_b=b,
    )


@pytest.mark.parametrize("ignored", ["audio", "text"])
def test_mixed_samples_attribution_ignores_an_unused_modality(ignored: str) -> None:
    model, batch = TinyBackbone(ignore=ignored, text_sequence=True), make_batch(seed=8)
    mix = _mix_of(*_latents(model, batch))
    for method in ("ig", "ablation"):
        attr = attribute_mixed(model, mix, method=method, n_steps=16)
        assert len(attr) == 3 and attr.space == "latent"
        assert attr.scores[ignored].abs().max() == 0.0
        model.eval()
        with torch.no_grad():
            expected = model.fuse(mix.mixed, mix.masks).pred[:, 0]
        assert torch.allclose(attr.prediction, expected, atol=1e-6)


def test_empty_mix_is_refused_clearly() -> None:
    model, batch = TinyBackbone(), make_batch()
    latents, _ = _latents(model, batch)
    with pytest.raises(ValueError, match="k = 0"):
        attribute_mixed(model, MixResult.empty(latents, batch.labels))


def test_bad_method_and_granularity_are_named() -> None:
    model, batch = TinyBackbone(), make_batch()
    with pytest.raises(ValueError, match="method must be one of"):
        attribute_inputs(model, batch, method="shap")
    with pytest.raises(ValueError, match="granularity must be one of"):
        attribute_inputs(model, batch, granularity="frame")


def test_totals_and_shares_tables() -> None:
    model, batch = TinyBackbone(), make_batch()
    attr = attribute_inputs(model, batch, method="ablation")
    totals = modality_totals(attr)
    shares = modality_shares(attr)
    assert list(totals.columns) == list(MODALITIES) and list(totals.index) == batch.ids
    for i in range(len(batch)):
        raw = [float(attr.scores[m][i].sum()) for m in MODALITIES]
        magnitude = sum(abs(v) for v in raw)
        for m, v in zip(MODALITIES, raw):
            assert math.isclose(totals.iloc[i][m], v, rel_tol=1e-6, abs_tol=1e-9)
            assert math.isclose(shares.iloc[i][m], abs(v) / magnitude, rel_tol=1e-6)
    zero = type(attr)(scores={m: torch.zeros(1, 1) for m in MODALITIES}, method="ig", space="latent",
                      prediction=torch.zeros(1))
    assert modality_shares(zero).isna().all().all()
