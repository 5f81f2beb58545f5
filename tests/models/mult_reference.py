"""MMSA 2.2.1's MULT built from its own code and config, for parity tests of ``msmix.models.mult``."""

from __future__ import annotations

import torch
from torch import nn

from mmsa_reference import mmsa_config, mmsa_module

ORDER = ("text", "audio", "vision")
"""MMSA's order of ``feature_dims`` and of MULT's inputs."""


def mmsa_mult(kind: str, dims: dict[str, int], seed: int = 0, **extra) -> nn.Module:
    """MMSA's MULT for data set ``kind`` (its recipe, then ``extra``) on features of ``dims``."""
    feature_dims = [dims[m] for m in ORDER]
    cpu = torch.device("cpu")
    args = mmsa_config("mult", kind, feature_dims=feature_dims, train_mode="regression", device=cpu, **extra)
    torch.manual_seed(seed)
    return mmsa_module("models.singleTask.MULT").MULT(args)


def with_position_embedding(model: nn.Module) -> nn.Module:
    """Give every transformer of an MMSA MULT the sinusoidal position embedding (its constructor
    never asks for one; the original MulT code always had it)."""
    embedding = mmsa_module("models.subNets.transformers_encoder.position_embedding").SinusoidalPositionalEmbedding
    encoder = mmsa_module("models.subNets.transformers_encoder.transformer").TransformerEncoder
    for module in model.modules():
        if isinstance(module, encoder):
            module.embed_positions = embedding(module.embed_dim)
    return model


def future_mask(queries: int, keys: int) -> torch.Tensor:
    """MMSA's additive future mask (0 or -inf) for ``queries`` x ``keys`` attention."""
    transformer = mmsa_module("models.subNets.transformers_encoder.transformer")
    return transformer.buffered_future_mask(torch.zeros(queries, 1, 1), torch.zeros(keys, 1, 1))
