"""The objective against a brute-force loop, for pairwise and dense weight matrices."""

from __future__ import annotations

import pytest
import torch

from msmix.mixing import LossParts, MixResult, ObjectiveConfig, create, mixup_loss, objective


def _loss(p: float, y: float, kind: str) -> float:
    return abs(p - y) if kind == "l1" else (p - y) ** 2


def _per_sample(pred: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    return (pred - y).abs() if kind == "l1" else (pred - y) ** 2


def _dense_result(b: int, k: int, seed: int) -> tuple[MixResult, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    labels = torch.rand(b, generator=g) * 6 - 3
    w = torch.rand(k, b, generator=g)
    w = w / w.sum(1, keepdim=True)
    result = MixResult(weights={"label": w}, mixed={}, labels=w @ labels, aux_loss=torch.tensor(0.8))
    return result, labels


@pytest.mark.parametrize("kind", ["l1", "mse"])
def test_objective_matches_brute_force(kind):
    b, k = 6, 9
    mix, labels = _dense_result(b, k, seed=1)
    g = torch.Generator().manual_seed(2)
    pred_orig, pred_mixed = torch.randn(b, 1, generator=g), torch.randn(k, 1, generator=g)
    aux = {"diff": torch.tensor(0.3), "recon": torch.tensor(1.5)}
    config = ObjectiveConfig(loss=kind, mix_weight=0.7, sal_weight=0.5, backbone_weights={"recon": 0.1})
    parts = objective(pred_orig, labels, pred_mixed, mix, config, backbone_aux=aux)

    y, w = labels.tolist(), mix.weights["label"].tolist()
    po, pm = pred_orig.flatten().tolist(), pred_mixed.flatten().tolist()
    task = sum(_loss(po[i], y[i], kind) for i in range(b)) / b
    mixup = sum(sum(w[r][i] * _loss(pm[r], y[i], kind) for i in range(b)) for r in range(k)) / k
    total = task + 0.7 * mixup + 0.5 * 0.8 + 0.3 + 0.1 * 1.5
    assert isinstance(parts, LossParts)
    assert parts.task.item() == pytest.approx(task, rel=1e-5)
    assert parts.mixup.item() == pytest.approx(mixup, rel=1e-5)
    assert parts.aux.item() == pytest.approx(0.8)
    assert parts.total.item() == pytest.approx(total, rel=1e-5)
    assert set(parts.backbone) == {"diff", "recon"}


def test_pairs_reduce_to_the_authors_form():
    b = 8
    g = torch.Generator().manual_seed(3)
    latents = {"text": torch.randn(b, 6, generator=g), "audio": torch.randn(b, 4, generator=g)}
    labels = torch.rand(b, generator=g) * 6 - 3
    torch.manual_seed(0)
    mix = create("msmix", {"text": 6, "audio": 4})(latents, labels, generator=torch.Generator().manual_seed(0))
    pred_mixed = torch.randn(mix.k, generator=g)
    lam = mix.label_ratio.detach()
    y_a, y_b = labels[mix.index_a], labels[mix.index_b]
    for kind in ("l1", "mse"):
        la, lb = _per_sample(pred_mixed, y_a, kind), _per_sample(pred_mixed, y_b, kind)
        expected = (lam * la + (1 - lam) * lb).mean()
        got = mixup_loss(pred_mixed, labels, mix.weights["label"].detach(), kind)
        assert got.item() == pytest.approx(expected.item(), rel=1e-5)


def test_no_mixed_samples_skip_the_mixup_term():
    labels = torch.tensor([0.5, -1.0, 2.0])
    empty = MixResult.empty({"text": torch.zeros(3, 4)}, labels)
    pred = torch.tensor([0.0, 0.0, 1.0], requires_grad=True)
    parts = objective(pred, labels, torch.zeros(0, 1), empty)
    assert parts.mixup.item() == 0.0 and parts.aux.item() == 0.0
    assert parts.total.item() == pytest.approx((0.5 + 1.0 + 1.0) / 3)
    parts.total.backward()
    assert torch.isfinite(pred.grad).all()


def test_gradients_flow_through_the_label_weights():
    mix, labels = _dense_result(4, 3, seed=4)
    mix.weights["label"].requires_grad_()
    pred_mixed = torch.randn(3, requires_grad=True)
    objective(torch.zeros(4), labels, pred_mixed, mix).total.backward()
    assert mix.weights["label"].grad.abs().sum() > 0 and pred_mixed.grad.abs().sum() > 0


def test_bad_inputs_are_named():
    mix, labels = _dense_result(4, 3, seed=5)
    with pytest.raises(ValueError, match="one prediction per mixed sample"):
        objective(torch.zeros(4), labels, torch.zeros(2), mix)
    with pytest.raises(ValueError, match="one prediction per label"):
        objective(torch.zeros(5), labels, torch.zeros(3), mix)
    with pytest.raises(ValueError, match="loss"):
        ObjectiveConfig(loss="huber")
