"""MS-Mix skips a modality the data never hold: no predictor, no SAL term, no share of the pair
similarity or the label ratio; its latents follow the label ratio. Checked against float64
re-derivations from the paper's formulas on random inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from msmix.data.spec import DataSpec
from msmix.mixing import create
from msmix.mixing.base import mixer_class
from msmix.models import create as create_backbone
from msmix.train.assemble import build

DIMS = {"text": 12, "audio": 4, "vision": 6}


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def _cosine_matrix(z: np.ndarray) -> np.ndarray:
    unit = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-8)
    return unit @ unit.T


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_absent_modalities_are_left_out_of_every_decision(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    b = 8
    latents = {m: torch.randn(b, d, generator=g, dtype=torch.float64) for m, d in DIMS.items()}
    labels = torch.rand(b, generator=g, dtype=torch.float64) * 6 - 3
    torch.manual_seed(seed)
    mixer = create("msmix", DIMS, 3.0, absent=("audio", "vision"), threshold=0.0).double()
    assert set(mixer.predictors) == {"text"} and mixer.present == ("text",)
    result = mixer(latents, labels, generator=torch.Generator().manual_seed(seed))

    intensity = result.intensities["text"].detach().numpy()
    assert set(result.intensities) == {"text"}
    np.testing.assert_allclose(intensity, mixer.predictors["text"](latents["text"]).detach().numpy())
    # SAL (batch KL, x1000) over text alone.
    y = labels.numpy()
    p_y, p_i = _softmax(np.abs(y) / 3) + 1e-8, _softmax(np.abs(intensity) / 3) + 1e-8
    np.testing.assert_allclose(float(result.aux_loss.detach()), 1000 * np.sum(p_y * (np.log(p_y) - np.log(p_i))) / b, rtol=1e-9)
    # Pair similarity from text alone, min-maxed off the diagonal.
    sim = _cosine_matrix(latents["text"].numpy())
    off = ~np.eye(b, dtype=bool)
    expected = np.where(off, (sim - sim[off].min()) / (sim[off].max() - sim[off].min()), 0.0)
    np.testing.assert_allclose(result.similarity.numpy(), expected, atol=1e-6)  # SASS works in float32
    # The label follows the text ratio alone; the absent latents follow the label ratio.
    a, c = result.index_a.numpy(), result.index_b.numpy()
    lam = result.label_ratio.detach().numpy()
    np.testing.assert_allclose(lam, result.ratios["text"].detach().numpy(), rtol=1e-12)
    for m in ("audio", "vision"):
        z = latents[m].numpy()
        np.testing.assert_allclose(result.mixed[m].detach().numpy(), lam[:, None] * z[a] + (1 - lam[:, None]) * z[c], rtol=1e-12)
    np.testing.assert_allclose(result.labels.detach().numpy(), lam * y[a] + (1 - lam) * y[c], rtol=1e-12)


def test_without_absent_modalities_every_one_counts() -> None:
    mixer = create("msmix", DIMS, 3.0)
    assert set(mixer.predictors) == set(DIMS) and mixer.absent == ()


def test_absent_must_name_known_modalities_and_leave_one() -> None:
    with pytest.raises(ValueError, match="absent names \\['smell'\\]"):
        create("msmix", DIMS, 3.0, absent=("smell",))
    with pytest.raises(ValueError, match="at least one modality the data hold"):
        create("msmix", DIMS, 3.0, absent=tuple(DIMS))
    assert create("mixup", DIMS, 3.0, absent=("audio",)).absent == ("audio",)


def test_a_run_on_data_missing_modalities_builds_its_mixer_to_skip_them() -> None:
    spec = DataSpec("custom", {"text": 384, "audio": 25, "vision": 35}, {"text": 50, "audio": 1, "vision": 1},
                    missing=("audio", "vision"))
    backbone = create_backbone("tfn", spec).__class__
    msmix_cls = mixer_class("msmix")
    _model, mixer = build(backbone, backbone.make_config("custom"), msmix_cls, msmix_cls.make_config({}), spec)
    assert mixer.absent == ("audio", "vision") and set(mixer.predictors) == {"text"}
    assert DataSpec.from_dict(spec.to_dict()).missing == ("audio", "vision")
