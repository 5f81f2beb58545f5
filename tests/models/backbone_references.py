"""Independent references for backbone tests: MMSA's parameter counts layer by layer, TFN's fused
tensor by loops."""

from __future__ import annotations

import torch


def linear_params(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def lstm_params(n_in: int, hidden: int) -> int:
    """One-layer LSTM: four gates, each with input and recurrent weights and two biases."""
    return 4 * hidden * (n_in + hidden) + 8 * hidden


def mlp_params(n_in: int, hidden: int) -> int:
    """MMSA's SubNet: BatchNorm (weight, bias) and three Linear layers."""
    return 2 * n_in + linear_params(n_in, hidden) + 2 * linear_params(hidden, hidden)


def subnet_params(dims: dict[str, int], c: dict) -> int:
    """The three pre-fusion sub-networks shared by TFN and LMF."""
    text = lstm_params(dims["text"], c["text_hidden"]) + linear_params(c["text_hidden"], c["text_out"])
    return text + mlp_params(dims["audio"], c["audio_hidden"]) + mlp_params(dims["vision"], c["vision_hidden"])


def expected_tfn_params(dims: dict[str, int], c: dict) -> int:
    """MMSA's TFN: sub-networks, then three post-fusion Linears on the (a + 1)(v + 1)(t + 1) fused vector."""
    fused = (c["audio_hidden"] + 1) * (c["vision_hidden"] + 1) * (c["text_out"] + 1)
    hidden = c["post_fusion_dim"]
    head = linear_params(fused, hidden) + linear_params(hidden, hidden) + linear_params(hidden, 1)
    return subnet_params(dims, c) + head


def expected_lmf_params(dims: dict[str, int], c: dict) -> int:
    """MMSA's LMF: sub-networks, three (rank, d + 1) factors, (1, rank) fusion weights and a bias."""
    factors = c["rank"] * (c["audio_hidden"] + 1 + c["vision_hidden"] + 1 + c["text_out"] + 1)
    return subnet_params(dims, c) + factors + c["rank"] + 1


def fused64_loop(audio: torch.Tensor, vision: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """[1; a] x [1; v] x [1; t] by three loops, flattened audio-major as MMSA does."""
    a, v, t = (torch.cat([torch.ones(len(x), 1, dtype=torch.float64), x.double()], 1) for x in (audio, vision, text))
    out = torch.zeros(a.shape[0], a.shape[1] * v.shape[1] * t.shape[1], dtype=torch.float64)
    for b in range(a.shape[0]):
        for i in range(a.shape[1]):
            for j in range(v.shape[1]):
                for k in range(t.shape[1]):
                    out[b, (i * v.shape[1] + j) * t.shape[1] + k] = a[b, i] * v[b, j] * t[b, k]
    return out
