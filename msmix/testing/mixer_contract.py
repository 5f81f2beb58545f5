"""``check_mixer``: the contract every mixer meets, checked with one call.

    >>> from msmix.testing import check_mixer
    >>> check_mixer("msmix")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from msmix.mixing import Mixer
from msmix.testing import mixer_call_checks as calls
from msmix.testing import mixer_result_checks as results
from msmix.testing.latent_batches import LATENT_DIMS
from msmix.testing.mixer_subject import MixerSubject, mixer_subject
from msmix.testing.runner import run_checks

_CHECKS: dict[str, Callable[[MixerSubject], None]] = {
    "declaration": results.check_declaration,
    "unknown_settings_are_refused": results.check_unknown_settings_are_refused,
    "shapes": results.check_shapes,
    "weight_rows_are_convex": results.check_weight_rows_are_convex,
    "mixed_is_the_weighted_sum": results.check_mixed_is_the_weighted_sum,
    "labels_follow_the_label_weights": results.check_labels_follow_the_label_weights,
    "pair_view": results.check_pair_view,
    "mixed_masks": results.check_mixed_masks,
    "batch_of_one_mixes_nothing": calls.check_a_batch_of_one_mixes_nothing,
    "label_column_and_bad_batches": calls.check_label_column_and_bad_batches,
    "seeds": calls.check_seeds,
    "aux_loss": calls.check_aux_loss,
    "gradients_reach_the_latents": calls.check_gradients_reach_the_latents,
}

MIXER_CHECKS: tuple[str, ...] = tuple(_CHECKS)
"""The names of the mixer checks, in the order ``check_mixer`` runs them."""


def check_mixer(
    mixer: str | type[Mixer], dims: dict[str, int] | None = None, only: Iterable[str] | None = None
) -> None:
    """Check that a mixer keeps the Mixer contract; raise ``AssertionError`` (one line) if not.

    On random batches of B x d latents, B x T x d latents with masks, and both: weights (k, B) per
    modality and ``label`` with rows that are convex combinations; mixed samples that are the
    weighted sums of the batch (padded frames as zero) and labels that follow the label weights; a
    pair view, if any, that agrees with both; mixed masks that are the union of the parents'; k = 0
    for a batch of one; (B, 1) labels read as (B,) and mismatched batches refused; the same result
    under the same generator seed and another under another; a finite scalar aux loss; gradients
    back to the latents; unknown settings refused.

    Args:
        mixer: a registered name, or a Mixer subclass (registered or not), built with its defaults.
        dims: latent feature size per modality; by default ``LATENT_DIMS`` (text, audio, vision).
        only: names from ``MIXER_CHECKS`` to run; all of them by default.

    An error inside a check becomes an AssertionError naming the check. The global random state is
    left as it was; the checks themselves are deterministic.
    """
    run_checks("mixer", _CHECKS, only, lambda: mixer_subject(mixer, dict(LATENT_DIMS if dims is None else dims)))
