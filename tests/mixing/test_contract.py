"""The Mixer contract, checked on every registered mixer against float64 loop re-derivations.

mixed[m][r] = sum_i weights[m][r, i] * z_i (padded frames counted as zero), labels = weights["label"] @ y,
rows of every weight matrix convex, the pair view consistent with the weights, mixed masks valid
where a parent with non-zero weight is valid, k = 0 for a batch of one, (B, 1) labels read as (B,),
determinism under a seed, gradients back to the latents, and ``create``'s errors.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import Tensor

from msmix.mixing import MixResult, available, create


MIXERS = available()


def run(name: str, batch, dims: dict[str, int], seed: int = 0) -> MixResult:
    mixer = create(name, dims)
    return mixer(batch.latents, batch.labels, generator=torch.Generator().manual_seed(seed), masks=batch.masks)


def zero_padded64(z: Tensor, mask: Tensor | None) -> Tensor:
    z = z.detach().double()
    return z if mask is None else z * mask.double().unsqueeze(-1)


def weighted_sum64(weights: Tensor, z: Tensor, mask: Tensor | None) -> Tensor:
    """Loop over mixed samples and parents: sum_i w[r, i] * z_i (padded frames zero)."""
    w, zz = weights.detach().double(), zero_padded64(z, mask)
    out = torch.zeros((w.shape[0], *zz.shape[1:]), dtype=torch.float64)
    for r in range(w.shape[0]):
        for i in range(w.shape[1]):
            out[r] += w[r, i] * zz[i]
    return out


def close(actual: Tensor, expected: Tensor) -> None:
    torch.testing.assert_close(actual.detach().double(), expected, rtol=1e-5, atol=1e-5)


def test_every_rival_and_msmix_are_registered() -> None:
    assert {"none", "mixup", "manifold", "multimix", "powmix"} <= set(MIXERS)


@pytest.mark.parametrize("name", MIXERS)
def test_point_is_declared(name: str, dims: dict[str, int]) -> None:
    mixer = create(name, dims)
    assert mixer.point in ("input", "latent")
    assert mixer.name == name


@pytest.mark.parametrize("name", MIXERS)
@pytest.mark.parametrize("b", [2, 5])
def test_shapes(name: str, layout: str, b: int, latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(b, layout)
    res = run(name, batch, dims)
    k = res.k
    assert (k == 0) == (name == "none")
    assert set(res.weights) == set(batch.latents) | {"label"}
    assert set(res.mixed) == set(batch.latents)
    for key, w in res.weights.items():
        assert tuple(w.shape) == (k, b), key
    for m, z in batch.latents.items():
        assert tuple(res.mixed[m].shape) == (k, *z.shape[1:]), m
    assert tuple(res.labels.shape) == (k,)


@pytest.mark.parametrize("name", MIXERS)
def test_weight_rows_are_convex(name: str, layout: str, latent_batch: Callable, dims: dict[str, int]) -> None:
    res = run(name, latent_batch(5, layout), dims)
    for key, w in res.weights.items():
        w = w.detach().double()
        assert (w >= 0).all(), key
        close(w.sum(dim=1), torch.ones(res.k, dtype=torch.float64))


@pytest.mark.parametrize("name", MIXERS)
def test_mixed_is_the_weighted_sum_of_the_batch(name: str, layout: str, latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(5, layout, seed=1)
    res = run(name, batch, dims)
    for m, z in batch.latents.items():
        close(res.mixed[m], weighted_sum64(res.weights[m], z, batch.masks[m]))


@pytest.mark.parametrize("name", MIXERS)
def test_labels_follow_the_label_weights(name: str, latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(6, "flat", seed=2)
    res = run(name, batch, dims)
    w, y = res.weights["label"].detach().double(), batch.labels.double()
    expected = torch.tensor([sum(float(w[r, i]) * float(y[i]) for i in range(6)) for r in range(res.k)], dtype=torch.float64)
    close(res.labels, expected)


@pytest.mark.parametrize("name", MIXERS)
def test_pair_view_agrees_with_the_weights(name: str, layout: str, latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(5, layout, seed=3)
    res = run(name, batch, dims)
    pair_fields = (res.index_a, res.index_b, res.ratios, res.label_ratio)
    if res.index_a is None:
        assert all(f is None for f in pair_fields), "a pair view is all or nothing"
        return
    assert all(f is not None for f in pair_fields)
    a, b = res.index_a.tolist(), res.index_b.tolist()
    assert len(a) == len(b) == res.k and all(0 <= i < 5 for i in a + b)
    ratios = {**res.ratios, "label": res.label_ratio}
    assert set(ratios) == set(res.weights)
    for key, ratio in ratios.items():
        ratio = ratio.detach().double()
        assert ((ratio >= 0) & (ratio <= 1)).all(), key
        expected = torch.zeros(res.k, 5, dtype=torch.float64)
        for r in range(res.k):
            expected[r, a[r]] += ratio[r]
            expected[r, b[r]] += 1 - ratio[r]
        close(res.weights[key], expected)
    for m, z in batch.latents.items():
        zz, lam = zero_padded64(z, batch.masks[m]), res.ratios[m].detach().double()
        expected = torch.stack([lam[r] * zz[a[r]] + (1 - lam[r]) * zz[b[r]] for r in range(res.k)])
        close(res.mixed[m], expected)


@pytest.mark.parametrize("name", MIXERS)
def test_mixed_masks(name: str, layout: str, latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(5, layout, seed=4)
    res = run(name, batch, dims)
    for m, mask in batch.masks.items():
        got = res.masks.get(m)
        if mask is None or (res.k == 0 and got is None):
            assert got is None, m
            continue
        assert got is not None and got.dtype == torch.bool and tuple(got.shape) == (res.k, mask.shape[1]), m
        w = res.weights[m].detach()
        for r in range(res.k):
            parents = [i for i in range(5) if w[r, i] != 0]
            expected = torch.stack([mask[i] for i in parents]).any(dim=0)
            assert torch.equal(got[r], expected), (m, r)
        outside = ~got.unsqueeze(-1).expand_as(res.mixed[m])
        assert (res.mixed[m].detach()[outside] == 0).all(), f"{m}: frames with no valid parent must be zero"


@pytest.mark.parametrize("name", MIXERS)
def test_a_batch_of_one_mixes_nothing(name: str, layout: str, latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(1, layout)
    res = run(name, batch, dims)
    assert res.k == 0
    for key, w in res.weights.items():
        assert tuple(w.shape) == (0, 1), key
    for m, z in batch.latents.items():
        assert tuple(res.mixed[m].shape) == (0, *z.shape[1:])
    assert torch.isfinite(res.aux_loss)


@pytest.mark.parametrize("name", MIXERS)
def test_labels_of_shape_b_by_one_mix_as_b_and_bad_batches_are_refused(
    name: str, latent_batch: Callable, dims: dict[str, int]
) -> None:
    batch = latent_batch(5, "mixed", seed=4)
    mixer = create(name, dims)  # one instance: MS-Mix's intensity predictors start from random weights
    flat = mixer(batch.latents, batch.labels, generator=torch.Generator().manual_seed(3), masks=batch.masks)
    column = mixer(batch.latents, batch.labels.unsqueeze(1), generator=torch.Generator().manual_seed(3), masks=batch.masks)
    assert torch.equal(column.labels, flat.labels)
    for key in flat.weights:
        assert torch.equal(column.weights[key], flat.weights[key]), key
    with pytest.raises(ValueError, match="labels must have shape"):
        mixer(batch.latents, batch.labels.reshape(5, 1, 1), masks=batch.masks)
    with pytest.raises(ValueError, match="batch size 5, but labels have 4"):
        mixer(batch.latents, batch.labels[:4], masks=batch.masks)


@pytest.mark.parametrize("name", MIXERS)
def test_same_seed_same_result_other_seed_other_result(name: str, latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(6, "mixed", seed=5)
    mixer = create(name, dims)

    def call(seed: int) -> MixResult:
        return mixer(batch.latents, batch.labels, generator=torch.Generator().manual_seed(seed), masks=batch.masks)

    first, again, other = call(7), call(7), call(8)
    assert first.k == again.k
    for key in first.weights:
        assert torch.equal(first.weights[key], again.weights[key]), key
    for m in first.mixed:
        assert torch.equal(first.mixed[m], again.mixed[m]), m
    assert torch.equal(first.labels, again.labels)
    if first.k:
        assert first.k != other.k or not torch.equal(first.weights["label"], other.weights["label"])


@pytest.mark.parametrize("name", MIXERS)
@pytest.mark.parametrize("b", [1, 4])
def test_aux_loss_is_a_finite_scalar(name: str, b: int, latent_batch: Callable, dims: dict[str, int]) -> None:
    res = run(name, latent_batch(b, "sequence"), dims)
    assert res.aux_loss.dim() == 0 and torch.isfinite(res.aux_loss)


@pytest.mark.parametrize("name", MIXERS)
def test_gradients_flow_from_mixed_samples_to_latents(name: str, layout: str, latent_batch: Callable, dims: dict[str, int]) -> None:
    batch = latent_batch(4, layout, seed=6)
    latents = {m: z.clone().requires_grad_(True) for m, z in batch.latents.items()}
    mixer = create(name, dims)
    res = mixer(latents, batch.labels, generator=torch.Generator().manual_seed(0), masks=batch.masks)
    if res.k == 0:
        pytest.skip(f"{name} mixes nothing")
    g = torch.Generator().manual_seed(1)
    loss = sum((res.mixed[m] * torch.randn(res.mixed[m].shape, generator=g)).sum() for m in latents)
    loss.backward()
    for m, z in latents.items():
        assert z.grad is not None and torch.isfinite(z.grad).all(), m
        assert z.grad.abs().sum() > 0, m


def test_create_rejects_an_unknown_name(dims: dict[str, int]) -> None:
    with pytest.raises(KeyError, match="no_such_mixer"):
        create("no_such_mixer", dims)


@pytest.mark.parametrize("name", MIXERS)
def test_create_rejects_an_unknown_setting(name: str, dims: dict[str, int]) -> None:
    with pytest.raises(TypeError, match="no_such_setting"):
        create(name, dims, no_such_setting=1)
