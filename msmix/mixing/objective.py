"""The training objective shared by every mixer.

total = task loss on the originals
      + mix_weight * mixup loss on the mixed samples
      + sal_weight * the mixer's auxiliary loss (MS-Mix's SAL)
      + the backbone's own auxiliary losses (each times its weight, default 1).

The mixup loss uses the label weight matrix W (k x B) of ``MixResult``: for mixed sample r,
sum_i W[r, i] * l(pred_r, y_i), averaged over r. For a pair this is
lam_L * l(pred, y_a) + (1 - lam_L) * l(pred, y_b), as in the authors' code, and the same formula
serves dense mixers (MultiMix, PowMix). With k = 0 the mixup term is 0, not the mean of nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from torch import Tensor

from msmix.mixing.base import MixResult

LOSS_TYPES = ("l1", "mse")


@dataclass(frozen=True)
class ObjectiveConfig:
    """Weights and loss type of the objective.

    Attributes:
        loss: ``"l1"`` (MMSA's TFN/LMF) or ``"mse"`` (the authors' ALMT trainer).
        mix_weight: weight of the mixup loss (0.7 in the authors' code).
        sal_weight: weight of the mixer's auxiliary loss (0.5 in the authors' code).
        backbone_weights: weight per named backbone auxiliary loss; a name not listed weighs 1.
    """

    loss: str = "l1"
    mix_weight: float = 0.7
    sal_weight: float = 0.5
    backbone_weights: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.loss not in LOSS_TYPES:
            raise ValueError(f"loss must be one of {LOSS_TYPES}, got {self.loss!r}")
        for name in ("mix_weight", "sal_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        for name, value in dict(self.backbone_weights).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"backbone_weights[{name!r}] must be a number >= 0, got {value!r}")


@dataclass
class LossParts:
    """The objective's total and its unweighted parts (for logging)."""

    total: Tensor
    task: Tensor
    mixup: Tensor
    aux: Tensor
    backbone: dict[str, Tensor] = field(default_factory=dict)


def pointwise_loss(pred: Tensor, target: Tensor, loss: str) -> Tensor:
    """Elementwise |pred - target| or (pred - target)^2, broadcasting."""
    diff = pred - target
    if loss == "l1":
        return diff.abs()
    if loss == "mse":
        return diff.square()
    raise ValueError(f"loss must be one of {LOSS_TYPES}, got {loss!r}")


def mixup_loss(pred_mixed: Tensor, labels: Tensor, label_weights: Tensor, loss: str = "l1") -> Tensor:
    """mean_r sum_i W[r, i] * l(pred_r, y_i); 0 when there is no mixed sample.

    Args:
        pred_mixed: (k,) or (k, 1) predictions for the mixed samples.
        labels: (B,) or (B, 1) labels of the original batch.
        label_weights: (k, B) label weights of the MixResult.
    """
    pred = pred_mixed.reshape(-1)
    y = labels.reshape(-1)
    k = pred.shape[0]
    if label_weights.shape != (k, y.shape[0]):
        raise ValueError(
            f"label weights must be (k, B) = ({k}, {y.shape[0]}) for {k} mixed predictions and "
            f"{y.shape[0]} labels, got {tuple(label_weights.shape)}"
        )
    if k == 0:
        return pred.new_zeros(())
    per_parent = pointwise_loss(pred.unsqueeze(1), y.to(pred.dtype).unsqueeze(0), loss)
    return (label_weights.to(pred.dtype) * per_parent).sum(dim=1).mean()


def objective(
    pred_orig: Tensor,
    labels: Tensor,
    pred_mixed: Tensor,
    mix: MixResult,
    config: ObjectiveConfig | None = None,
    backbone_aux: Mapping[str, Tensor] | None = None,
) -> LossParts:
    """One loss for every mixer: task + mix_weight * mixup + sal_weight * aux + backbone losses.

    Args:
        pred_orig: (B,) or (B, 1) predictions for the original samples.
        labels: (B,) or (B, 1) their labels.
        pred_mixed: (k,) or (k, 1) predictions for ``mix``'s k mixed samples (k may be 0).
        mix: what the mixer returned for this batch.
        config: weights and loss type (defaults: L1, 0.7, 0.5).
        backbone_aux: the backbone's named auxiliary losses (``FuseOutput.aux_losses``).
    """
    config = config or ObjectiveConfig()
    pred = pred_orig.reshape(-1)
    y = labels.reshape(-1)
    if pred.shape != y.shape:
        raise ValueError(
            f"pred_orig must hold one prediction per label ({y.shape[0]}), got shape {tuple(pred_orig.shape)}"
        )
    if pred_mixed.reshape(-1).shape[0] != mix.k:
        raise ValueError(
            f"pred_mixed must hold one prediction per mixed sample ({mix.k}), got shape {tuple(pred_mixed.shape)}"
        )
    task = pointwise_loss(pred, y.to(pred.dtype), config.loss).mean()
    mixup = mixup_loss(pred_mixed, y, mix.weights["label"], config.loss)
    aux = mix.aux_loss.to(task.dtype)
    backbone = dict(backbone_aux or {})
    total = task + config.mix_weight * mixup + config.sal_weight * aux
    for name, value in backbone.items():
        total = total + config.backbone_weights.get(name, 1.0) * value
    return LossParts(total=total, task=task, mixup=mixup, aux=aux, backbone=backbone)
