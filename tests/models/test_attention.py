"""``msmix.models.attention.attention``: on CUDA, head sizes the fused kernels cannot take are
zero-padded; the padded attention must equal the plain one (checked here on the CPU, in float64,
against ``F.scaled_dot_product_attention`` and a written-out softmax)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from msmix.models import attention as attention_module
from msmix.models.attention import HEAD_ALIGNMENT, attention, head_padding, padded_attention


def written_out(q, k, v, mask, scale):
    scores = q @ k.transpose(-1, -2) * scale
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


@pytest.mark.parametrize("d", [1, 3, 6, 8, 13])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("scale", [None, 0.7])
def test_padded_attention_equals_the_plain_one_and_its_gradients(d: int, masked: bool, scale: float | None) -> None:
    g = torch.Generator().manual_seed(d)
    q, k, v = (torch.randn(3, 2, length, d, generator=g, dtype=torch.float64, requires_grad=True)
               for length in (5, 7, 7))
    mask = None
    if masked:
        mask = torch.rand(3, 1, 5, 7, generator=g) > 0.3
        mask[..., 0] = True  # every query keeps a key
    plain = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)
    padded = padded_attention(q, k, v, mask, 0.0, scale, HEAD_ALIGNMENT)
    assert padded.shape == plain.shape
    torch.testing.assert_close(padded, plain, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(plain, written_out(q, k, v, mask, d**-0.5 if scale is None else scale), rtol=1e-12, atol=1e-12)
    upstream = torch.randn_like(plain)
    grads_plain = torch.autograd.grad(plain, (q, k, v), upstream)
    grads_padded = torch.autograd.grad(padded, (q, k, v), upstream)
    for a, b in zip(grads_padded, grads_plain):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_on_a_cpu_attention_is_the_plain_kernel_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    called = []
    monkeypatch.setattr(attention_module, "padded_attention", lambda *a: called.append(a))
    q = torch.randn(2, 2, 4, 3)
    torch.testing.assert_close(attention(q, q, q), F.scaled_dot_product_attention(q, q, q), rtol=0, atol=0)
    assert not called


def test_head_padding_switches_off_inside_its_block_and_back_after() -> None:
    assert attention_module._pad_heads
    with head_padding(False):
        assert not attention_module._pad_heads
    assert attention_module._pad_heads
