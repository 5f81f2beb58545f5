"""Fused attention with padding masks, shared by the sequence backbones (MulT, ALMT, GLoMo).

The published implementations materialise every attention map and let padding frames take part.
Here attention goes through ``F.scaled_dot_product_attention`` (flash / memory-efficient kernels
where the device has them) with a mask built from the batch's lengths, so padding frames neither
receive nor give attention weight. On CUDA, head sizes the fused kernels cannot take are
zero-padded first (``attention``), which leaves the result unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

from msmix.data.batch import Batch
from msmix.models.text_encoder import token_mask


def split_heads(x: Tensor, heads: int) -> Tensor:
    """(B, L, heads * d) -> (B, heads, L, d)."""
    b, length, width = x.shape
    return x.view(b, length, heads, width // heads).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    """(B, heads, L, d) -> (B, L, heads * d)."""
    b, heads, length, d = x.shape
    return x.transpose(1, 2).reshape(b, length, heads * d)


HEAD_ALIGNMENT = 8
"""Head sizes CUDA's fused (memory-efficient) attention kernel takes are multiples of this (4 or 8,
by dtype and GPU). GLoMo's (3) and MulT's (6) are not, so their attention would fall back to the
math kernel, which keeps every B x heads x L x S weight (and, with dropout, its mask) for the
backward pass: about 300 MiB per GLoMo sample at MOSI's 375 / 500 frames, tens of GB at its
batch of 240."""

_pad_heads = True


@contextlib.contextmanager
def head_padding(enabled: bool) -> Iterator[None]:
    """Switch the CUDA head-size padding of ``attention`` on or off inside the block (to measure it)."""
    global _pad_heads
    before, _pad_heads = _pad_heads, enabled
    try:
        yield
    finally:
        _pad_heads = before


def attention(q: Tensor, k: Tensor, v: Tensor, attn_mask: Tensor | None = None, dropout_p: float = 0.0,
              scale: float | None = None) -> Tensor:
    """``F.scaled_dot_product_attention``; on CUDA with a head size that is not a multiple of
    ``HEAD_ALIGNMENT``, through ``padded_attention`` so the fused kernel can take it."""
    if _pad_heads and q.is_cuda and q.shape[-1] % HEAD_ALIGNMENT:
        return padded_attention(q, k, v, attn_mask, dropout_p, scale, HEAD_ALIGNMENT)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, scale=scale)


def padded_attention(q: Tensor, k: Tensor, v: Tensor, attn_mask: Tensor | None, dropout_p: float,
                     scale: float | None, multiple: int) -> Tensor:
    """The same attention with queries, keys and values zero-padded to a head size that is a
    multiple of ``multiple``: the padded columns add nothing to q . k (the scale stays the real
    size's), and the output's padded columns, zero, are cut off."""
    d = q.shape[-1]
    widen = (0, -d % multiple)
    out = F.scaled_dot_product_attention(F.pad(q, widen), F.pad(k, widen), F.pad(v, widen), attn_mask=attn_mask,
                                         dropout_p=dropout_p, scale=d**-0.5 if scale is None else scale)
    return out[..., :d]


def masked_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    key_valid: Tensor | None = None,
    dropout_p: float = 0.0,
    scale: float | None = None,
) -> Tensor:
    """Softmax attention of (B, h, L, d) queries over (B, h, S, d) keys and values.

    ``key_valid`` is a (B, S) boolean mask of the keys that may be attended to (None: all). A query
    of a sample with no valid key gets a zero output rather than the NaN of an empty softmax.
    ``dropout_p`` drops attention weights (pass 0 in evaluation); ``scale`` defaults to ``d ** -0.5``.
    """
    if key_valid is None:
        return attention(q, k, v, dropout_p=dropout_p, scale=scale)
    if key_valid.dtype != torch.bool or key_valid.shape != (k.shape[0], k.shape[2]):
        raise ValueError(
            f"key_valid must be a (B, S) = {(k.shape[0], k.shape[2])} boolean mask, "
            f"got {key_valid.dtype} {tuple(key_valid.shape)}"
        )
    any_valid = key_valid.any(dim=1)
    allowed = key_valid | ~any_valid.unsqueeze(1)  # an empty row attends everywhere, then is zeroed
    out = attention(q, k, v, attn_mask=allowed[:, None, None, :], dropout_p=dropout_p, scale=scale)
    return out * any_valid.view(-1, 1, 1, 1).to(out.dtype)


def masked_mean(x: Tensor, valid: Tensor | None) -> Tensor:
    """(B, T, d) -> (B, d): the mean over valid steps (all steps without a mask; 0 with none valid)."""
    if valid is None:
        return x.mean(dim=1)
    weights = valid.to(x.dtype).unsqueeze(-1)
    return (x * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)


def sequence_masks(batch: Batch) -> dict[str, Tensor | None]:
    """(B, T) validity masks of the three modalities' feature sequences, None where all frames count.

    Audio and vision from their lengths; text from its lengths where the file has them, else from
    the attention mask of the ``text_bert`` tokens when their length matches the text features
    (MMSA's BERT features line up with those tokens), else None.
    """
    masks = batch.masks()
    tokens = batch.text_bert
    if masks["text"] is None and tokens is not None and tokens.shape[2] == batch.text.shape[1]:
        masks["text"] = token_mask(tokens)
    return masks
