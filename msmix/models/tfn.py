"""TFN: Tensor Fusion Network (Zadeh, Chen, Poria, Cambria, Morency, EMNLP 2017), as in MMSA 2.2.1.

``encode``: the text LSTM sub-network and the audio / vision MLPs on time-averaged features
(``msmix.models.subnets``). ``fuse``: the outer product of ``[1; h_a] x [1; h_v] x [1; h_t]``
flattened per sample (140,481 values with MOSI's sizes), post-fusion dropout, three Linear layers
(ReLU between them), and ``sigmoid * 2b - b`` with ``b`` the output bound (3 in MMSA).

Speed without changing the model: the fused tensor comes from two batched outer products (whose
backward is two matrix-vector products); the dropout's ``1 / (1 - p)`` rescaling is folded into the
33-value text factor instead of the 140,481-value product; the first post-fusion layer keeps its
weight in the layout its gradient is computed in (``WideLinear``); the keep mask
(``msmix.models.keep_mask``: Bernoulli(1 - p) per value, as ``nn.Dropout``, from random bits at
p = 0.5) is applied in place. On a CPU this dropout costs about a tenth of ``F.dropout``, whose
Bernoulli sampling dominates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from msmix.data.batch import Batch
from msmix.data.spec import DataSpec
from msmix.models.base import Backbone, Encoded, FuseOutput, register_backbone
from msmix.models.keep_mask import keep_mask
from msmix.models.recipes import check_bool, check_dropout, check_int, recipe
from msmix.models.subnets import UnimodalEncoders, vector_latents


@dataclass(frozen=True)
class TFNConfig:
    """Settings of TFN (published values per data set in ``msmix.models.recipes``).

    Attributes:
        text_hidden: hidden size of the text LSTM.
        audio_hidden, vision_hidden: width of the audio / vision MLPs, and their latent sizes.
        text_out: size of the text latent (the LSTM state projected by a Linear).
        post_fusion_dim: width of the two hidden post-fusion layers.
        audio_dropout, vision_dropout: dropout on the normalised audio / vision inputs.
        fusion_dropout: dropout on the fused outer-product tensor.
        output_bound: predictions lie in (-bound, bound); None uses the data set's label range.
        use_text_lengths: read text only up to each sample's length (MMSA reads every padded step).
    """

    text_hidden: int
    audio_hidden: int
    vision_hidden: int
    text_out: int
    post_fusion_dim: int
    audio_dropout: float
    vision_dropout: float
    fusion_dropout: float
    output_bound: float | None
    use_text_lengths: bool

    def __post_init__(self) -> None:
        for name in ("text_hidden", "audio_hidden", "vision_hidden", "text_out", "post_fusion_dim"):
            check_int("TFN", name, getattr(self, name))
        for name in ("audio_dropout", "vision_dropout", "fusion_dropout"):
            check_dropout("TFN", name, getattr(self, name))
        bound = self.output_bound
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float)) or bound <= 0):
            raise ValueError(f"TFN.output_bound must be None or a positive number, got {bound!r}")
        check_bool("TFN", "use_text_lengths", self.use_text_lengths)


def with_leading_one(x: Tensor) -> Tensor:
    """(B, d) -> (B, d + 1) with a constant 1 in front, the term that keeps unimodal interactions."""
    return F.pad(x, (1, 0), value=1.0)


def tensor_fusion(audio: Tensor, vision: Tensor, text: Tensor) -> Tensor:
    """Per-sample outer product ``audio x vision x text`` as (B, A * V, T); ``.flatten(1)`` is MMSA's order."""
    audio_vision = torch.bmm(audio.unsqueeze(2), vision.unsqueeze(1))
    return torch.bmm(audio_vision.view(audio.shape[0], -1, 1), text.unsqueeze(1))


class WideLinear(nn.Module):
    """``nn.Linear`` with its weight stored transposed, (in_features, out_features), same initialisation.

    For TFN's first post-fusion layer (140,481 inputs, 64 outputs, batches of 32) the weight
    gradient ``x.T @ grad`` is then written in the weight's own layout, which a CPU BLAS computes
    about twice as fast as ``grad.T @ x``.
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features)
        self.weight_t = nn.Parameter(torch.empty(in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:
        return torch.addmm(self.bias, x, self.weight_t)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


@register_backbone("tfn")
class TFN(Backbone):
    """Tensor Fusion Network split into ``encode`` (sub-networks) and ``fuse`` (tensor fusion + MLP)."""

    needs_time_average: ClassVar[bool] = True

    config_class = TFNConfig

    def __init__(self, spec: DataSpec, config: TFNConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        self.spec = spec
        self.config = self.settings(spec, config, overrides)
        c = self.config
        self.encoders = UnimodalEncoders(
            spec.dims, c.text_hidden, c.text_out, c.audio_hidden, c.vision_hidden,
            c.audio_dropout, c.vision_dropout, c.use_text_lengths,
        )
        self.latent_dims = dict(self.encoders.out_dims)
        fused = (c.audio_hidden + 1) * (c.vision_hidden + 1) * (c.text_out + 1)
        self.post_fusion = nn.Sequential(
            WideLinear(fused, c.post_fusion_dim),
            nn.ReLU(),
            nn.Linear(c.post_fusion_dim, c.post_fusion_dim),
            nn.ReLU(),
            nn.Linear(c.post_fusion_dim, 1),
        )
        self.output_bound = float(spec.label_range if c.output_bound is None else c.output_bound)

    @classmethod
    def default_config(cls, kind: str) -> dict[str, Any]:
        return recipe("tfn", kind)

    def encode(self, batch: Batch) -> Encoded:
        latents = self.encoders(batch)
        return Encoded(latents=latents, masks={m: None for m in latents})

    def fuse(self, latents: dict[str, Tensor], masks: dict[str, Tensor | None] | None = None) -> FuseOutput:
        text, audio, vision = vector_latents(latents, self.latent_dims, "TFN")
        p = self.config.fusion_dropout
        dropping = self.training and p > 0.0
        text = with_leading_one(text)
        if dropping:
            text = text * (1.0 / (1.0 - p))
        fused = tensor_fusion(with_leading_one(audio), with_leading_one(vision), text)
        if dropping:
            fused.mul_(keep_mask(fused.shape, p, fused.device))
        score = torch.sigmoid(self.post_fusion(fused.flatten(1)))
        return FuseOutput(pred=score * (2.0 * self.output_bound) - self.output_bound)
