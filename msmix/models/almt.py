"""ALMT: Adaptive Language-guided Multimodal Transformer (Zhang, Wang, Yin, Liu, Liu, Yu, EMNLP 2023,
"Learning Language-guided Adaptive Hyper-modality Representation for Multimodal Sentiment Analysis").

References: the authors' code (github Haoyu-ha/ALMT: ``models/almt.py``, ``models/almt_layer.py``,
``configs/{mosi,mosei,sims}.yaml``, ``train.py``, ``core/scheduler.py``) and MMSA's port of it (github
thuiar/MMSA: ``src/MMSA/models/singleTask/ALMT.py``, ``src/MMSA/trains/singleTask/ALMT.py``, the
``almt`` entry of ``config/config_regression.json``), which builds the same modules.

``encode`` (per modality): a Linear to 128-d, then a one-layer pre-norm transformer over
``[8 learnable tokens; frames]`` plus learned positions; the 8 token outputs are the latent
(B x 8 x 128, masks None: every token is valid). ``fuse``: the language encoder (positions and
``ahl_depth - 1`` transformer layers over the 8 text tokens, keeping every layer's output), the
adaptive hyper-modality learning layers (layer i: text states i query audio and vision in two
attentions whose sum updates the hyper-modality tokens), the cross-modality fusion transformer
(text queries the hyper-modality; a shared CLS token in front of both), and a Linear on the CLS
output. This is the MS-Mix authors' mixing point (github HongyuZhu-s/MS-Mix, ``models/ALMT.py``):
the three 8-token embeddings are mixed and the mixed batch runs through hyper-modality learning and
fusion (their file imports ``MS_Mix_threeD`` but calls ``MS_Mix`` and ``IntensityPredictor``, which
it never imports, so it does not run as committed; the 8 x 128 latents call for the 3-D variant).

Deviations (the modules hold the reference's parameters one to one, so its weights load name for name
and, with ``mask_padding=False``, give its outputs):

- Padding: the reference lets padding frames (and BERT's states at padding tokens) take part in the
  projection transformers as keys, so a sample's latent depends on how far it was padded. That
  changes results, so the default (``mask_padding=False``) keeps the reference's behaviour;
  ``mask_padding=True`` is the fix: padding frames are masked out of those attentions.
- Text: by default the data set's precomputed 768-d BERT features replace the reference's BERT
  output. ``text_encoder`` (a local transformers folder or cached name; the reference fine-tunes
  ``bert-base-uncased``, ``bert-base-chinese`` on CH-SIMS) runs it on ``batch.text_bert`` instead,
  trained with the model unless ``finetune_text_encoder=False``.
- Positions: the reference sizes the learned position tables from its configured input lengths
  (50 / 375 / 500 on MOSI); here from the data set's padded lengths (the same numbers on MMSA's
  unaligned files; a longer input is refused).
- Speed, with the same outputs: attention runs through fused SDPA (``masked_attention``); the last
  projection layer computes only the 8 token rows and the last fusion layer only the CLS row, the
  only rows read afterwards.
- Hyper-modality tokens' start: the reference sets them to ones. Their first LayerNorm then sees
  constant rows (maps them to its bias), and its weight gets an exactly zero gradient on the first
  step (the reference trains it from the second step on, once AdamW has moved the tokens by about
  the learning rate). Here ones plus Gaussian noise of standard deviation ``hyper_init_std``
  (default 1e-4, the size of that first AdamW step at lr 1e-4), so every parameter learns from
  the first step; ``hyper_init_std=0`` is the reference's start.
- One ``dropout`` setting covers every dropout of the reference's transformer and hyper-modality
  layers (all 0 in the published configurations); its embedding dropout (0, not configurable there)
  is left out.

Reference quirks kept as they are (they shape the published results):

- The hyper-modality update adds its attention output to the LayerNorm of the incoming
  hyper-modality state (an in-place add on the normalised tensor), not to the state itself.
- Query, key and value each get their own LayerNorm, in self-attention too; q/k/v projections have
  no bias; the fusion's source (hyper-modality) stream is never updated across fusion layers.
- Projection, language and fusion transformers use 64-d heads (8 x 64 = 512 inner width for a
  128-d model); the hyper-modality layers use 16-d heads. The output is an unbounded Linear.

Training recipe (``TABLE``): AdamW, lr 1e-4, weight decay 1e-4, batch 64, MSE, 200 epochs, 10 %
linear warm-up then cosine (both references), early stopping patience 32 on the validation loss
(MMSA's port; the authors' ``train.py`` runs all 200 epochs and reports the best test epoch, which
no held-out protocol can copy). Quirks of the reference schedule not copied: its first epoch runs at
learning rate 0 and the warm-up ends one epoch later (``GradualWarmupScheduler`` with multiplier 1);
MMSA's config lists ``max_grad_norm: 2`` that its trainer never applies, so no clipping here.
Non-BERT parameters: 2,603,649 (MOSI), 3,223,041 (MOSEI), 3,232,897 (CH-SIMS), as the reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from msmix.data.batch import Batch
from msmix.data.spec import DataSpec
from msmix.models.attention import masked_attention, merge_heads, sequence_masks, split_heads
from msmix.models.base import Backbone, Encoded, FuseOutput, register_backbone
from msmix.models.recipes import check_bool, check_dropout, check_int, pick_recipe
from msmix.models.text_encoder import PretrainedTextEncoder, token_inputs, token_mask

MODALITY_ORDER = ("text", "audio", "vision")

_MODEL = {
    "tokens": 8, "dim": 128, "head_dim": 64,
    "proj_depth": 1, "proj_heads": 8, "proj_mlp_dim": 128,
    "text_heads": 8, "text_mlp_dim": 128,
    "ahl_depth": 3, "ahl_heads": 8, "ahl_head_dim": 16,
    "fusion_depth": 2, "fusion_heads": 8, "fusion_mlp_dim": 128,
    "dropout": 0.0, "hyper_init_std": 1e-4, "mask_padding": False, "text_encoder": None, "finetune_text_encoder": True,
}
_TRAIN = {
    "optimizer": "adamw", "lr": 1e-4, "weight_decay": 1e-4, "batch_size": 64, "loss": "mse",
    "scheduler": "cosine", "max_epochs": 200, "warmup_epochs": 20, "patience": 32,
}

TABLE: dict[str, dict[str, dict[str, Any]]] = {
    "mosi": {"model": dict(_MODEL), "train": dict(_TRAIN)},
    "mosei": {"model": {**_MODEL, "fusion_depth": 4}, "train": dict(_TRAIN)},
    "sims": {"model": {**_MODEL, "fusion_depth": 4}, "train": dict(_TRAIN)},
}
"""Published settings per data set (the two references agree; MMSA's names in brackets):
``tokens`` (dst_embedding_length), ``dim`` (dst_feature_dims), ``proj_*`` (embedding_depth /
embedding_heads / dst_feature_hidden_dims), ``text_*`` (l_encoder_heads, and its MLP width is
dst_feature_dims), ``ahl_*`` (AHL_depth, h_hyper_layer_heads, head size dim / heads), ``fusion_*``
(fusion_layer_depth, fusion_heads, fusion_hidden_d); ``head_dim`` is the transformers' default 64."""


@dataclass(frozen=True)
class ALMTConfig:
    """Settings of ALMT (published values in ``TABLE``).

    Attributes:
        tokens: learnable tokens per modality, the length of every latent.
        dim: width of every token (latent size).
        head_dim: head size of the projection, language and fusion transformers.
        proj_depth, proj_heads, proj_mlp_dim: the per-modality projection transformers.
        text_heads, text_mlp_dim: the language encoder (its depth is ``ahl_depth - 1``).
        ahl_depth, ahl_heads, ahl_head_dim: adaptive hyper-modality learning layers.
        fusion_depth, fusion_heads, fusion_mlp_dim: the cross-modality fusion transformer.
        dropout: dropout inside every transformer and hyper-modality layer.
        hyper_init_std: the hyper-modality tokens start at ones plus noise of this size (0: the reference).
        mask_padding: keep padding frames out of the projection transformers (False, the default: the reference).
        text_encoder: a local transformers model run on ``batch.text_bert`` (None: the data set's
            precomputed text features).
        finetune_text_encoder: train the text encoder with the model.
    """

    tokens: int
    dim: int
    head_dim: int
    proj_depth: int
    proj_heads: int
    proj_mlp_dim: int
    text_heads: int
    text_mlp_dim: int
    ahl_depth: int
    ahl_heads: int
    ahl_head_dim: int
    fusion_depth: int
    fusion_heads: int
    fusion_mlp_dim: int
    dropout: float = 0.0
    hyper_init_std: float = 1e-4
    mask_padding: bool = False
    text_encoder: str | None = None
    finetune_text_encoder: bool = True

    def __post_init__(self) -> None:
        for name in ("tokens", "dim", "head_dim", "proj_depth", "proj_heads", "proj_mlp_dim", "text_heads",
                     "text_mlp_dim", "ahl_depth", "ahl_heads", "ahl_head_dim", "fusion_depth", "fusion_heads",
                     "fusion_mlp_dim"):
            check_int("ALMT", name, getattr(self, name))
        check_dropout("ALMT", "dropout", self.dropout)
        std = self.hyper_init_std
        if isinstance(std, bool) or not isinstance(std, (int, float)) or not 0 <= std < float("inf"):
            raise ValueError(f"ALMT.hyper_init_std must be a number >= 0, got {std!r}")
        check_bool("ALMT", "mask_padding", self.mask_padding)
        check_bool("ALMT", "finetune_text_encoder", self.finetune_text_encoder)
        if self.text_encoder is not None and (not isinstance(self.text_encoder, str) or not self.text_encoder):
            raise ValueError(f"ALMT.text_encoder must be None or a model folder / name, got {self.text_encoder!r}")


def output_projection(inner: int, dim: int, heads: int, head_dim: int, dropout: float) -> nn.Module:
    """The attention output Linear, or nothing where one head already has the model's width (as the reference)."""
    if heads == 1 and head_dim == dim:
        return nn.Identity()
    return nn.Sequential(nn.Linear(inner, dim), nn.Dropout(dropout))


class NormedAttention(nn.Module):
    """Multi-head attention whose query, key and value inputs each pass their own LayerNorm first."""

    def __init__(self, dim: int, heads: int, head_dim: int, dropout: float) -> None:
        super().__init__()
        inner = heads * head_dim
        self.heads = heads
        self.norm_q, self.norm_k, self.norm_v = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(dim, inner, bias=False)
        self.to_v = nn.Linear(dim, inner, bias=False)
        self.out = output_projection(inner, dim, heads, head_dim, dropout)

    def forward(self, query: Tensor, context: Tensor, context_valid: Tensor | None = None) -> Tensor:
        q = split_heads(self.to_q(self.norm_q(query)), self.heads)
        k = split_heads(self.to_k(self.norm_k(context)), self.heads)
        v = split_heads(self.to_v(self.norm_v(context)), self.heads)
        return self.out(merge_heads(masked_attention(q, k, v, context_valid)))


class FeedForward(nn.Module):
    """Pre-norm MLP: LayerNorm, Linear, GELU, dropout, Linear, dropout."""

    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(dim), nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden, dim), nn.Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class Block(nn.Module):
    """One transformer layer: ``query`` attends to ``context`` (itself for self-attention), then an MLP,
    each with a residual connection on ``query``."""

    def __init__(self, dim: int, heads: int, head_dim: int, mlp_dim: int, dropout: float) -> None:
        super().__init__()
        self.attention = NormedAttention(dim, heads, head_dim, dropout)
        self.feed_forward = FeedForward(dim, mlp_dim, dropout)

    def forward(self, query: Tensor, context: Tensor, context_valid: Tensor | None = None) -> Tensor:
        x = query + self.attention(query, context, context_valid)
        return x + self.feed_forward(x)


def blocks(depth: int, dim: int, heads: int, head_dim: int, mlp_dim: int, dropout: float) -> nn.ModuleList:
    return nn.ModuleList(Block(dim, heads, head_dim, mlp_dim, dropout) for _ in range(depth))


class TokenProjector(nn.Module):
    """One modality's sequence -> its ``tokens`` learnable tokens after a transformer over
    ``[tokens; Linear(frames)]`` with learned positions (ALMT's projection layer)."""

    def __init__(self, in_dim: int, positions: int, c: ALMTConfig) -> None:
        super().__init__()
        self.n_tokens, self.positions = c.tokens, positions
        self.linear = nn.Linear(in_dim, c.dim)
        self.tokens = nn.Parameter(torch.zeros(1, c.tokens, c.dim))
        self.position = nn.Parameter(torch.randn(1, positions + c.tokens, c.dim))
        self.layers = blocks(c.proj_depth, c.dim, c.proj_heads, c.head_dim, c.proj_mlp_dim, c.dropout)

    def forward(self, x: Tensor, valid: Tensor | None) -> Tensor:
        """(B, T, in_dim) frames and their (B, T) validity (None: all count) -> (B, tokens, dim)."""
        b, t, _ = x.shape
        if t > self.positions:
            raise ValueError(f"ALMT: a sequence of {t} frames is longer than the {self.positions} learned positions")
        h = torch.cat([self.tokens.expand(b, -1, -1), self.linear(x)], dim=1)
        h = h + self.position[:, : t + self.n_tokens]
        keys = None if valid is None else torch.cat([valid.new_ones(b, self.n_tokens), valid], dim=1)
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):  # after the last layer only the tokens are read
            h = layer(h[:, : self.n_tokens] if i == last else h, h, keys)
        return h


class HyperModalityLayer(nn.Module):
    """Adaptive hyper-modality learning: text states query audio and vision in two attentions whose
    summed outputs, projected, are added to the (LayerNorm-ed, as the reference) hyper-modality tokens."""

    def __init__(self, dim: int, heads: int, head_dim: int, dropout: float) -> None:
        super().__init__()
        inner = heads * head_dim
        self.heads = heads
        self.norm_text, self.norm_audio, self.norm_vision, self.norm_hyper = (nn.LayerNorm(dim) for _ in range(4))
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k_audio = nn.Linear(dim, inner, bias=False)
        self.to_k_vision = nn.Linear(dim, inner, bias=False)
        self.to_v_audio = nn.Linear(dim, inner, bias=False)
        self.to_v_vision = nn.Linear(dim, inner, bias=False)
        self.out = output_projection(inner, dim, heads, head_dim, dropout)

    def forward(self, text: Tensor, audio: Tensor, vision: Tensor, hyper: Tensor) -> Tensor:
        heads = self.heads
        q = split_heads(self.to_q(self.norm_text(text)), heads)
        audio, vision = self.norm_audio(audio), self.norm_vision(vision)
        from_audio = masked_attention(
            q, split_heads(self.to_k_audio(audio), heads), split_heads(self.to_v_audio(audio), heads)
        )
        from_vision = masked_attention(
            q, split_heads(self.to_k_vision(vision), heads), split_heads(self.to_v_vision(vision), heads)
        )
        return self.norm_hyper(hyper) + self.out(merge_heads(from_audio + from_vision))


@register_backbone("almt")
class ALMT(Backbone):
    """ALMT split into ``encode`` (three 8-token projections) and ``fuse`` (hyper-modality learning, fusion).

    ``encode`` gives B x 8 x 128 tokens per modality; ``fuse`` runs the language encoder, adaptive
    hyper-modality learning, cross-modality fusion and the CLS regression head."""

    needs_time_average: ClassVar[bool] = False

    config_class = ALMTConfig

    def __init__(self, spec: DataSpec, config: ALMTConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        self.spec = spec
        self.config = self.settings(spec, config, overrides)
        c = self.config
        self.text_encoder = (
            None if c.text_encoder is None else PretrainedTextEncoder(c.text_encoder, c.finetune_text_encoder)
        )
        in_dims = dict(spec.dims)
        if self.text_encoder is not None:
            in_dims["text"] = self.text_encoder.hidden_size
        self.projectors = nn.ModuleDict(
            {m: TokenProjector(in_dims[m], spec.seq_lens[m], c) for m in MODALITY_ORDER}
        )
        self.text_position = nn.Parameter(torch.randn(1, c.tokens, c.dim))
        self.text_layers = blocks(c.ahl_depth - 1, c.dim, c.text_heads, c.head_dim, c.text_mlp_dim, c.dropout)
        hyper = torch.ones(1, c.tokens, c.dim)
        if c.hyper_init_std > 0:
            hyper += c.hyper_init_std * torch.randn(1, c.tokens, c.dim)
        self.hyper = nn.Parameter(hyper)
        self.hyper_layers = nn.ModuleList(
            HyperModalityLayer(c.dim, c.ahl_heads, c.ahl_head_dim, c.dropout) for _ in range(c.ahl_depth)
        )
        self.cls = nn.Parameter(torch.zeros(1, 1, c.dim))
        self.source_position = nn.Parameter(torch.randn(1, c.tokens + 1, c.dim))
        self.target_position = nn.Parameter(torch.randn(1, c.tokens + 1, c.dim))
        self.fusion_layers = blocks(c.fusion_depth, c.dim, c.fusion_heads, c.head_dim, c.fusion_mlp_dim, c.dropout)
        self.head = nn.Linear(c.dim, 1)
        self.latent_dims = {m: c.dim for m in MODALITY_ORDER}

    @classmethod
    def default_config(cls, kind: str) -> dict[str, Any]:
        return pick_recipe(TABLE, "almt", kind)

    @property
    def masks_padding(self) -> bool:
        return self.config.mask_padding

    def encode(self, batch: Batch) -> Encoded:
        masks = sequence_masks(batch) if self.config.mask_padding else {m: None for m in MODALITY_ORDER}
        inputs = {m: getattr(batch, m) for m in MODALITY_ORDER}
        if self.text_encoder is not None:
            tokens = token_inputs(batch, "ALMT")
            inputs["text"] = self.text_encoder(tokens)
            if self.config.mask_padding:
                masks["text"] = token_mask(tokens)
        latents = {m: self.projectors[m](inputs[m], masks[m]) for m in MODALITY_ORDER}
        return Encoded(latents=latents, masks={m: None for m in MODALITY_ORDER})

    def fuse(self, latents: dict[str, Tensor], masks: dict[str, Tensor | None] | None = None) -> FuseOutput:
        text, audio, vision = (latents[m] for m in MODALITY_ORDER)
        b = text.shape[0]
        states = [text + self.text_position]
        for layer in self.text_layers:
            states.append(layer(states[-1], states[-1]))
        hyper = self.hyper.expand(b, -1, -1)
        for text_state, layer in zip(states, self.hyper_layers):
            hyper = layer(text_state, audio, vision, hyper)
        cls = self.cls.expand(b, -1, -1)
        source = torch.cat([cls, hyper], dim=1) + self.source_position
        target = torch.cat([cls, states[-1]], dim=1) + self.target_position
        last = len(self.fusion_layers) - 1
        for i, layer in enumerate(self.fusion_layers):  # after the last layer only the CLS row is read
            target = layer(target[:, :1] if i == last else target, source)
        return FuseOutput(pred=self.head(target[:, 0]))
