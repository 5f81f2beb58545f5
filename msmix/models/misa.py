"""MISA: Modality-Invariant and -Specific representations (Hazarika, Zimmermann, Poria, ACM MM 2020),
as in MMSA 2.2.1 (``models/singleTask/MISA.py``, trained by ``trains/singleTask/MISA.py``).

``encode``: the text utterance vector is the mean of the text states over valid tokens (by default
the data set's precomputed 768-d BERT states, which is what MMSA computes from its BERT; with
``text_encoder`` set, a transformers encoder run on the ``text_bert`` tokens, fine-tuned unless
``finetune_text_encoder`` is False). Audio and vision each pass a two-layer bidirectional LSTM stack
(hidden size = feature size, LayerNorm between the layers, packed sequences) whose four final
states are concatenated. Each modality is then projected (Linear, ReLU, LayerNorm) to
``hidden_size``: these B x hidden utterance projections are the mixing point.

``fuse``: a private encoder per modality and one shared encoder (Linear + sigmoid), the
reconstruction of each projection from private + shared, a one-layer post-norm transformer over
the six representations (private t, v, a, shared t, v, a), and the head (Linear 6h -> 3h, dropout,
ReLU, Linear 3h -> 1, no output activation). Auxiliary losses, computed on the rows ``fuse`` sees
and already weighted: ``diff`` (soft orthogonality of private/shared and of private pairs),
``sim`` (central moment discrepancy of order ``cmd_moments`` = 5 between the shared
representations; MMSA's ``use_cmd_sim`` is true for every data set) and ``recon`` (mean squared
reconstruction error, averaged over modalities).

Reference quirks, kept by default:

- Audio and vision LSTMs are packed with the *text* lengths (valid BERT tokens, [CLS]/[SEP]
  included), so they read only their first ``len(text)`` frames, padding frames included where
  their own sequence is shorter. ``pack_with_own_lengths=True`` packs each with its own lengths
  (then padding frames change nothing). The default keeps MMSA's behaviour because it changes
  results; with it ``masks_padding`` is False. Without any text mask the full text length is used.
- The text mean divides by the number of valid tokens; the diff loss detaches the row norms;
  the reconstruction target (the projection) is not detached; all as in MMSA.
- Transformer settings are PyTorch's defaults that MMSA inherits: 2 heads, feed-forward width
  2048, dropout 0.1 (``transformer_heads``, ``transformer_ff``, ``transformer_dropout``).

Deviations from MMSA (none changes a prediction or a loss value of valid inputs):

- Left out, because nothing trains them: MMSA's ``tlayer_norm`` (defined, never used with BERT),
  its ``sp_discriminator`` (run in forward, but no loss reads it: ``sp_weight`` is unused) and the
  text encoder's pooler. MMSA's non-BERT count is 3,588 parameters higher on every data set.
  The reverse-gradient domain discriminator exists only with ``use_cmd_sim`` false, which no
  published config sets (MMSA's trainer could not compute that loss: it lacks its criterion).
- Lengths are clamped to [1, frames]: MMSA fails when the text is longer than an audio or vision
  sequence or has no valid token. Left-padded audio / vision are first rotated so that their
  valid frames come first (MMSA assumes right padding).
- The CMD norms use ``vector_norm``, whose gradient at 0 is 0, where MMSA's ``sum ** 0.5`` gives NaN
  gradients (a batch of one has all central moments 0).

Training recipe (``default_config``; MMSA's trainer): Adam at 1e-4 on every parameter, BERT
included (no separate BERT learning rate, so no ``parameter_groups``), MSE loss, early stopping on
the validation loss after 8 epochs, gradient values clipped at ``grad_clip`` and two batches per
update (``update_epochs = 2``). MMSA's config lists a weight decay (5e-5 on MOSEI and SIMS) that its
trainer never passes to Adam, so the recipe has none. MMSA sums the two batches' gradients and clips
after each backward; msmix averages them and clips once before the step, so the recipe's
``clip_value`` is ``grad_clip / 2``: the same bound on the summed gradient (Adam itself is
scale-free), as MulT's recipe does for its eight batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from msmix.data.batch import Batch
from msmix.data.spec import DataSpec
from msmix.models.attention import masked_attention, masked_mean, merge_heads, sequence_masks, split_heads
from msmix.models.base import Backbone, Encoded, FuseOutput, register_backbone
from msmix.models.recipes import check_bool, check_dropout, check_int, pick_recipe
from msmix.models.subnets import valid_frames_first, vector_latents
from msmix.models.text_encoder import PretrainedTextEncoder, token_inputs, token_mask

ORDER = ("text", "vision", "audio")
"""MMSA's modality order inside fusion (private t, v, a, then shared t, v, a)."""

_COMMON = {
    "hidden_size": 128, "transformer_heads": 2, "transformer_ff": 2048, "transformer_dropout": 0.1,
    "cmd_moments": 5, "text_encoder": None, "finetune_text_encoder": True, "pack_with_own_lengths": False,
}
_TRAIN = {"lr": 1e-4, "loss": "mse", "patience": 8, "optimizer": "adam", "weight_decay": 0.0, "grad_accum": 2}

RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    "mosi": {
        "model": {**_COMMON, "fusion_dropout": 0.2, "diff_weight": 0.1, "sim_weight": 0.3, "recon_weight": 1.0},
        "train": {**_TRAIN, "batch_size": 16, "clip_value": 0.8 / 2},
    },
    "mosei": {
        "model": {**_COMMON, "fusion_dropout": 0.5, "diff_weight": 0.3, "sim_weight": 0.8, "recon_weight": 1.0},
        "train": {**_TRAIN, "batch_size": 64, "clip_value": 0.8 / 2},
    },
    "sims": {
        "model": {**_COMMON, "fusion_dropout": 0.0, "diff_weight": 0.3, "sim_weight": 1.0, "recon_weight": 0.8},
        "train": {**_TRAIN, "batch_size": 64, "clip_value": 1.0 / 2},
    },
}
"""MMSA 2.2.1's ``misa`` entries of ``config_regression.json`` (``dropout`` -> ``fusion_dropout``)."""


@dataclass(frozen=True)
class MISAConfig:
    """Settings of MISA (published values per data set in ``RECIPES``).

    Attributes:
        hidden_size: width of the utterance projections and of everything after them.
        fusion_dropout: dropout in the fusion head (MMSA's ``dropout``).
        transformer_heads, transformer_ff, transformer_dropout: the fusion transformer layer.
        diff_weight, sim_weight, recon_weight: weights of the ``diff`` / ``sim`` / ``recon`` losses.
        cmd_moments: highest moment matched by the CMD similarity loss.
        text_encoder: a local transformers folder or cached name to run on ``text_bert`` tokens
            (MMSA: ``bert-base-uncased``, ``bert-base-chinese`` for CH-SIMS); None reads the
            precomputed text features.
        finetune_text_encoder: train the text encoder with the rest (MMSA's ``use_finetune``).
        pack_with_own_lengths: pack audio / vision with their own lengths (MMSA uses the text's).
    """

    hidden_size: int
    fusion_dropout: float
    transformer_heads: int
    transformer_ff: int
    transformer_dropout: float
    diff_weight: float
    sim_weight: float
    recon_weight: float
    cmd_moments: int
    text_encoder: str | None
    finetune_text_encoder: bool
    pack_with_own_lengths: bool

    def __post_init__(self) -> None:
        for name in ("hidden_size", "transformer_heads", "transformer_ff", "cmd_moments"):
            check_int("MISA", name, getattr(self, name))
        if self.hidden_size % self.transformer_heads:
            raise ValueError(
                f"MISA.hidden_size ({self.hidden_size}) must be divisible by "
                f"transformer_heads ({self.transformer_heads})"
            )
        for name in ("fusion_dropout", "transformer_dropout"):
            check_dropout("MISA", name, getattr(self, name))
        for name in ("diff_weight", "sim_weight", "recon_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"MISA.{name} must be a number >= 0, got {value!r}")
        if self.text_encoder is not None and (not isinstance(self.text_encoder, str) or not self.text_encoder):
            raise ValueError(f"MISA.text_encoder must be None or a non-empty string, got {self.text_encoder!r}")
        for name in ("finetune_text_encoder", "pack_with_own_lengths"):
            check_bool("MISA", name, getattr(self, name))


class RecurrentStack(nn.Module):
    """Two bidirectional LSTMs (hidden = input size) with a LayerNorm between: (B, T, d) -> (B, 4d).

    The output is ``[h1 forward, h2 forward, h1 backward, h2 backward]`` (final states of both
    layers), MMSA's layout. The LayerNorm works frame by frame, so it runs on the packed frames
    directly instead of unpacking and repacking.
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.first = nn.LSTM(size, size, bidirectional=True)
        self.norm = nn.LayerNorm(2 * size)
        self.second = nn.LSTM(2 * size, size, bidirectional=True)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """``x`` (B, T, d) with valid frames first, ``lengths`` (B,) int64 on the CPU."""
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        states, (first_final, _) = self.first(packed)
        normed = states._replace(data=self.norm(states.data))
        _, (second_final, _) = self.second(normed)
        both = torch.cat([first_final, second_final], dim=2)  # (directions, B, 2d)
        return both.transpose(0, 1).reshape(x.shape[0], -1)


def utterance_projection(in_dim: int, hidden: int) -> nn.Sequential:
    """Linear, ReLU, LayerNorm: one modality's utterance vector into the common space."""
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.LayerNorm(hidden))


class FusionTransformerLayer(nn.Module):
    """One post-norm transformer encoder layer (ReLU feed-forward), as ``nn.TransformerEncoderLayer``'s
    defaults that MMSA uses, over (B, L, d) tokens with no padding."""

    def __init__(self, width: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.in_proj = nn.Linear(width, 3 * width)
        self.out_proj = nn.Linear(width, width)
        self.linear1 = nn.Linear(width, ff)
        self.linear2 = nn.Linear(ff, width)
        self.norm1 = nn.LayerNorm(width)
        self.norm2 = nn.LayerNorm(width)

    def forward(self, x: Tensor) -> Tensor:
        p = self.dropout if self.training else 0.0
        q, k, v = (split_heads(part, self.heads) for part in self.in_proj(x).chunk(3, dim=-1))
        attended = self.out_proj(merge_heads(masked_attention(q, k, v, dropout_p=p)))
        x = self.norm1(x + F.dropout(attended, p, self.training))
        ff = self.linear2(F.dropout(F.relu(self.linear1(x)), p, self.training))
        return self.norm2(x + F.dropout(ff, p, self.training))


def unit_rows(x: Tensor) -> Tensor:
    """Centre (B, d) over the batch, then divide each row by its (detached) norm + 1e-6."""
    centred = x - x.mean(dim=0, keepdim=True)
    return centred / (torch.linalg.vector_norm(centred, dim=1, keepdim=True).detach() + 1e-6)


def difference_loss(private: dict[str, Tensor], shared: dict[str, Tensor]) -> Tensor:
    """Soft orthogonality: the mean squared cross-correlation of each private/shared pair and each
    pair of private representations, summed over the six pairs."""
    unit_p = {m: unit_rows(x) for m, x in private.items()}
    unit_s = {m: unit_rows(x) for m, x in shared.items()}
    pairs = [
        (unit_p["text"], unit_s["text"]), (unit_p["vision"], unit_s["vision"]), (unit_p["audio"], unit_s["audio"]),
        (unit_p["audio"], unit_p["text"]), (unit_p["audio"], unit_p["vision"]), (unit_p["text"], unit_p["vision"]),
    ]
    left, right = (torch.stack(side) for side in zip(*pairs))
    return torch.bmm(left.transpose(1, 2), right).square().mean(dim=(1, 2)).sum()


def moment_discrepancy(shared: dict[str, Tensor], moments: int) -> Tensor:
    """Central moment discrepancy of orders 1..``moments`` between the shared representations,
    averaged over the pairs (text, vision), (text, audio), (audio, vision)."""
    x = torch.stack([shared[m] for m in ORDER])  # (3, B, d)
    mean = x.mean(dim=1)
    centred = x - mean.unsqueeze(1)
    stats = torch.stack([mean, *(centred.pow(k).mean(dim=1) for k in range(2, moments + 1))], dim=1)  # (3, K, d)
    first, second = [0, 0, 2], [1, 2, 1]
    return torch.linalg.vector_norm(stats[first] - stats[second], dim=-1).sum() / 3.0


@register_backbone("misa")
class MISA(Backbone):
    """MISA split into ``encode`` (utterance projections) and ``fuse`` (private / shared spaces, fusion).

    ``fuse`` also reconstructs the projections and returns the weighted diff, CMD and reconstruction
    losses."""

    config_class = MISAConfig
    stackable = False  # packed sequences read their lengths on the host, which vmap cannot batch

    def __init__(self, spec: DataSpec, config: MISAConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        self.spec = spec
        self.config = self.settings(spec, config, overrides)
        c = self.config
        self.text_encoder: PretrainedTextEncoder | None = None
        text_dim = spec.dims["text"]
        if c.text_encoder is not None:
            self.text_encoder = PretrainedTextEncoder(c.text_encoder, finetune=c.finetune_text_encoder)
            text_dim = self.text_encoder.hidden_size
        self.audio_rnn = RecurrentStack(spec.dims["audio"])
        self.vision_rnn = RecurrentStack(spec.dims["vision"])
        h = c.hidden_size
        in_dims = {"text": text_dim, "audio": 4 * spec.dims["audio"], "vision": 4 * spec.dims["vision"]}
        self.project = nn.ModuleDict({m: utterance_projection(in_dims[m], h) for m in ORDER})
        self.private = nn.ModuleDict({m: nn.Linear(h, h) for m in ORDER})
        self.shared = nn.Linear(h, h)
        self.recon = nn.ModuleDict({m: nn.Linear(h, h) for m in ORDER})
        self.fusion_layer = FusionTransformerLayer(h, c.transformer_heads, c.transformer_ff, c.transformer_dropout)
        self.head = nn.Sequential(nn.Linear(6 * h, 3 * h), nn.Dropout(c.fusion_dropout), nn.ReLU(), nn.Linear(3 * h, 1))
        self.latent_dims = {m: h for m in ("text", "audio", "vision")}

    @classmethod
    def default_config(cls, kind: str) -> dict[str, Any]:
        return pick_recipe(RECIPES, "misa", kind)

    @property
    def masks_padding(self) -> bool:
        """Only with their own lengths do audio and vision ignore their padding frames."""
        return self.config.pack_with_own_lengths

    def encode(self, batch: Batch) -> Encoded:
        masks = sequence_masks(batch)
        if self.text_encoder is not None:
            tokens = token_inputs(batch, "MISA")
            text_valid: Tensor | None = token_mask(tokens)
            states = self.text_encoder(tokens)
        else:
            text_valid, states = masks["text"], batch.text
        vectors = {"text": masked_mean(states, text_valid)}
        lengths = self.packing_lengths(batch, text_valid, states.shape[1])
        for m, rnn in (("audio", self.audio_rnn), ("vision", self.vision_rnn)):
            x, own = getattr(batch, m), batch.lengths.get(m)
            if batch.padding == "left" and own is not None:
                x = valid_frames_first(x, own)
            vectors[m] = rnn(x, lengths[m])
        latents = {m: self.project[m](vectors[m]) for m in ("text", "audio", "vision")}
        return Encoded(latents=latents, masks={m: None for m in latents})

    def packing_lengths(self, batch: Batch, text_valid: Tensor | None, text_steps: int) -> dict[str, Tensor]:
        """CPU lengths that audio and vision are packed with: the text's (MMSA; every text step
        without a text mask) or their own (every frame without lengths), clamped to [1, frames].
        One copy to the host for both."""
        rows, device = len(batch), batch.labels.device
        counts = []
        for m in ("audio", "vision"):
            steps = getattr(batch, m).shape[1]
            if self.config.pack_with_own_lengths:
                n, default = batch.lengths.get(m), steps
            else:
                n, default = (None if text_valid is None else text_valid.sum(dim=1)), text_steps
            if n is None:
                n = torch.full((rows,), default, dtype=torch.long, device=device)
            counts.append(n.long().clamp(1, steps))
        on_host = torch.stack(counts).cpu()
        return {"audio": on_host[0], "vision": on_host[1]}

    def fuse(self, latents: dict[str, Tensor], masks: dict[str, Tensor | None] | None = None) -> FuseOutput:
        vector_latents(latents, self.latent_dims, "MISA")
        c = self.config
        private = {m: torch.sigmoid(self.private[m](latents[m])) for m in ORDER}
        shared = {m: torch.sigmoid(self.shared(latents[m])) for m in ORDER}
        tokens = torch.stack([*(private[m] for m in ORDER), *(shared[m] for m in ORDER)], dim=1)
        pred = self.head(self.fusion_layer(tokens).flatten(1))
        recon = sum(F.mse_loss(self.recon[m](private[m] + shared[m]), latents[m]) for m in ORDER) / 3.0
        aux = {
            "diff": c.diff_weight * difference_loss(private, shared),
            "sim": c.sim_weight * moment_discrepancy(shared, c.cmd_moments),
            "recon": c.recon_weight * recon,
        }
        return FuseOutput(pred=pred, aux_losses=aux)
