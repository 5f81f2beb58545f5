"""GLoMo: Global-Local Modal Fusion (Zhuang, Zhang, Hu, Zhang, Deng, Ren, ACM MM 2024).

Reference: the authors' code, github YetZzzzzz/GLoMo, ``GLoMo_MSA/GLoMo.py`` (model),
``GLoMo_MSA/MoE.py`` (noisy top-k mixture of experts), ``GLoMo_MSA/main_GLoMo.py`` (training),
``GLoMo_MSA/modules/transformer.py`` (the audio / vision encoder), and the paper's appendix
(Table 1). Written anew here; nothing is copied.

The model. Per modality a *global* vector and ``granularities`` *local* vectors of width ``hidden``:

- audio / vision: Conv1d (kernel 3, no bias) to ``hidden``, a pre-norm transformer encoder
  (``layers`` layers, ``heads`` heads, input scaled by sqrt(hidden) plus sinusoidal positions, a
  final LayerNorm); the global vector is the max over time, the local ones an adaptive max pool into
  ``granularities`` segments.
- text: the global vector is a Linear of the first frame (BERT's [CLS] state); the local ones are a
  Conv1d (kernel 3, no bias) over the token states, adaptively max-pooled into segments (no
  transformer).

``fuse``: per modality a noisy top-k mixture of experts (``experts`` two-layer MLPs, ``top_k``
active, Shazeer et al.'s gating) maps the local vectors, flattened feature-major as the reference
flattens its (B, d, G) pool, to one vector; the six vectors
(global, MoE) x (text, audio, vision) go through a 2-layer ``nn.TransformerEncoder`` (post-norm,
feed-forward 2048, no positions); an attention over the three global outputs and one over the three
MoE outputs give weighted sums, concatenated and projected; per modality a Linear of its two outputs,
weighted by the *global* attention's weights; the two results concatenated feed a Linear to one
value. Auxiliary loss ``moe_balance``: the three MoEs' ``cv^2(importance) + cv^2(load)``, summed and
multiplied by ``moe_weight`` (1e-2, the paper's omega and the reference's ``loss_coef``).

Mixing point. MS-Mix's code (github HongyuZhu-s/MS-Mix, ``models/GLoMo/GLoMo.py``) carries a
commented-out call that mixes the global vectors and, with a second call, the *MoE outputs*. Here
``encode`` stops before the MoEs: each modality's latent is ``B x (1 + granularities) x hidden``,
the global token followed by the local tokens, with a ``(B, 1 + granularities)`` mask (a sample's
tokens are valid when the modality has a valid frame). A mixer thus mixes the global and local
features of a modality with one ratio, and the MoEs and their balancing loss see the mixed rows.
Mixing after the MoEs, as MS-Mix's code does, would need ``encode`` to return the balancing loss,
which the Backbone interface has no place for.

Adaptation to MMSA's pickles (the reference reads MAG-style word-aligned pickles, audio 74-d and
vision 47-d, runs BERT itself, and has no CH-SIMS setting):

- text: by default the pickle's precomputed 768-d BERT states; the global vector reads frame 0
  (MMSA's states start with [CLS]) and the local ones pool the single available layer. With
  ``text_encoder`` set, a local transformers model runs on ``text_bert`` as in the reference, and
  the local vectors pool the last two layers' states one after the other (the reference
  concatenates them along time), the Conv1d running across the seam as in the reference.
- local granularities on sequences of any length (50, 375, 500; CH-SIMS 39 / 400 / 55): a sample's
  valid frames are split into ``granularities`` segments the way ``nn.AdaptiveMaxPool1d`` splits a
  whole sequence (segment s covers valid frames floor(s n / G) to ceil((s + 1) n / G)), so padding
  frames are never pooled and a short sample (n < G) repeats frames rather than reading padding.
- CH-SIMS: MOSI's model and training settings (see ``GLOMO_RECIPES``), a choice: both are small
  (about 1.3k training clips) and the authors give none.

Deviations from the reference, and its quirks (the default and why):

- Padding (``mask_padding``, default False, as the reference): the reference reads every padded
  frame everywhere (attention keys, max pools, the Conv1d), so a prediction depends on how far its
  sample was padded. That changes results, so the default keeps it; ``mask_padding=True`` is the
  fix: every attention, max pool and the Conv1d inputs ignore padding frames (padding is zeroed
  before the Conv1d, as at a sequence end).
- Positions: as the reference's sinusoidal embedding (fairseq's padding rule), a frame whose first
  projected feature is exactly 0 (padding away from valid frames) gets no position; with
  ``mask_padding`` every frame gets its position (1, 2, ...), padding being masked anyway.
- The MoE combines expert outputs as ``log(sum_i g_i exp(E_i(x)))`` over the top-k experts (the
  reference's dispatcher treats expert outputs as log-values); here computed as a logsumexp with
  ``log_softmax`` gate weights, equal wherever the reference's float32 ``exp`` neither over- nor
  underflows, and free of its zero-to-eps patch.
- The MoE's "load" uses a normal CDF with mean 0.1 (the reference's buffer; Shazeer et al. use 0):
  kept. Gating noise only in training; gate and noise weights start at zero (kept).
- Initialisation: the reference is built by ``BertPreTrainedModel.from_pretrained``, which
  re-initialises every Linear it does not load as N(0, 0.02) with zero bias; kept. Encoder
  attention input projections keep their Xavier init, the Conv1d layers PyTorch's default.
- The per-modality weighting reuses the global attention's weights (``attn_weights_cs``), and the
  modality attention applies dropout (0.3) before its ReLU: kept.
- Unused in the reference and absent here: ``dropout_prob`` (a Dropout never applied).
- Training (``main_GLoMo.py``): AdamW (eps 1e-8, weight decay 1e-4 except biases and BERT's
  LayerNorm weights), L1 loss plus the balancing losses, batch 240 / lr 4e-5 / 70 epochs on MOSI,
  64 / 1e-5 / 100 epochs on MOSEI; the optimiser is re-created every epoch (its moments reset) and
  lr drops 10x from epoch 80; no early stopping (test metrics are read every epoch). Recipes here:
  AdamW with one weight decay for all parameters, constant lr, early stopping on the validation
  loss (see ``GLOMO_RECIPES``).
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
from msmix.models.attention import masked_attention, merge_heads, sequence_masks, split_heads
from msmix.models.base import Backbone, Encoded, FuseOutput, register_backbone
from msmix.models.positions import sinusoid, step_positions
from msmix.models.recipes import check_bool, check_dropout, check_int, pick_recipe
from msmix.models.text_encoder import PretrainedTextEncoder, token_inputs, token_mask

MODS = ("text", "audio", "vision")

_MODEL = {
    "hidden": 48, "layers": 4, "heads": 16, "granularities": 3, "experts": 3, "top_k": 2,
    "moe_weight": 1e-2, "attn_dropout": 0.5, "relu_dropout": 0.3, "res_dropout": 0.3,
    "embed_dropout": 0.2, "fusion_layers": 2, "fusion_ff": 2048, "fusion_dropout": 0.1,
    "weighting_dropout": 0.3, "mask_padding": False, "text_encoder": None, "finetune_text_encoder": True,
}
_TRAIN = {"optimizer": "adamw", "weight_decay": 1e-4, "loss": "l1", "patience": 10, "scheduler": None}

GLOMO_RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    # README / appendix Table 1: batch 240, 4 layers, d 48, lr 4e-5, 70 epochs.
    "mosi": {"model": dict(_MODEL), "train": {**_TRAIN, "batch_size": 240, "lr": 4e-5, "max_epochs": 70}},
    # README / appendix Table 1: batch 64, 3 layers, d 192, lr 1e-5, 100 epochs.
    "mosei": {
        "model": {**_MODEL, "hidden": 192, "layers": 3},
        "train": {**_TRAIN, "batch_size": 64, "lr": 1e-5, "max_epochs": 100},
    },
    # No published setting: MOSI's (a data set of similar size).
    "sims": {"model": dict(_MODEL), "train": {**_TRAIN, "batch_size": 240, "lr": 4e-5, "max_epochs": 70}},
}
"""Per data set ``{"model", "train"}``. ``patience`` 10 is a choice (the reference trains a fixed
number of epochs); ``max_epochs`` is the reference's epoch count."""


@dataclass(frozen=True)
class GLoMoConfig:
    """Settings of GLoMo (published values per data set in ``GLOMO_RECIPES``).

    Attributes:
        hidden: width d of every global / local vector and of the encoders.
        layers: transformer layers of the audio and vision encoders.
        heads: attention heads (encoders and fusion transformer); must divide ``hidden``.
        granularities: local vectors per modality.
        experts, top_k: experts per modality's MoE, and how many each sample uses.
        moe_weight: weight of the MoE balancing loss.
        attn_dropout, relu_dropout, res_dropout, embed_dropout: the encoders' dropouts.
        fusion_layers, fusion_ff, fusion_dropout: the fusion transformer (torch's post-norm layer).
        weighting_dropout: dropout inside the two modality attentions.
        mask_padding: ignore padding frames (False, the default: read them, as the reference does).
        text_encoder: a local transformers model run on ``text_bert`` (None: precomputed features).
        finetune_text_encoder: train that text encoder with the rest.
    """

    hidden: int
    layers: int
    heads: int
    granularities: int
    experts: int
    top_k: int
    moe_weight: float
    attn_dropout: float
    relu_dropout: float
    res_dropout: float
    embed_dropout: float
    fusion_layers: int
    fusion_ff: int
    fusion_dropout: float
    weighting_dropout: float
    mask_padding: bool
    text_encoder: str | None
    finetune_text_encoder: bool

    def __post_init__(self) -> None:
        for name in ("hidden", "layers", "heads", "granularities", "experts", "top_k", "fusion_layers", "fusion_ff"):
            check_int("GLoMo", name, getattr(self, name))
        if self.hidden % self.heads:
            raise ValueError(f"GLoMo.heads ({self.heads}) must divide GLoMo.hidden ({self.hidden})")
        if self.top_k > self.experts:
            raise ValueError(f"GLoMo.top_k ({self.top_k}) must not exceed GLoMo.experts ({self.experts})")
        for name in ("attn_dropout", "relu_dropout", "res_dropout", "embed_dropout", "fusion_dropout", "weighting_dropout"):
            check_dropout("GLoMo", name, getattr(self, name))
        w = self.moe_weight
        if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
            raise ValueError(f"GLoMo.moe_weight must be a number >= 0, got {w!r}")
        check_bool("GLoMo", "mask_padding", self.mask_padding)
        check_bool("GLoMo", "finetune_text_encoder", self.finetune_text_encoder)
        if self.text_encoder is not None and not (isinstance(self.text_encoder, str) and self.text_encoder):
            raise ValueError(f"GLoMo.text_encoder must be None or a non-empty string, got {self.text_encoder!r}")


def segment_max(x: Tensor, valid: Tensor, segments: int) -> Tensor:
    """(B, T, d) -> (B, segments, d): max over each of ``segments`` runs of a sample's valid frames.

    Valid frames (in order) are split as ``nn.AdaptiveMaxPool1d`` splits a whole sequence: segment
    s covers valid frames ``floor(s n / S)`` to ``ceil((s + 1) n / S)``, n the sample's valid count.
    With every frame valid this is ``AdaptiveMaxPool1d``; a sample without valid frames gives zeros.
    """
    rank = (valid.long().cumsum(1) - 1).unsqueeze(1)  # (B, 1, T): index among valid frames
    n = valid.sum(1).view(-1, 1, 1)
    s = torch.arange(segments, device=x.device).view(1, -1, 1)
    start, end = (s * n) // segments, ((s + 1) * n + segments - 1) // segments
    member = valid.unsqueeze(1) & (rank >= start) & (rank < end)  # (B, S, T)
    filled = x.unsqueeze(1).masked_fill(~member.unsqueeze(-1), float("-inf"))
    pooled = filled.amax(dim=2)
    return torch.where(member.any(dim=2, keepdim=True), pooled, torch.zeros_like(pooled))


class PreNormLayer(nn.Module):
    """Pre-norm self-attention + ReLU feed-forward (4d) block with residual dropout, masked keys."""

    def __init__(self, d: int, heads: int, attn_dropout: float, relu_dropout: float, res_dropout: float) -> None:
        super().__init__()
        self.heads, self.attn_dropout, self.relu_dropout, self.res_dropout = heads, attn_dropout, relu_dropout, res_dropout
        self.norm_attn, self.norm_ff = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.ff_in, self.ff_out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x: Tensor, valid: Tensor | None) -> Tensor:
        q, k, v = (split_heads(t, self.heads) for t in self.qkv(self.norm_attn(x)).chunk(3, dim=-1))
        p = self.attn_dropout if self.training else 0.0
        h = self.out(merge_heads(masked_attention(q, k, v, valid, dropout_p=p)))
        x = x + F.dropout(h, self.res_dropout, self.training)
        h = F.dropout(F.relu(self.ff_in(self.norm_ff(x))), self.relu_dropout, self.training)
        return x + F.dropout(self.ff_out(h), self.res_dropout, self.training)


def conv_frames(conv: nn.Conv1d, x: Tensor, valid: Tensor | None) -> Tensor:
    """(B, T, D) -> (B, T, d) through ``conv`` along time, padding frames zeroed first when masked."""
    if valid is not None:
        x = x * valid.unsqueeze(-1).to(x.dtype)
    return conv(x.transpose(1, 2)).transpose(1, 2)


class SequenceEncoder(nn.Module):
    """Audio / vision: Conv1d to d, scaled input + positions, pre-norm transformer, final LayerNorm."""

    def __init__(self, in_dim: int, c: GLoMoConfig) -> None:
        super().__init__()
        self.d, self.embed_dropout = c.hidden, c.embed_dropout
        self.conv = nn.Conv1d(in_dim, c.hidden, kernel_size=3, padding=1, bias=False)
        self.layers = nn.ModuleList(
            PreNormLayer(c.hidden, c.heads, c.attn_dropout, c.relu_dropout, c.res_dropout) for _ in range(c.layers)
        )
        self.norm = nn.LayerNorm(c.hidden)

    def forward(self, x: Tensor, valid: Tensor | None) -> Tensor:
        h = conv_frames(self.conv, x, valid)
        # masked: every frame numbered (padding is masked anyway); else the reference's rule, where a
        # frame whose first projected feature is 0 gets no position
        positions = step_positions(h, None, from_mask=valid is not None)
        h = h * math.sqrt(self.d) + sinusoid(positions, self.d).to(h.dtype)
        h = F.dropout(h, self.embed_dropout, self.training)
        for layer in self.layers:
            h = layer(h, valid)
        return self.norm(h)


class NoisyTopKMoE(nn.Module):
    """Sparsely gated mixture of two-layer MLP experts (Shazeer et al. 2017, as GLoMo's ``MoE.py``).

    ``forward(x)`` returns ``log(sum_{i in top-k} g_i exp(E_i(x)))`` and the unweighted balancing
    loss ``cv^2(importance) + cv^2(load)``. In training the gate logits get Gaussian noise of a
    learnt scale (``noise`` overrides the standard-normal draws, for tests).
    """

    LOAD_CDF_MEAN: ClassVar[float] = 0.1
    NOISE_FLOOR: ClassVar[float] = 1e-2

    def __init__(self, in_dim: int, out_dim: int, experts: int, top_k: int) -> None:
        super().__init__()
        self.top_k = top_k
        self.experts = nn.ModuleList(
            nn.Sequential(nn.Linear(in_dim, out_dim), nn.ReLU(), nn.Linear(out_dim, out_dim)) for _ in range(experts)
        )
        self.w_gate = nn.Parameter(torch.zeros(in_dim, experts))
        self.w_noise = nn.Parameter(torch.zeros(in_dim, experts))

    def gating(self, x: Tensor, noise: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Top-k expert indices (B, k), their log gate weights (B, k), gates (B, E) and load (E,)."""
        n_experts, k = len(self.experts), self.top_k
        clean = x @ self.w_gate
        noisy = self.training
        if noisy:
            scale = F.softplus(x @ self.w_noise) + self.NOISE_FLOOR
            draws = torch.randn_like(clean) if noise is None else noise
            logits = clean + draws * scale
        else:
            logits = clean
        top_values, top_index = logits.topk(min(k + 1, n_experts), dim=1)
        log_gates = F.log_softmax(top_values[:, :k], dim=1)
        gates = torch.zeros_like(logits).scatter(1, top_index[:, :k], log_gates.exp())
        if noisy and k < n_experts:
            load = self.prob_in_top_k(clean, logits, scale, top_values).sum(0)
        else:
            load = (gates > 0).sum(0).to(x.dtype)
        return top_index[:, :k], log_gates, gates, load

    def prob_in_top_k(self, clean: Tensor, noisy: Tensor, scale: Tensor, top_values: Tensor) -> Tensor:
        """Per sample and expert, the probability (over fresh noise) of being among the top k."""
        k = self.top_k
        in_threshold, out_threshold = top_values[:, k : k + 1], top_values[:, k - 1 : k]
        cdf = lambda z: 0.5 * (1.0 + torch.erf((z - self.LOAD_CDF_MEAN) / math.sqrt(2.0)))  # noqa: E731
        return torch.where(noisy > in_threshold, cdf((clean - in_threshold) / scale), cdf((clean - out_threshold) / scale))

    def forward(self, x: Tensor, noise: Tensor | None = None) -> tuple[Tensor, Tensor]:
        index, log_gates, gates, load = self.gating(x, noise)
        outputs = torch.stack([expert(x) for expert in self.experts], dim=1)  # (B, E, d)
        chosen = outputs.gather(1, index.unsqueeze(-1).expand(-1, -1, outputs.shape[-1]))
        y = torch.logsumexp(chosen + log_gates.unsqueeze(-1), dim=1)
        return y, cv_squared(gates.sum(0)) + cv_squared(load)


def cv_squared(x: Tensor) -> Tensor:
    """Squared coefficient of variation (unbiased variance / squared mean); 0 for one value."""
    if x.numel() == 1:
        return x.new_zeros(())
    x = x.float()
    return x.var() / (x.mean() ** 2 + 1e-10)


class ModalityAttention(nn.Module):
    """Softmax weights over three (B, d) vectors from an MLP of their concatenation; their weighted sum."""

    def __init__(self, d: int, dropout: float) -> None:
        super().__init__()
        self.scale = d**-0.5
        self.hidden = nn.Sequential(nn.Linear(3 * d, d), nn.Dropout(dropout), nn.ReLU())
        self.score = nn.Linear(d, 3)

    def forward(self, a: Tensor, b: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        weights = torch.softmax(self.score(self.hidden(torch.cat([a, b, c], dim=1))) * self.scale, dim=1)
        return weights, torch.einsum("bmd,bm->bd", torch.stack([a, b, c], dim=1), weights)


@register_backbone("glomo")
class GLoMo(Backbone):
    """GLoMo split into ``encode`` (global + local vectors per modality) and ``fuse`` (MoEs, fusion, head)."""

    config_class = GLoMoConfig
    needs_time_average: ClassVar[bool] = False

    def __init__(self, spec: DataSpec, config: GLoMoConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        self.spec = spec
        self.config = self.settings(spec, config, overrides)
        c = self.config
        d, g = c.hidden, c.granularities
        self.text_encoder: PretrainedTextEncoder | None = None
        text_dim = spec.dims["text"]
        if c.text_encoder is not None:
            self.text_encoder = PretrainedTextEncoder(c.text_encoder, finetune=c.finetune_text_encoder)
            text_dim = self.text_encoder.hidden_size
        self.text_global = nn.Linear(text_dim, d)
        self.text_conv = nn.Conv1d(text_dim, d, kernel_size=3, padding=1, bias=False)
        self.audio_encoder = SequenceEncoder(spec.dims["audio"], c)
        self.vision_encoder = SequenceEncoder(spec.dims["vision"], c)
        self.moes = nn.ModuleDict({m: NoisyTopKMoE(g * d, d, c.experts, c.top_k) for m in MODS})
        layer = nn.TransformerEncoderLayer(d, c.heads, c.fusion_ff, c.fusion_dropout, batch_first=True)
        self.fusion = nn.TransformerEncoder(layer, c.fusion_layers, enable_nested_tensor=False)
        self.global_attention = ModalityAttention(d, c.weighting_dropout)
        self.local_attention = ModalityAttention(d, c.weighting_dropout)
        self.pair = nn.ModuleDict({m: nn.Linear(2 * d, d) for m in MODS})
        self.merge = nn.Linear(2 * d, d)
        self.head = nn.Linear(2 * d, 1)
        self.latent_dims = {m: d for m in MODS}
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The reference's initialisation: Linear N(0, 0.02) with zero bias (BERT's rule for layers it
        does not load), encoder attention input projections Xavier-uniform, MoE gates zero."""
        for name, module in self.named_modules():
            if name.startswith("text_encoder"):
                continue
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)
        for encoder in (self.audio_encoder, self.vision_encoder):
            for layer in encoder.layers:
                nn.init.xavier_uniform_(layer.qkv.weight)

    @property
    def masks_padding(self) -> bool:
        return self.config.mask_padding

    @classmethod
    def default_config(cls, kind: str) -> dict[str, Any]:
        return pick_recipe(GLOMO_RECIPES, "glomo", kind)

    def _valid(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """The (B, T) frames to read: the mask when masking padding, else every frame."""
        if mask is None or not self.config.mask_padding:
            return torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        return mask

    def _text_states(self, batch: Batch) -> tuple[Tensor, Tensor, Tensor]:
        """The [CLS] state (B, D), the states the local vectors pool (B, T', D) and their valid mask."""
        if self.text_encoder is None:
            x = batch.text
            valid = self._valid(x, sequence_masks(batch)["text"])
            return x[:, 0], x, valid
        tokens = token_inputs(batch, "GLoMo")
        *_, before, last = self.text_encoder.hidden_states(tokens)
        valid = self._valid(last, token_mask(tokens))
        return last[:, 0], *stack_valid_frames(last, before, valid)

    def encode(self, batch: Batch) -> Encoded:
        g = self.config.granularities
        masks = sequence_masks(batch)
        cls_state, text, text_valid = self._text_states(batch)
        text_local = segment_max(conv_frames(self.text_conv, text, text_valid), text_valid, g)
        latents = {"text": torch.cat([self.text_global(cls_state).unsqueeze(1), text_local], dim=1)}
        token_masks = {"text": text_valid.any(1, keepdim=True).expand(-1, 1 + g)}
        for m, encoder in (("audio", self.audio_encoder), ("vision", self.vision_encoder)):
            x = getattr(batch, m)
            valid = self._valid(x, masks[m])
            h = encoder(x, valid if self.config.mask_padding else None)
            latents[m] = torch.cat([segment_max(h, valid, 1), segment_max(h, valid, g)], dim=1)
            token_masks[m] = valid.any(1, keepdim=True).expand(-1, 1 + g)
        return Encoded(latents=latents, masks=token_masks)

    def fuse(self, latents: dict[str, Tensor], masks: dict[str, Tensor | None] | None = None) -> FuseOutput:
        """``masks`` are not needed: every token is a pooled summary (zero for an empty modality)."""
        tokens, balance = [], []
        for m in MODS:
            z = latents[m]
            local, loss = self.moes[m](z[:, 1:].transpose(1, 2).flatten(1))  # channel-major, as the reference
            tokens += [z[:, 0], local]
            balance.append(loss)
        h = self.fusion(torch.stack(tokens, dim=1)).unbind(1)  # global_t, local_t, global_a, ...
        weights, global_mix = self.global_attention(h[0], h[2], h[4])
        _, local_mix = self.local_attention(h[1], h[3], h[5])
        merged = self.merge(torch.cat([global_mix, local_mix], dim=1))
        pairs = torch.stack([self.pair[m](torch.cat([h[2 * i], h[2 * i + 1]], dim=1)) for i, m in enumerate(MODS)], dim=1)
        weighted = torch.einsum("bmd,bm->bd", pairs, weights)
        pred = self.head(torch.cat([merged, weighted], dim=1))
        return FuseOutput(pred=pred, aux_losses={"moe_balance": self.config.moe_weight * sum(balance)})


def stack_valid_frames(first: Tensor, second: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
    """Two (B, T, D) layers -> (B, 2T, D): a sample's valid frames of ``first`` then of ``second``,
    then zeros, and the (B, 2T) mask of those 2n frames (the reference's time concatenation of two
    layers, without the padding between them)."""
    b, t, _ = first.shape
    order = torch.argsort((~valid).to(torch.int8), dim=1, stable=True)  # valid frames first
    n = valid.sum(1, keepdim=True)
    j = torch.arange(2 * t, device=first.device).unsqueeze(0)
    source = torch.where(j < n, order.gather(1, j.clamp(max=t - 1)), t + order.gather(1, (j - n).clamp(0, t - 1)))
    both = torch.cat([first, second], dim=1).gather(1, source.unsqueeze(-1).expand(-1, -1, first.shape[-1]))
    packed_valid = j < 2 * n
    return both * packed_valid.unsqueeze(-1).to(both.dtype), packed_valid
