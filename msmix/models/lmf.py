"""LMF: Low-rank Multimodal Fusion (Liu, Shen, Lakshminarasimhan, Liang, Zadeh, Morency, ACL 2018),
as in MMSA 2.2.1.

``encode``: the same sub-networks as TFN (``msmix.models.subnets``). ``fuse``: the fused tensor of
TFN is never built; each modality's ``[1; h_m]`` is projected by its rank-r factor, the r products
across modalities are weighted and summed, and a bias is added:
``pred = sum_r w_r prod_m ([1; h_m] . f_m[r]) + b``. No output activation and no post-fusion
dropout, as in MMSA (which defines that dropout but never applies it).

MMSA's trainer optimises only the three factors (at ``factor_lr``) and the sub-networks (at the
learning rate): the fusion weights and bias keep their initial values. ``learn_fusion_weights``
(False by default) restores the LMF paper's choice of training them. ``parameter_groups(lr)``
gives the optimiser the factor learning rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from msmix import MODALITIES
from msmix.data.batch import Batch
from msmix.data.spec import DataSpec
from msmix.models.base import Backbone, Encoded, FuseOutput, register_backbone
from msmix.models.recipes import check_bool, check_dropout, check_int, recipe
from msmix.models.subnets import UnimodalEncoders, vector_latents


@dataclass(frozen=True)
class LMFConfig:
    """Settings of LMF (published values per data set in ``msmix.models.recipes``).

    Attributes:
        text_hidden: hidden size of the text LSTM.
        audio_hidden, vision_hidden: width of the audio / vision MLPs, and their latent sizes.
        text_out: size of the text latent (MMSA: ``text_hidden // 2``).
        rank: number of low-rank factors per modality.
        audio_dropout, vision_dropout: dropout on the normalised audio / vision inputs.
        factor_lr: learning rate of the modality factors; None uses the trainer's.
        learn_fusion_weights: train the rank weights and the bias (MMSA leaves them at their init).
        use_text_lengths: read text only up to each sample's length (MMSA reads every padded step).
    """

    text_hidden: int
    audio_hidden: int
    vision_hidden: int
    text_out: int
    rank: int
    audio_dropout: float
    vision_dropout: float
    factor_lr: float | None
    learn_fusion_weights: bool
    use_text_lengths: bool

    def __post_init__(self) -> None:
        for name in ("text_hidden", "audio_hidden", "vision_hidden", "text_out", "rank"):
            check_int("LMF", name, getattr(self, name))
        for name in ("audio_dropout", "vision_dropout"):
            check_dropout("LMF", name, getattr(self, name))
        lr = self.factor_lr
        if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or lr <= 0):
            raise ValueError(f"LMF.factor_lr must be None or a positive number, got {lr!r}")
        check_bool("LMF", "learn_fusion_weights", self.learn_fusion_weights)
        check_bool("LMF", "use_text_lengths", self.use_text_lengths)


def project_with_one(x: Tensor, factor: Tensor) -> Tensor:
    """``[1; x] @ factor.T`` for x (B, d) and factor (rank, d + 1): (B, rank), without building ``[1; x]``."""
    return torch.addmm(factor[:, 0], x, factor[:, 1:].t())


@register_backbone("lmf")
class LMF(Backbone):
    """Low-rank Multimodal Fusion split into ``encode`` (sub-networks) and ``fuse`` (low-rank fusion)."""

    needs_time_average: ClassVar[bool] = True

    config_class = LMFConfig

    def __init__(self, spec: DataSpec, config: LMFConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        self.spec = spec
        self.config = self.settings(spec, config, overrides)
        c = self.config
        self.encoders = UnimodalEncoders(
            spec.dims, c.text_hidden, c.text_out, c.audio_hidden, c.vision_hidden,
            c.audio_dropout, c.vision_dropout, c.use_text_lengths,
        )
        self.latent_dims = dict(self.encoders.out_dims)
        self.factors = nn.ParameterDict(
            {m: nn.Parameter(torch.empty(c.rank, self.latent_dims[m] + 1)) for m in MODALITIES}
        )
        self.fusion_weights = nn.Parameter(torch.empty(1, c.rank), requires_grad=c.learn_fusion_weights)
        self.fusion_bias = nn.Parameter(torch.zeros(1), requires_grad=c.learn_fusion_weights)
        for factor in self.factors.values():
            nn.init.xavier_normal_(factor)
        nn.init.xavier_normal_(self.fusion_weights)

    @classmethod
    def default_config(cls, kind: str) -> dict[str, Any]:
        return recipe("lmf", kind)

    def parameter_groups(self, lr: float) -> list[dict[str, Any]]:
        """Optimiser groups as MMSA's trainer builds them: the factors at ``factor_lr``, the rest at ``lr``.

        Frozen parameters (the fusion weights and bias unless ``learn_fusion_weights``) are left out.
        """
        factors = list(self.factors.values())
        factor_ids = {id(p) for p in factors}
        rest = [p for p in self.parameters() if p.requires_grad and id(p) not in factor_ids]
        factor_lr = lr if self.config.factor_lr is None else self.config.factor_lr
        return [{"params": factors, "lr": factor_lr}, {"params": rest, "lr": lr}]

    def encode(self, batch: Batch) -> Encoded:
        latents = self.encoders(batch)
        return Encoded(latents=latents, masks={m: None for m in latents})

    def fuse(self, latents: dict[str, Tensor], masks: dict[str, Tensor | None] | None = None) -> FuseOutput:
        text, audio, vision = vector_latents(latents, self.latent_dims, "LMF")
        f = self.factors
        product = project_with_one(audio, f["audio"]) * project_with_one(vision, f["vision"])
        product = product * project_with_one(text, f["text"])
        return FuseOutput(pred=torch.addmm(self.fusion_bias, product, self.fusion_weights.t()))
