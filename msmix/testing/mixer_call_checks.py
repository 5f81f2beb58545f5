"""The mixer checks on how calls behave; ``check_mixer`` runs them in turn.

Each takes a ``MixerSubject`` and raises ``AssertionError`` with a one-line reason when the mixer
breaks the rule in its name: a batch of one, (B, 1) labels and mismatched batches, generator seeds,
the auxiliary loss, gradients back to the latents.
"""

from __future__ import annotations

import torch

from msmix.testing.assertions import require, require_raises
from msmix.testing.latent_batches import LAYOUTS, latent_batch
from msmix.testing.mixer_reference import call, run
from msmix.testing.mixer_subject import MixerSubject


def check_a_batch_of_one_mixes_nothing(s: MixerSubject) -> None:
    """A batch of one gives k = 0: (0, 1) weights, empty mixed samples, a finite aux loss."""
    for layout in LAYOUTS:
        batch = latent_batch(1, layout, dims=s.dims)
        res = run(s, batch)
        where = f"({layout} layout)"
        require(res.k == 0, f"{s.label}: a batch of one gave k = {res.k}, not 0 {where}")
        for key, w in res.weights.items():
            require(
                tuple(w.shape) == (0, 1),
                f"{s.label}: weights[{key!r}] of a batch of one has shape {tuple(w.shape)} {where}",
            )
        for m, z in batch.latents.items():
            expected = (0, *z.shape[1:])
            require(
                tuple(res.mixed[m].shape) == expected,
                f"{s.label}: mixed[{m!r}] of a batch of one has shape {tuple(res.mixed[m].shape)} {where}",
            )
        require(bool(torch.isfinite(res.aux_loss)), f"{s.label}: the aux loss of a batch of one is not finite {where}")


def check_label_column_and_bad_batches(s: MixerSubject) -> None:
    """(B, 1) labels mix exactly as (B,); labels of another shape or batch size are refused by name."""
    batch = latent_batch(5, "mixed", seed=4, dims=s.dims)
    mixer = s.build()  # one instance: parameters such as MS-Mix's intensity predictors stay the same
    flat = call(mixer, batch, seed=3)
    column = call(mixer, batch, seed=3, labels=batch.labels.unsqueeze(1))
    require(torch.equal(column.labels, flat.labels), f"{s.label}: (B, 1) labels mix differently from (B,) labels")
    for key in flat.weights:
        require(torch.equal(column.weights[key], flat.weights[key]), f"{s.label}: (B, 1) labels change weights[{key!r}]")
    require_raises(
        ValueError, "labels must have shape", lambda: mixer(batch.latents, batch.labels.reshape(5, 1, 1), masks=batch.masks),
        f"{s.label}: (5, 1, 1) labels",
    )
    require_raises(
        ValueError, "batch size 5, but labels have 4", lambda: mixer(batch.latents, batch.labels[:4], masks=batch.masks),
        f"{s.label}: 4 labels for 5 samples",
    )


def check_seeds(s: MixerSubject) -> None:
    """The same generator seed gives the same result; another seed another one (when anything is mixed)."""
    batch = latent_batch(6, "mixed", seed=5, dims=s.dims)
    mixer = s.build()
    first, again, other = call(mixer, batch, seed=7), call(mixer, batch, seed=7), call(mixer, batch, seed=8)
    require(first.k == again.k, f"{s.label}: the same seed gave k = {first.k} and k = {again.k}")
    for key in first.weights:
        require(torch.equal(first.weights[key], again.weights[key]), f"{s.label}: the same seed gave other weights[{key!r}]")
    for m in first.mixed:
        require(torch.equal(first.mixed[m], again.mixed[m]), f"{s.label}: the same seed gave other mixed[{m!r}]")
    require(torch.equal(first.labels, again.labels), f"{s.label}: the same seed gave other labels")
    if first.k:
        differs = first.k != other.k or not torch.equal(first.weights["label"], other.weights["label"])
        require(differs, f"{s.label}: seeds 7 and 8 gave the same label weights; is the generator used?")


def check_aux_loss(s: MixerSubject) -> None:
    """The auxiliary loss is a finite scalar, for a batch of one too."""
    for b in (1, 4):
        res = run(s, latent_batch(b, "sequence", dims=s.dims))
        require(res.aux_loss.dim() == 0, f"{s.label}: aux_loss has shape {tuple(res.aux_loss.shape)}, not a scalar (B={b})")
        require(bool(torch.isfinite(res.aux_loss)), f"{s.label}: aux_loss is not finite (B={b})")


def check_gradients_reach_the_latents(s: MixerSubject) -> None:
    """Gradients flow from the mixed samples back to every modality's latents (when anything is mixed)."""
    for layout in LAYOUTS:
        batch = latent_batch(4, layout, seed=6, dims=s.dims)
        with torch.enable_grad():
            latents = {m: z.clone().requires_grad_(True) for m, z in batch.latents.items()}
            res = s.build()(latents, batch.labels, generator=torch.Generator().manual_seed(0), masks=batch.masks)
            if res.k == 0:
                continue
            for m in latents:
                require(
                    res.mixed[m].requires_grad,
                    f"{s.label}: mixed[{m!r}] carries no gradient back to the latents ({layout} layout)",
                )
            g = torch.Generator().manual_seed(1)
            loss = sum((res.mixed[m] * torch.randn(res.mixed[m].shape, generator=g)).sum() for m in latents)
            loss.backward()
        for m, z in latents.items():
            require(z.grad is not None, f"{s.label}: no gradient reaches the {m!r} latents ({layout} layout)")
            require(
                bool(torch.isfinite(z.grad).all()),
                f"{s.label}: non-finite gradients on the {m!r} latents ({layout} layout)",
            )
            require(bool(z.grad.abs().sum() > 0), f"{s.label}: zero gradient on the {m!r} latents ({layout} layout)")
