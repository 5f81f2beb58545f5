"""Attribution: which modality (and which time step or token) a backbone's prediction rests on.

Two Captum methods, on two spaces:

- ``attribute_inputs``: on the input features of original samples, through ``encode`` and
  ``fuse``. Scores come per modality and per time step (T = 1 where features are time-averaged).
- ``attribute_latents`` / ``attribute_mixed``: on latents, through ``fuse`` only, so mixed
  samples (which exist only as latents) can be explained too. Scores come per modality, and per
  token where the latents are sequences.

Methods: ``"ig"``, Integrated Gradients from an all-zero baseline (zero is the padding value,
i.e. "nothing there"), whose scores add up to f(x) - f(0) up to its convergence delta; and
``"ablation"``, feature ablation that sets one group (a time step of one modality, or a whole
modality) to zero and records how much the prediction drops: f(x) - f(x with the group zeroed).

No widgets and no plotting here: the workbench draws these numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import Tensor

from msmix import MODALITIES
from msmix.data.batch import Batch
from msmix.mixing.base import MixResult
from msmix.models.base import Backbone

METHODS = ("ig", "ablation")
GRANULARITIES = ("step", "modality")


@dataclass
class Attribution:
    """Attribution scores of N samples, per modality.

    Attributes:
        scores: per modality, an (N, T) tensor: one score per time step (inputs) or token
            (sequence latents); T = 1 for time-averaged inputs, vector latents, or
            ``granularity="modality"``. Summing over T gives the modality's score.
        method: ``"ig"`` or ``"ablation"``.
        space: ``"input"`` or ``"latent"``.
        prediction: (N,) the model's prediction for the samples explained.
        delta: (N,) IG's convergence delta (sum of scores minus f(x) - f(0)); None for ablation.
        ids: the samples' ids where known (for tables and hover text).
    """

    scores: dict[str, Tensor]
    method: str
    space: str
    prediction: Tensor
    delta: Tensor | None = None
    ids: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.prediction.shape[0])

    def totals(self) -> dict[str, Tensor]:
        """Per modality, (N,) the sum of its scores."""
        return {m: s.sum(dim=1) for m, s in self.scores.items()}


def attribute_inputs(
    model: Backbone,
    batch: Batch,
    method: str = "ig",
    granularity: str = "step",
    n_steps: int = 50,
    internal_batch_size: int | None = None,
) -> Attribution:
    """Attribute a backbone's predictions on ``batch`` to its input features.

    Args:
        model: the backbone; run in eval mode (restored afterwards), parameters untouched.
        batch: the original samples; lengths and padding are kept as they are.
        method: ``"ig"`` or ``"ablation"``.
        granularity: ``"step"`` scores each time step of each modality; ``"modality"`` scores
            each modality as a whole (for ablation that zeroes the whole modality at once).
        n_steps: IG's number of integration points.
        internal_batch_size: IG's chunk size, to bound memory on large models.
    """
    names = list(MODALITIES)
    inputs = tuple(getattr(batch, m).detach().float() for m in names)
    length_keys = sorted(batch.lengths)
    lengths = tuple(batch.lengths[k] for k in length_keys)

    def predict(*args: Tensor) -> Tensor:
        features, extra = args[: len(names)], args[len(names) :]
        rebuilt = Batch(
            *features,
            labels=features[0].new_zeros(features[0].shape[0]),
            lengths=dict(zip(length_keys, extra)),
            padding=batch.padding,
        )
        return _sentiment(model(rebuilt).pred)

    return _attribute(model, predict, names, inputs, lengths, method, granularity, n_steps,
                      internal_batch_size, space="input", ids=list(batch.ids))


def attribute_latents(
    model: Backbone,
    latents: Mapping[str, Tensor],
    masks: Mapping[str, Tensor | None] | None = None,
    method: str = "ig",
    granularity: str = "step",
    n_steps: int = 50,
    internal_batch_size: int | None = None,
    ids: list[str] | None = None,
) -> Attribution:
    """Attribute ``model.fuse(latents, masks)`` to the latents (B x d or B x T x d per modality).

    Scores are per token for sequence latents (``granularity="step"``) and one per modality for
    vector latents. Arguments as in ``attribute_inputs``.
    """
    names = [m for m in MODALITIES if m in latents] + [m for m in latents if m not in MODALITIES]
    inputs = tuple(latents[m].detach().float() for m in names)
    masks = dict(masks or {})
    mask_keys = [m for m in names if masks.get(m) is not None]
    mask_values = tuple(masks[m] for m in mask_keys)

    def predict(*args: Tensor) -> Tensor:
        parts, extra = args[: len(names)], args[len(names) :]
        given = dict(zip(mask_keys, extra))
        out = model.fuse(dict(zip(names, parts)), {m: given.get(m) for m in names})
        return _sentiment(out.pred)

    return _attribute(model, predict, names, inputs, mask_values, method, granularity, n_steps,
                      internal_batch_size, space="latent", ids=list(ids or []))


def attribute_mixed(
    model: Backbone,
    mix: MixResult,
    method: str = "ig",
    granularity: str = "step",
    n_steps: int = 50,
    internal_batch_size: int | None = None,
    ids: list[str] | None = None,
) -> Attribution:
    """Attribute the predictions for a mixer's k mixed samples to their mixed latents."""
    if mix.k == 0:
        raise ValueError("the MixResult holds no mixed samples (k = 0): nothing to attribute")
    return attribute_latents(model, mix.mixed, mix.masks, method, granularity, n_steps,
                             internal_batch_size, ids)


def modality_totals(attribution: Attribution) -> pd.DataFrame:
    """One row per sample, one signed column per modality: the sum of its scores."""
    totals = attribution.totals()
    frame = pd.DataFrame({m: t.detach().cpu().double().numpy() for m, t in totals.items()})
    if attribution.ids:
        frame.index = pd.Index(attribution.ids, name="id")
    return frame


def modality_shares(attribution: Attribution) -> pd.DataFrame:
    """One row per sample: each modality's share of the total absolute attribution.

    share_m = |total_m| / sum_m' |total_m'|; rows sum to 1, or are NaN where every total is 0.
    """
    magnitude = modality_totals(attribution).abs()
    total = magnitude.sum(axis=1)
    return magnitude.div(total.where(total > 0), axis=0)


def _attribute(
    model: Backbone,
    predict: Callable[..., Tensor],
    names: list[str],
    inputs: tuple[Tensor, ...],
    extra: tuple[Tensor, ...],
    method: str,
    granularity: str,
    n_steps: int,
    internal_batch_size: int | None,
    space: str,
    ids: list[str],
) -> Attribution:
    """Run one Captum method over named inputs and reduce to (N, T) scores per name."""
    from captum.attr import FeatureAblation, IntegratedGradients

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}, got {granularity!r}")
    was_training = model.training
    model.eval()
    delta = None
    try:
        # cuDNN's RNN backward refuses eval mode; the native kernels give the same gradients.
        with torch.backends.cudnn.flags(enabled=False):
            with torch.no_grad():
                prediction = predict(*inputs, *extra)
            if method == "ig":
                raw, delta = IntegratedGradients(predict).attribute(
                    inputs, additional_forward_args=extra or None, n_steps=n_steps,
                    internal_batch_size=internal_batch_size, return_convergence_delta=True,
                )
                scores = {m: _sum_features(a, granularity) for m, a in zip(names, raw)}
            else:
                groups = _ablation_groups(inputs, granularity)
                with torch.no_grad():
                    raw = FeatureAblation(predict).attribute(
                        inputs, additional_forward_args=extra or None, feature_mask=groups,
                    )
                scores = {m: _group_scores(a, granularity) for m, a in zip(names, raw)}
    finally:
        model.train(was_training)
    return Attribution(
        scores={m: s.detach() for m, s in scores.items()},
        method=method,
        space=space,
        prediction=prediction.detach(),
        delta=None if delta is None else delta.detach(),
        ids=ids,
    )


def _sentiment(pred: Tensor) -> Tensor:
    """(B,) the sentiment score from a backbone's (B, 1) prediction."""
    if pred.dim() == 2 and pred.shape[1] == 1:
        return pred[:, 0]
    if pred.dim() == 1:
        return pred
    raise ValueError(f"a backbone's prediction must be (B, 1) or (B,), got shape {tuple(pred.shape)}")


def _sum_features(attr: Tensor, granularity: str) -> Tensor:
    """(N, T) from an (N, T, D) or (N, D) attribution: IG's scores add up over features."""
    per_step = attr.sum(dim=-1) if attr.dim() == 3 else attr.sum(dim=-1, keepdim=True)
    return per_step.sum(dim=1, keepdim=True) if granularity == "modality" else per_step


def _ablation_groups(inputs: tuple[Tensor, ...], granularity: str) -> tuple[Tensor, ...]:
    """Captum feature masks: one group id per time step (or per modality), unique across inputs."""
    groups, next_id = [], 0
    for x in inputs:
        if x.dim() == 3 and granularity == "step":
            steps = x.shape[1]
            ids = torch.arange(next_id, next_id + steps, device=x.device).view(1, steps, 1)
            groups.append(ids.expand(1, steps, x.shape[2]).contiguous())
            next_id += steps
        else:
            groups.append(torch.full((1, *x.shape[1:]), next_id, dtype=torch.long, device=x.device))
            next_id += 1
    return tuple(groups)


def _group_scores(attr: Tensor, granularity: str) -> Tensor:
    """(N, T) from an ablation attribution, where every element of a group holds the group's score."""
    if attr.dim() == 3 and granularity == "step":
        return attr[:, :, 0]
    return attr.reshape(attr.shape[0], -1)[:, :1]
