"""MulT: Multimodal Transformer (Tsai, Bai, Liang, Kolter, Morency, Salakhutdinov, ACL 2019), as in
MMSA 2.2.1 (``models/singleTask/MULT.py`` with ``models/subNets/transformers_encoder/``; its trainer
``trains/singleTask/MULT.py``; config key ``mult``).

``encode``: text dropout, then a temporal Conv1d (no bias, no padding) per modality projecting to
``d_model`` features: B x T' x d latents, T' = T - kernel + 1. This is the mixing point the MS-Mix
authors used. ``fuse``: six cross-modal transformers (each modality attends to each other one),
the two per target concatenated and passed through a self-attention "memory" transformer, the
last time step of each, a residual block (Linear, ReLU, dropout, Linear, plus its input) and a
Linear output. Every transformer layer is pre-norm: inputs scaled by ``sqrt(d)``, embedding
dropout, then per layer attention and a 4d ReLU feed-forward block, then a final LayerNorm. The
parameter layout follows MMSA's (packed ``in_proj_weight`` / ``in_proj_bias``, ``out_proj``), so
an MMSA state dict loads after ``mmsa_state_dict`` renames its keys.

Attention runs through ``F.scaled_dot_product_attention`` on (B, heads, T, d) tensors, heads batched:
fused kernels keep no attention map for the backward pass (MMSA materialises every one). The
exception is attention dropout on a CPU, where SDPA itself falls back to written-out attention;
``dropped_attention`` writes it out with a cheaper keep mask (same distribution as MMSA's dropout).

Padding (``mask_padding``, default False, as MMSA). MMSA ignores padding: padded frames are
attended to and its "last time step" is the last padded frame of every shorter sequence, so a
prediction depends on how far its sample was padded. That changes results, so the default keeps it
(``encode`` then returns no masks). ``mask_padding=True`` is the fix: padded frames take part in no
attention, the last step is each sequence's last valid one, and padded values change nothing. The
conv latents then keep a window as valid when it covers only valid frames, or, for a sequence
shorter than the kernel, when it covers all of them (padding then enters that window as zeros,
which is what MMSA's zero padding gives); other windows are set to zero. Both modes agree whenever
no sequence is padded.

Reference details reproduced (defaults follow MMSA 2.2.1):

- ``future_mask`` (MMSA's ``attn_mask``, True in every published recipe): query i may attend to key
  j only if ``j <= i + |S - L|`` (L queries, S keys), in every layer of all nine transformers; the
  self-attention memory transformers are thus causal and the last query sees every key. With
  ``mask_padding`` L, S and the step indices count valid frames of each sequence.
- ``position_embedding`` (False): MMSA builds its transformers without the sinusoidal position
  embedding of the original MulT code. True adds it (fairseq's table: sin then cos halves, padding
  index 0 embeds to zero): MMSA's positions are ``t + 1`` where the input's first feature is
  non-zero and the padding index elsewhere; with ``mask_padding`` valid frames are numbered from 1
  and padding frames get the padding index.
- Attention dropout of a cross-modal transformer follows its source (key) modality:
  ``attn_dropout`` (text, and the three memory transformers), ``attn_dropout_audio``,
  ``attn_dropout_vision``. Keys and values of a cross-modal layer go through the layer's first
  LayerNorm, the one of its queries, and in training get separate embedding-dropout masks.
- The memory transformers have ``max(levels, 3)`` layers in MMSA (``memory_levels`` in the
  recipes); a modality whose feature size equals ``d_model`` is not projected (MMSA still builds an
  unused conv for it; here none is built).
- Sequences shorter than a kernel (MMSA fails on them) are zero-padded to the kernel's length.
- Training (recipes): Adam without weight decay (MMSA's config sets ``weight_decay`` but its
  trainer never passes it on), L1 loss, ReduceLROnPlateau on the validation loss (factor 0.1,
  patience = MMSA's ``patience``), early stopping after 8 epochs, gradients accumulated over
  ``update_epochs`` = 8 batches. MMSA sums the 8 losses and clips gradient values at 0.6 after
  every backward; the trainer here averages them and clips once before the step, so the recipe's
  ``clip_value`` is 0.6 / 8 (the same bound on the summed gradient; Adam is scale invariant).
  MMSA also never steps on an epoch's last ``len(train) % 8`` batches (its end-of-epoch step is
  unreachable); the trainer here steps on that shorter group. MMSA has no epoch limit.
- MMSA computes its attention softmax in float32 whatever the model's dtype; here it follows the
  inputs' dtype (identical in float32 training, about 1e-8 apart in float64).
- ``text_encoder``: MMSA's ``use_bert`` (off in its recipes) runs BERT on the ``text_bert`` tokens;
  here a local transformers model (``PretrainedTextEncoder``) whose hidden size replaces the text
  feature size; its text mask is the tokens' attention mask. ``finetune_text_encoder`` is True
  (MMSA's config names ``use_bert_finetune`` while its MULT reads ``use_finetune``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from msmix import MODALITIES
from msmix.data.batch import Batch
from msmix.data.spec import DataSpec
from msmix.models.attention import attention, masked_attention, merge_heads, sequence_masks, split_heads
from msmix.models.base import Backbone, Encoded, FuseOutput, register_backbone
from msmix.models.positions import sinusoid, step_positions
from msmix.models.recipes import check_bool, check_dropout, check_int, pick_recipe
from msmix.models.text_encoder import PretrainedTextEncoder, token_inputs, token_mask

_SHORT = {"text": "l", "audio": "a", "vision": "v"}
"""MMSA's one-letter modality names (``proj_l``, ``trans_a_with_v``, ``trans_v_mem``)."""


def _model(d: int, heads: int, levels: int, memory: int, kernels: tuple[int, int, int],
           attn: tuple[float, float, float], relu: float, res: float, embed: float, output: float,
           text: float) -> dict[str, Any]:
    return {
        "d_model": d, "heads": heads, "levels": levels, "memory_levels": memory,
        "text_kernel": kernels[0], "audio_kernel": kernels[1], "vision_kernel": kernels[2],
        "attn_dropout": attn[0], "attn_dropout_audio": attn[1], "attn_dropout_vision": attn[2],
        "relu_dropout": relu, "res_dropout": res, "embed_dropout": embed, "output_dropout": output,
        "text_dropout": text, "future_mask": True, "position_embedding": False, "mask_padding": False,
        "text_encoder": None, "finetune_text_encoder": True,
    }


def _train(batch_size: int, lr: float, plateau_patience: int) -> dict[str, Any]:
    return {
        "batch_size": batch_size, "lr": lr, "loss": "l1", "optimizer": "adam", "weight_decay": 0.0,
        "patience": 8, "grad_accum": 8, "clip_value": 0.6 / 8, "scheduler": "plateau",
        "plateau_factor": 0.1, "plateau_patience": plateau_patience, "min_lr": 0.0,
    }


RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    "mosi": {
        "model": _model(50, 10, 4, 4, (5, 5, 5), (0.3, 0.2, 0.0), 0.0, 0.0, 0.2, 0.5, 0.5),
        "train": _train(16, 2e-3, 5),
    },
    "mosei": {
        "model": _model(30, 6, 4, 4, (5, 1, 3), (0.4, 0.0, 0.0), 0.0, 0.0, 0.0, 0.5, 0.3),
        "train": _train(4, 5e-4, 20),
    },
    "sims": {
        "model": _model(50, 10, 2, 3, (5, 1, 1), (0.2, 0.1, 0.0), 0.0, 0.2, 0.1, 0.1, 0.3),
        "train": _train(16, 2e-3, 10),
    },
}
"""MMSA 2.2.1's ``mult`` recipes: ``dst_feature_dim_nheads`` -> ``d_model``, ``heads``; ``nlevels`` ->
``levels`` (``memory_levels`` = max(nlevels, 3)); ``conv1d_kernel_size_{l,a,v}`` -> the kernels;
``update_epochs`` -> ``grad_accum``; ``early_stop`` -> ``patience``; ``patience`` -> ``plateau_patience``."""


@dataclass(frozen=True)
class MulTConfig:
    """Settings of MulT (published values per data set in ``RECIPES``).

    Attributes:
        d_model: width of every latent and cross-modal transformer (memory transformers: 2 x).
        heads: attention heads of every transformer.
        levels: layers of each cross-modal transformer.
        memory_levels: layers of each memory (self-attention) transformer.
        text_kernel, audio_kernel, vision_kernel: temporal conv kernel sizes of the projections.
        attn_dropout: attention dropout with text as source, and in the memory transformers.
        attn_dropout_audio, attn_dropout_vision: attention dropout with audio / vision as source.
        relu_dropout: dropout after the feed-forward ReLU.
        res_dropout: dropout on each block's output before its residual sum.
        embed_dropout: dropout on each transformer's scaled inputs.
        output_dropout: dropout inside the residual output block.
        text_dropout: dropout on the text features before their projection.
        future_mask: MMSA's ``attn_mask``: query i attends to keys up to ``i + |S - L|``.
        position_embedding: add sinusoidal position embeddings (MMSA: off; original MulT: on).
        mask_padding: ignore padded frames (False, the default: MMSA's behaviour).
        text_encoder: a local transformers model run on ``text_bert`` tokens; None reads text features.
        finetune_text_encoder: train that encoder with the rest.
    """

    d_model: int
    heads: int
    levels: int
    memory_levels: int
    text_kernel: int
    audio_kernel: int
    vision_kernel: int
    attn_dropout: float
    attn_dropout_audio: float
    attn_dropout_vision: float
    relu_dropout: float
    res_dropout: float
    embed_dropout: float
    output_dropout: float
    text_dropout: float
    future_mask: bool
    position_embedding: bool
    mask_padding: bool
    text_encoder: str | None = None
    finetune_text_encoder: bool = True

    def __post_init__(self) -> None:
        for name in ("d_model", "heads", "levels", "memory_levels", "text_kernel", "audio_kernel", "vision_kernel"):
            check_int("MulT", name, getattr(self, name))
        if self.d_model % self.heads:
            raise ValueError(f"MulT.d_model ({self.d_model}) must be a multiple of MulT.heads ({self.heads})")
        for name in ("attn_dropout", "attn_dropout_audio", "attn_dropout_vision", "relu_dropout",
                     "res_dropout", "embed_dropout", "output_dropout", "text_dropout"):
            check_dropout("MulT", name, getattr(self, name))
        for name in ("future_mask", "position_embedding", "mask_padding", "finetune_text_encoder"):
            check_bool("MulT", name, getattr(self, name))
        if self.text_encoder is not None and not (isinstance(self.text_encoder, str) and self.text_encoder):
            raise ValueError(f"MulT.text_encoder must be None or a model folder / name, got {self.text_encoder!r}")

    def kernel(self, modality: str) -> int:
        return getattr(self, f"{modality}_kernel")

    def source_dropout(self, modality: str) -> float:
        """Attention dropout of a cross-modal transformer whose keys come from ``modality``."""
        if modality == "text":
            return self.attn_dropout
        return self.attn_dropout_audio if modality == "audio" else self.attn_dropout_vision


# -- attention ------------------------------------------------------------------------------------


def allowed_keys(query_valid: Tensor | None, key_valid: Tensor | None, queries: int, keys: int,
                 future: bool, device: torch.device | None = None) -> Tensor | None:
    """Which keys each query may attend to: None (all), a (B, S) key mask, or a (B or 1, L, S) mask.

    Without ``future`` only padding keys are excluded. With it, query i sees key j when
    ``j <= i + |S - L|``, i, j, L and S counted over each sequence's valid frames; padding queries
    (whose outputs are never read) see every valid key, so no row is empty.
    """
    if not future:
        return key_valid
    if query_valid is None and key_valid is None:
        i = torch.arange(queries, device=device).unsqueeze(1)
        j = torch.arange(keys, device=device).unsqueeze(0)
        return (j <= i + abs(keys - queries)).unsqueeze(0)
    like = query_valid if query_valid is not None else key_valid
    b = like.shape[0]
    q_valid = query_valid if query_valid is not None else like.new_ones(b, queries)
    k_valid = key_valid if key_valid is not None else like.new_ones(b, keys)
    q_rank, k_rank = q_valid.cumsum(1) - 1, k_valid.cumsum(1) - 1
    offset = (k_valid.sum(1) - q_valid.sum(1)).abs()
    allowed = k_rank.unsqueeze(1) <= (q_rank + offset.unsqueeze(1)).unsqueeze(2)
    return (allowed | ~q_valid.unsqueeze(2)) & k_valid.unsqueeze(1)


def attend(q: Tensor, k: Tensor, v: Tensor, allowed: Tensor | None, dropout_p: float) -> Tensor:
    """Attention of (B, h, L, d) queries with ``allowed`` from ``allowed_keys``; a query with no
    allowed key gets a zero output. SDPA, except for attention dropout on a CPU (see ``dropped_attention``)."""
    if dropout_p > 0.0 and q.device.type == "cpu":
        return dropped_attention(q, k, v, allowed, dropout_p)
    if allowed is None or allowed.dim() == 2:
        return masked_attention(q, k, v, allowed, dropout_p=dropout_p)
    some = allowed.any(dim=2, keepdim=True)
    out = attention(q, k, v, attn_mask=(allowed | ~some).unsqueeze(1), dropout_p=dropout_p)
    return out * some.unsqueeze(1).to(out.dtype)


def dropped_attention(q: Tensor, k: Tensor, v: Tensor, allowed: Tensor | None, p: float) -> Tensor:
    """Softmax attention with dropout ``p`` on its weights, written out for CPUs.

    With dropout, a CPU's SDPA falls back to its own written-out attention and draws the keep mask
    with ``bernoulli_``, which took a third of a MOSI training step; a uniform draw compared with
    ``p`` (the same Bernoulli(1 - p) keep mask) is about three times faster, and the ``1 / (1 - p)``
    rescaling is applied to the (L, d) output instead of the (L, S) weights.
    """
    scores = torch.matmul(q * q.shape[-1] ** -0.5, k.transpose(-1, -2))
    some = None
    if allowed is not None:
        allowed = allowed.unsqueeze(1) if allowed.dim() == 2 else allowed
        some = allowed.any(dim=-1, keepdim=True)
        scores.masked_fill_(~(allowed | ~some).unsqueeze(1), float("-inf"))  # a fresh product: in place is safe
    weights = torch.softmax(scores, dim=-1)
    # out of place: vmap (stacked seeds) has a batching rule for ge, none for the in-place ge_
    keep = torch.rand(weights.shape, dtype=weights.dtype, device=weights.device).ge(p)
    out = torch.matmul(weights * keep, v) * (1.0 / (1.0 - p))
    return out if some is None else out * some.unsqueeze(1).to(out.dtype)


class PackedAttention(nn.Module):
    """Multi-head attention with one packed (3d, d) input projection, as MMSA's (and fairseq's)."""

    def __init__(self, d: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.d, self.heads, self.dropout = d, heads, dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d, d))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d))
        self.out_proj = nn.Linear(d, d)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.xavier_uniform_(self.out_proj.weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: Tensor, key: Tensor | None = None, value: Tensor | None = None,
                allowed: Tensor | None = None) -> Tensor:
        """Self-attention of (B, L, d) ``x`` (no key), or ``x`` attending to ``key`` / ``value``."""
        w, bias, d = self.in_proj_weight, self.in_proj_bias, self.d
        if key is None:
            q, k, v = F.linear(x, w, bias).chunk(3, dim=-1)
        elif value is None or value is key:
            q = F.linear(x, w[:d], bias[:d])
            k, v = F.linear(key, w[d:], bias[d:]).chunk(2, dim=-1)
        else:
            q = F.linear(x, w[:d], bias[:d])
            k = F.linear(key, w[d:2 * d], bias[d:2 * d])
            v = F.linear(value, w[2 * d:], bias[2 * d:])
        p = self.dropout if self.training else 0.0
        out = attend(*(split_heads(t, self.heads) for t in (q, k, v)), allowed, p)
        return self.out_proj(merge_heads(out))


class EncoderLayer(nn.Module):
    """Pre-norm transformer layer: attention block, then a 4d ReLU feed-forward block, each residual."""

    def __init__(self, d: int, heads: int, attn_dropout: float, relu_dropout: float, res_dropout: float) -> None:
        super().__init__()
        self.attention = PackedAttention(d, heads, attn_dropout)
        self.norm_attention = nn.LayerNorm(d)
        self.norm_feedforward = nn.LayerNorm(d)
        self.feedforward_in = nn.Linear(d, 4 * d)
        self.feedforward_out = nn.Linear(4 * d, d)
        for layer in (self.feedforward_in, self.feedforward_out):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.relu_dropout, self.res_dropout = relu_dropout, res_dropout

    def forward(self, x: Tensor, key: Tensor | None, value: Tensor | None, allowed: Tensor | None) -> Tensor:
        h = self.norm_attention(x)
        if key is None:
            h = self.attention(h, allowed=allowed)
        else:
            k = self.norm_attention(key)
            v = k if value is key else self.norm_attention(value)
            h = self.attention(h, k, v, allowed)
        x = x + F.dropout(h, self.res_dropout, self.training)
        h = F.relu(self.feedforward_in(self.norm_feedforward(x)))
        h = self.feedforward_out(F.dropout(h, self.relu_dropout, self.training))
        return x + F.dropout(h, self.res_dropout, self.training)


class TransformerStack(nn.Module):
    """MMSA's TransformerEncoder: scaled (and position-embedded) inputs with embedding dropout, the
    layers (cross-modal when given a source), a final LayerNorm."""

    def __init__(self, d: int, heads: int, layers: int, attn_dropout: float, relu_dropout: float,
                 res_dropout: float, embed_dropout: float, position_embedding: bool) -> None:
        super().__init__()
        self.d, self.scale = d, math.sqrt(d)
        self.embed_dropout, self.position_embedding = embed_dropout, position_embedding
        self.layers = nn.ModuleList(
            EncoderLayer(d, heads, attn_dropout, relu_dropout, res_dropout) for _ in range(layers)
        )
        self.norm = nn.LayerNorm(d)

    def embed(self, x: Tensor, positions: Tensor | None) -> Tensor:
        x = self.scale * x
        if self.position_embedding and positions is not None:
            x = x + sinusoid(positions, self.d).to(x.dtype)
        return x

    def forward(self, x: Tensor, allowed: Tensor | None, positions: Tensor | None = None,
                source: Tensor | None = None, source_positions: Tensor | None = None) -> Tensor:
        x = F.dropout(self.embed(x, positions), self.embed_dropout, self.training)
        key = value = None
        if source is not None:
            key = value = self.embed(source, source_positions)
            if self.training and self.embed_dropout > 0:
                key, value = F.dropout(key, self.embed_dropout), F.dropout(value, self.embed_dropout)
        for layer in self.layers:
            x = layer(x, key, value, allowed)
        return self.norm(x)


# -- the model ------------------------------------------------------------------------------------


def window_mask(valid: Tensor, kernel: int) -> Tensor:
    """(B, T - kernel + 1) validity of conv windows: those covering only valid frames, or for a
    sequence with fewer valid frames than ``kernel``, those covering all of them."""
    counts = F.pad(valid.cumsum(1), (1, 0))
    inside = counts[:, kernel:] - counts[:, :-kernel]
    n = counts[:, -1:]
    return (inside == n.clamp(max=kernel)) & (n > 0)


def last_steps(h: Tensor, valid: Tensor | None) -> Tensor:
    """(B, T, d) -> (B, d): each sequence's last valid step (the last step without a mask)."""
    if valid is None:
        return h[:, -1]
    steps = torch.arange(h.shape[1], device=h.device)
    last = torch.where(valid, steps, -1).amax(dim=1).clamp_min(0)
    return h.gather(1, last.view(-1, 1, 1).expand(-1, 1, h.shape[2])).squeeze(1)


def pairs() -> list[tuple[str, str]]:
    """(target, source) of the six cross-modal transformers, in MMSA's order."""
    return [(t, s) for t in MODALITIES for s in MODALITIES if s != t]


@register_backbone("mult")
class MulT(Backbone):
    """Multimodal Transformer split into ``encode`` (conv projections) and ``fuse`` (transformers + head)."""

    needs_time_average = False
    config_class = MulTConfig

    def __init__(self, spec: DataSpec, config: MulTConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        self.spec = spec
        self.config = c = self.settings(spec, config, overrides)
        self.text_encoder = None
        dims = dict(spec.dims)
        if c.text_encoder is not None:
            self.text_encoder = PretrainedTextEncoder(c.text_encoder, finetune=c.finetune_text_encoder)
            dims["text"] = self.text_encoder.hidden_size
        d = c.d_model
        self.projections = nn.ModuleDict({
            m: nn.Conv1d(dims[m], d, kernel_size=c.kernel(m), bias=False) for m in MODALITIES if dims[m] != d
        })
        stack = dict(relu_dropout=c.relu_dropout, res_dropout=c.res_dropout, embed_dropout=c.embed_dropout,
                     position_embedding=c.position_embedding)
        self.crossmodal = nn.ModuleDict({
            f"{t}_from_{s}": TransformerStack(d, c.heads, c.levels, c.source_dropout(s), **stack) for t, s in pairs()
        })
        self.memory = nn.ModuleDict({
            m: TransformerStack(2 * d, c.heads, c.memory_levels, c.attn_dropout, **stack) for m in MODALITIES
        })
        width = 6 * d
        self.residual_in = nn.Linear(width, width)
        self.residual_out = nn.Linear(width, width)
        self.output = nn.Linear(width, 1)
        self.latent_dims = {m: d for m in MODALITIES}

    @classmethod
    def default_config(cls, kind: str) -> dict[str, Any]:
        return pick_recipe(RECIPES, "mult", kind)

    @property
    def masks_padding(self) -> bool:
        return self.config.mask_padding

    def encode(self, batch: Batch) -> Encoded:
        c = self.config
        features = batch.features()
        masks: dict[str, Tensor | None] = sequence_masks(batch) if c.mask_padding else dict.fromkeys(MODALITIES)
        if self.text_encoder is not None:
            tokens = token_inputs(batch, "MulT")
            features["text"] = self.text_encoder(tokens)
            masks["text"] = token_mask(tokens) if c.mask_padding else None
        latents, latent_masks = {}, {}
        for m in MODALITIES:
            x, valid = features[m], masks[m]
            if valid is not None:
                x = x.masked_fill(~valid.unsqueeze(-1), 0.0)
            if m == "text":
                x = F.dropout(x, c.text_dropout, self.training)
            latents[m], latent_masks[m] = self.project(m, x, valid)
        return Encoded(latents=latents, masks=latent_masks)

    def project(self, modality: str, x: Tensor, valid: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """(B, T, D) -> (B, T', d) conv latent and its validity (zeros where invalid)."""
        if modality not in self.projections:
            return x, valid
        kernel = self.config.kernel(modality)
        short = kernel - x.shape[1]
        if short > 0:
            if valid is None and self.config.mask_padding:
                valid = x.new_ones(x.shape[:2], dtype=torch.bool)
            x = F.pad(x, (0, 0, 0, short))
            valid = None if valid is None else F.pad(valid, (0, short), value=False)
        z = self.projections[modality](x.transpose(1, 2)).transpose(1, 2)
        if valid is None:
            return z, None
        valid = window_mask(valid, kernel)
        return z.masked_fill(~valid.unsqueeze(-1), 0.0), valid

    def fuse(self, latents: dict[str, Tensor], masks: dict[str, Tensor | None] | None = None) -> FuseOutput:
        c = self.config
        masked = c.mask_padding
        valid = {m: (masks or {}).get(m) if masked else None for m in MODALITIES}
        length = {m: latents[m].shape[1] for m in MODALITIES}
        positions = {}
        if c.position_embedding:
            positions = {m: step_positions(latents[m], valid[m], masked) for m in MODALITIES}

        def mask(t: str, s: str) -> Tensor | None:
            return allowed_keys(valid[t], valid[s], length[t], length[s], c.future_mask, latents[t].device)

        last = []
        for t in MODALITIES:
            crossed = [
                self.crossmodal[f"{t}_from_{s}"](latents[t], mask(t, s), positions.get(t), latents[s], positions.get(s))
                for s in MODALITIES if s != t
            ]
            h = torch.cat(crossed, dim=-1)
            mem_positions = step_positions(h, valid[t], masked) if c.position_embedding else None
            h = self.memory[t](h, mask(t, t), mem_positions)
            last.append(last_steps(h, valid[t]))
        fused = torch.cat(last, dim=-1)
        hidden = F.dropout(F.relu(self.residual_in(fused)), c.output_dropout, self.training)
        return FuseOutput(pred=self.output(self.residual_out(hidden) + fused))


def mmsa_state_dict(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """MMSA's MULT state dict with our parameter names (its ``version`` and position-embedding
    buffers dropped), for ``MulT.load_state_dict``."""
    renames = [(f"proj_{_SHORT[m]}.", f"projections.{m}.") for m in MODALITIES]
    renames += [(f"trans_{_SHORT[t]}_with_{_SHORT[s]}.", f"crossmodal.{t}_from_{s}.") for t, s in pairs()]
    renames += [(f"trans_{_SHORT[m]}_mem.", f"memory.{m}.") for m in MODALITIES]
    renames += [("proj1.", "residual_in."), ("proj2.", "residual_out."), ("out_layer.", "output.")]
    inside = [(".self_attn.", ".attention."), (".layer_norms.0.", ".norm_attention."),
              (".layer_norms.1.", ".norm_feedforward."), (".fc1.", ".feedforward_in."),
              (".fc2.", ".feedforward_out."), (".layer_norm.", ".norm.")]
    out = {}
    for key, value in state.items():
        if key.endswith(".version") or "embed_positions" in key:
            continue
        for old, new in renames:
            if key.startswith(old):
                key = new + key[len(old):]
                break
        for old, new in inside:
            key = key.replace(old, new)
        out[key] = value
    return out
