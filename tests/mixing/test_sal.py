"""SAL against hand-written float64 softmax, KL and squared error."""

from __future__ import annotations

import math

import pytest
import torch

from msmix.mixing.sal import sal_batch_kl, sal_per_sample

MODALITIES = ("text", "audio", "vision")


def _inputs(b: int, seed: int, label_range: float = 3.0):
    g = torch.Generator().manual_seed(seed)
    labels = (torch.rand(b, generator=g) * 2 - 1) * label_range
    intensities = {m: (torch.rand(b, generator=g) * 2 - 1) * label_range for m in MODALITIES}
    return intensities, labels


def _softmax(values: list[float]) -> list[float]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    return [e / sum(exps) for e in exps]


def _reference_batch_kl(intensities, labels, label_range, scale=1000.0, eps=1e-8) -> float:
    """scale * sum_m sum_i p_Y,i (log p_Y,i - log p_I,i) / B, with the code's +eps."""
    b = len(labels)
    p_y = [p + eps for p in _softmax([abs(v) / label_range for v in labels.double().tolist()])]
    total = 0.0
    for i in intensities.values():
        p_i = [p + eps for p in _softmax([abs(v) / label_range for v in i.double().tolist()])]
        total += sum(py * (math.log(py) - math.log(pi)) for py, pi in zip(p_y, p_i)) / b
    return scale * total


@pytest.mark.parametrize(("b", "label_range"), [(7, 3.0), (16, 1.0), (2, 3.0)])
def test_batch_kl_matches_reference(b, label_range):
    intensities, labels = _inputs(b, seed=b, label_range=label_range)
    got = sal_batch_kl(intensities, labels, label_range)
    assert got.item() == pytest.approx(_reference_batch_kl(intensities, labels, label_range), rel=1e-4, abs=1e-6)
    unscaled = sal_batch_kl(intensities, labels, label_range, scale=1.0)
    assert unscaled.item() == pytest.approx(got.item() / 1000, rel=1e-5)


def test_batch_kl_vanishes_when_magnitudes_match_labels_and_ignores_sign():
    _, labels = _inputs(9, seed=1)
    flipped = {m: -labels for m in MODALITIES}
    assert sal_batch_kl(flipped, labels).item() == pytest.approx(0.0, abs=1e-3)
    labels_2d = labels.unsqueeze(1)
    torch.testing.assert_close(sal_batch_kl(flipped, labels_2d), sal_batch_kl(flipped, labels))


def test_per_sample_matches_reference():
    intensities, labels = _inputs(8, seed=2)
    expected = sum(
        sum((iv / 3 - yv / 3) ** 2 for iv, yv in zip(i.double().tolist(), labels.double().tolist())) / 8
        for i in intensities.values()
    )
    assert sal_per_sample(intensities, labels, 3.0).item() == pytest.approx(expected, rel=1e-5)
    assert sal_per_sample(intensities, labels, 3.0, scale=2.0).item() == pytest.approx(2 * expected, rel=1e-5)
    assert sal_per_sample({m: labels for m in MODALITIES}, labels).item() == 0.0


@pytest.mark.parametrize("loss", [sal_batch_kl, sal_per_sample])
def test_gradients_reach_every_intensity(loss):
    intensities, labels = _inputs(6, seed=3)
    leaves = {m: i.clone().requires_grad_() for m, i in intensities.items()}
    loss(leaves, labels).backward()
    for leaf in leaves.values():
        assert torch.isfinite(leaf.grad).all() and leaf.grad.abs().sum() > 0


def test_mismatched_shapes_are_named():
    intensities, labels = _inputs(4, seed=4)
    with pytest.raises(ValueError, match="one per label"):
        sal_batch_kl(intensities, labels[:3])
