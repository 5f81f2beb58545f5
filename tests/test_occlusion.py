"""Modality occlusion against a linear backbone whose predictions are re-derived in float64 numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from msmix import MODALITIES
from msmix.data.dataset import Split
from msmix.metrics import regression_metrics
from msmix.models.base import Backbone, Encoded, FuseOutput
from msmix.occlusion import NOTHING, occlude, occluded_predictions, occlusion_table

SHAPES = {"text": (6, 4), "audio": (9, 3), "vision": (5, 2)}


class MeanLinear(Backbone):
    """pred = sum over modalities of weight[m] * mean of that modality's features (a known function)."""

    def __init__(self, weights: dict[str, float]) -> None:
        super().__init__()
        self.weights = weights
        self.bias = nn.Parameter(torch.tensor(0.25))
        self.latent_dims = {m: 1 for m in MODALITIES}

    def encode(self, batch) -> Encoded:
        return Encoded({m: getattr(batch, m).mean(dim=(1, 2)).unsqueeze(1) for m in MODALITIES})

    def fuse(self, latents: dict[str, Tensor], masks=None) -> FuseOutput:
        total = sum(self.weights[m] * latents[m] for m in MODALITIES)
        return FuseOutput(total + self.bias)


def random_split(n: int, seed: int = 0) -> Split:
    g = torch.Generator().manual_seed(seed)
    features = {m: torch.randn(n, *shape, generator=g) for m, shape in SHAPES.items()}
    labels = torch.rand(n, generator=g) * 6 - 3
    lengths = {"audio": torch.randint(1, 10, (n,), generator=g)}
    return Split("test", **features, labels=labels, ids=[f"s{i}" for i in range(n)],
                 raw_text=[""] * n, lengths=lengths)


def expected_predictions(split: Split, weights: dict[str, float], occluded: str | None) -> np.ndarray:
    """The backbone's function re-derived in float64, with the occluded modality's mean set to 0."""
    total = np.full(len(split), 0.25)
    for m in MODALITIES:
        if m != occluded:
            total += weights[m] * getattr(split, m).double().numpy().mean(axis=(1, 2))
    return total


WEIGHTS = {"text": 2.0, "audio": -1.5, "vision": 0.7}


@pytest.mark.parametrize("occluded", [None, *MODALITIES])
@pytest.mark.parametrize("batch_size", [1, 7, 256])
def test_predictions_match_a_float64_rederivation(occluded: str | None, batch_size: int) -> None:
    split = random_split(23)
    pred = occluded_predictions(MeanLinear(WEIGHTS), split, occluded, batch_size=batch_size)
    np.testing.assert_allclose(pred.double().numpy(), expected_predictions(split, WEIGHTS, occluded), atol=1e-5)


def test_table_scores_each_condition_with_mmsa_metrics() -> None:
    split = random_split(40, seed=3)
    table = occlusion_table(MeanLinear(WEIGHTS), split, "mosi")
    assert list(table.index) == [NOTHING, *MODALITIES]
    assert table.index.name == "occluded"
    full = expected_predictions(split, WEIGHTS, None)
    for condition in table.index:
        pred = expected_predictions(split, WEIGHTS, None if condition == NOTHING else condition)
        metrics = regression_metrics(torch.from_numpy(pred).float(), split.labels, "mosi")
        for key, value in metrics.items():
            assert table.loc[condition, key] == pytest.approx(value, abs=1e-4, nan_ok=True), (condition, key)
        assert table.loc[condition, "mean_abs_shift"] == pytest.approx(np.abs(pred - full).mean(), abs=1e-5)


def test_an_ignored_modality_changes_nothing() -> None:
    split = random_split(30, seed=5)
    table = occlusion_table(MeanLinear({**WEIGHTS, "vision": 0.0}), split, "mosi", modalities=["vision", "text"])
    assert list(table.index) == [NOTHING, "vision", "text"]
    assert table.loc["vision", "mean_abs_shift"] == 0.0
    assert table.loc["vision"].drop("mean_abs_shift").equals(table.loc[NOTHING].drop("mean_abs_shift"))
    assert table.loc["text", "mean_abs_shift"] > 0


def test_occlude_zeroes_one_modality_and_keeps_the_rest() -> None:
    batch = random_split(5).all()
    out = occlude(batch, "audio")
    assert torch.count_nonzero(out.audio) == 0 and out.audio.shape == batch.audio.shape
    assert torch.equal(out.text, batch.text) and torch.equal(out.vision, batch.vision)
    assert torch.equal(out.lengths["audio"], batch.lengths["audio"]) and torch.equal(out.labels, batch.labels)
    assert torch.count_nonzero(batch.audio) > 0  # the input is not modified


def test_model_mode_is_restored() -> None:
    model = MeanLinear(WEIGHTS).train()
    occluded_predictions(model, random_split(4), "text")
    assert model.training


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, s: occluded_predictions(m, s, "video"), "modality must be one of"),
        (lambda m, s: occluded_predictions(m, s, "text", batch_size=0), "batch_size"),
        (lambda m, s: occlusion_table(m, s, "mosi", modalities=[]), "at least one modality"),
        (lambda m, s: occlusion_table(m, s, "mosi", modalities=["text", "speech"]), "'speech'"),
    ],
)
def test_bad_arguments_are_named(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(MeanLinear(WEIGHTS), random_split(4))
