"""The mixer checks on what one call returns; ``check_mixer`` runs them in turn.

Each takes a ``MixerSubject`` and raises ``AssertionError`` with a one-line reason when the mixer
breaks the rule in its name: the result's fields and shapes, convex weights, mixed samples and
labels that are the weighted sums of the batch (checked against float64 loops), the pair view, the
mixed masks.
"""

from __future__ import annotations

import torch

from msmix.testing.assertions import require, require_raises
from msmix.testing.latent_batches import LAYOUTS, latent_batch
from msmix.testing.mixer_reference import CLOSE, close, run, weighted_sum64, zero_padded64
from msmix.testing.mixer_subject import MixerSubject


def check_declaration(s: MixerSubject) -> None:
    """The mixer says where it works (``point`` is ``input`` or ``latent``) and, registered, its name."""
    mixer = s.build()
    require(mixer.point in ("input", "latent"), f"{s.label}: point is {mixer.point!r}, not 'input' or 'latent'")
    if s.registered_name is not None:
        require(mixer.name == s.registered_name, f"{s.label}: its name attribute is {mixer.name!r}")


def check_unknown_settings_are_refused(s: MixerSubject) -> None:
    """An unknown keyword setting is refused with a TypeError that names it."""
    require_raises(
        TypeError, "no_such_setting", lambda: s.build(no_such_setting=1),
        f"{s.label}: building with no_such_setting=1",
    )


def check_shapes(s: MixerSubject) -> None:
    """Weights (k, B) per modality and ``label``, mixed samples (k, ...) per modality, labels (k,)."""
    for layout in LAYOUTS:
        for b in (2, 5):
            batch = latent_batch(b, layout, dims=s.dims)
            res = run(s, batch)
            k, where = res.k, f"({layout} layout, B={b})"
            keys = sorted(batch.latents) + ["label"]
            require(
                sorted(res.weights) == sorted(keys),
                f"{s.label}: weights cover {sorted(res.weights)}, not {sorted(keys)} {where}",
            )
            require(sorted(res.mixed) == sorted(batch.latents), f"{s.label}: mixed covers {sorted(res.mixed)} {where}")
            for key, w in res.weights.items():
                require(
                    tuple(w.shape) == (k, b),
                    f"{s.label}: weights[{key!r}] has shape {tuple(w.shape)}, not {(k, b)} {where}",
                )
            for m, z in batch.latents.items():
                expected = (k, *z.shape[1:])
                got = tuple(res.mixed[m].shape)
                require(got == expected, f"{s.label}: mixed[{m!r}] has shape {got}, not {expected} {where}")
            require(
                tuple(res.labels.shape) == (k,),
                f"{s.label}: labels have shape {tuple(res.labels.shape)}, not {(k,)} {where}",
            )


def check_weight_rows_are_convex(s: MixerSubject) -> None:
    """Every weight is >= 0 and every row of every weight matrix sums to 1."""
    for layout in LAYOUTS:
        res = run(s, latent_batch(5, layout, dims=s.dims))
        for key, w in res.weights.items():
            w = w.detach().double()
            require(bool((w >= 0).all()), f"{s.label}: weights[{key!r}] has negative entries ({layout} layout)")
            sums = w.sum(dim=1)
            bad = (~((sums - 1).abs() <= CLOSE["atol"] + CLOSE["rtol"])).nonzero().flatten().tolist()
            if bad:
                r = bad[0]
                raise AssertionError(
                    f"{s.label}: row {r} of weights[{key!r}] sums to {float(sums[r]):.6g}, not 1 ({layout} layout)"
                )


def check_mixed_is_the_weighted_sum(s: MixerSubject) -> None:
    """mixed[m][r] = sum_i weights[m][r, i] * z_i, with padded frames counted as zero."""
    for layout in LAYOUTS:
        batch = latent_batch(5, layout, seed=1, dims=s.dims)
        res = run(s, batch)
        for m, z in batch.latents.items():
            expected = weighted_sum64(res.weights[m], z, batch.masks[m])
            close(res.mixed[m], expected, f"{s.label}: mixed[{m!r}] is not the weighted sum of the batch ({layout} layout)")


def check_labels_follow_the_label_weights(s: MixerSubject) -> None:
    """labels[r] = sum_i weights["label"][r, i] * y_i."""
    batch = latent_batch(6, "flat", seed=2, dims=s.dims)
    res = run(s, batch)
    w, y = res.weights["label"].detach().double(), batch.labels.double()
    expected = torch.tensor([sum(float(w[r, i]) * float(y[i]) for i in range(6)) for r in range(res.k)], dtype=torch.float64)
    close(res.labels, expected, f"{s.label}: labels are not weights['label'] times the batch's labels")


def check_pair_view(s: MixerSubject) -> None:
    """A pair view (``index_a``, ``index_b``, ``ratios``, ``label_ratio``) is all or nothing and agrees
    with the weights and the mixed samples."""
    for layout in LAYOUTS:
        batch = latent_batch(5, layout, seed=3, dims=s.dims)
        res = run(s, batch)
        pair_fields = (res.index_a, res.index_b, res.ratios, res.label_ratio)
        where = f"({layout} layout)"
        if res.index_a is None:
            require(
                all(f is None for f in pair_fields),
                f"{s.label}: a pair view is all or nothing, but index_a is None {where}",
            )
            continue
        require(
            all(f is not None for f in pair_fields),
            f"{s.label}: a pair view is all or nothing, but part of it is None {where}",
        )
        a, b = res.index_a.tolist(), res.index_b.tolist()
        require(len(a) == len(b) == res.k, f"{s.label}: {len(a)} and {len(b)} pair indices for k = {res.k} {where}")
        require(all(0 <= i < 5 for i in a + b), f"{s.label}: pair indices outside the batch of 5 {where}")
        ratios = {**res.ratios, "label": res.label_ratio}
        require(
            sorted(ratios) == sorted(res.weights),
            f"{s.label}: ratios cover {sorted(ratios)}, weights {sorted(res.weights)} {where}",
        )
        for key, ratio in ratios.items():
            ratio = ratio.detach().double()
            require(bool(((ratio >= 0) & (ratio <= 1)).all()), f"{s.label}: ratios of {key!r} outside [0, 1] {where}")
            expected = torch.zeros(res.k, 5, dtype=torch.float64)
            for r in range(res.k):
                expected[r, a[r]] += ratio[r]
                expected[r, b[r]] += 1 - ratio[r]
            close(res.weights[key], expected, f"{s.label}: weights[{key!r}] disagree with the pair view {where}")
        for m, z in batch.latents.items():
            zz, lam = zero_padded64(z, batch.masks[m]), res.ratios[m].detach().double()
            expected = torch.stack([lam[r] * zz[a[r]] + (1 - lam[r]) * zz[b[r]] for r in range(res.k)])
            close(res.mixed[m], expected, f"{s.label}: mixed[{m!r}] disagrees with the pair view {where}")


def check_mixed_masks(s: MixerSubject) -> None:
    """A mixed frame is valid where a parent with non-zero weight is; frames valid in none are zero."""
    for layout in LAYOUTS:
        batch = latent_batch(5, layout, seed=4, dims=s.dims)
        res = run(s, batch)
        where = f"({layout} layout)"
        for m, mask in batch.masks.items():
            got = res.masks.get(m)
            if mask is None or (res.k == 0 and got is None):
                require(got is None, f"{s.label}: a mask for the unmasked {m!r} latents {where}")
                continue
            expected_shape = (res.k, mask.shape[1])
            require(got is not None, f"{s.label}: no mask for the mixed {m!r} latents {where}")
            require(got.dtype == torch.bool, f"{s.label}: the mixed {m!r} mask has dtype {got.dtype} {where}")
            require(tuple(got.shape) == expected_shape, f"{s.label}: the mixed {m!r} mask has shape {tuple(got.shape)} {where}")
            w = res.weights[m].detach()
            for r in range(res.k):
                parents = [i for i in range(5) if w[r, i] != 0]
                expected = torch.stack([mask[i] for i in parents]).any(dim=0)
                require(
                    torch.equal(got[r], expected),
                    f"{s.label}: mixed {m!r} sample {r}'s mask is not its parents' union {where}",
                )
            outside = ~got.unsqueeze(-1).expand_as(res.mixed[m])
            require(
                bool((res.mixed[m].detach()[outside] == 0).all()),
                f"{s.label}: {m!r} frames with no valid parent are not zero {where}",
            )
