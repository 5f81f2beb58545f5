"""SASS, sentiment-aware sample selection: which pairs of a batch MS-Mix may mix.

Three steps, each a pure function:

1. ``similarity_matrix``: cosine similarity of the samples' latents, averaged over modalities.
2. ``normalize_offdiagonal``: min-max of the off-diagonal entries to [0, 1] (the authors' code).
3. ``select_pairs``: the pairs above a threshold, the code's fallback when too few pass, and k
   pairs drawn from them, optionally restricted by the labels (an option beyond the paper).

Every step has shapes fixed by B and k and decides with tensor operations (``torch.where``, top-k
of random keys, multinomial draws), never with a Python ``if`` on a tensor: on a GPU, reading a
count on the host would make every training step wait for the device.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from msmix.mixing.diagnostics import opposite_polarity

PAIR_MODES = ("unique", "ordered")


def similarity_matrix(
    latents: Mapping[str, Tensor],
    masks: Mapping[str, Tensor | None] | None = None,
    eps: float = 1e-8,
) -> Tensor:
    """(B, B) cosine similarity of the samples, averaged over the modalities.

    A B x T x d latent is flattened to B x (T*d) after zeroing its padded frames (``masks[m]`` is
    a (B, T) boolean, True where a frame is valid), so padding never adds similarity. Each row is
    scaled to unit L2 norm (a zero row stays zero, with ``eps`` guarding the division).
    """
    if not latents:
        raise ValueError("similarity_matrix needs at least one modality")
    masks = masks or {}
    batch = _batch_size(latents)
    total = None
    for name, z in latents.items():
        mask = masks.get(name)
        if mask is not None:
            if z.dim() != 3 or mask.shape != z.shape[:2]:
                raise ValueError(
                    f"mask of {name!r} must be (B, T) = {tuple(z.shape[:2])} for a B x T x d latent, "
                    f"got mask {tuple(mask.shape)} for latent {tuple(z.shape)}"
                )
            z = z * mask.unsqueeze(-1).to(z.dtype)
        unit = F.normalize(z.reshape(batch, -1).float(), p=2.0, dim=1, eps=eps)
        sim = unit @ unit.T
        total = sim if total is None else total + sim
    return total / len(latents)


def normalize_offdiagonal(similarity: Tensor, tol: float = 1e-6) -> Tensor:
    """Min-max the off-diagonal entries to [0, 1] and set the diagonal to 0.

    When the off-diagonal entries span at most ``tol`` (all pairs equally similar), every
    off-diagonal entry becomes 0.5, as the authors' code does: with the paper's threshold 0.2 or
    the code's 0.4 every pair then passes. A 1 x 1 matrix becomes [[0]]. The code's guard is 1e-8;
    cosines lie in [-1, 1] and equal ones computed in float32 can differ by ~1e-7, which a 1e-8
    guard would stretch to the whole [0, 1], so the default here is 1e-6.
    """
    _check_square(similarity)
    b = similarity.shape[0]
    off = ~torch.eye(b, dtype=torch.bool, device=similarity.device)
    if b < 2:
        return torch.zeros_like(similarity)
    low = similarity.masked_fill(~off, float("inf")).amin()
    high = similarity.masked_fill(~off, float("-inf")).amax()
    spread = high - low
    spread_out = spread > tol
    scaled = torch.where(spread_out, (similarity - low) / torch.where(spread_out, spread, 1.0), 0.5)
    return scaled.masked_fill(~off, 0.0)


@dataclass
class PairSelection:
    """The pairs SASS chose.

    Attributes:
        index_a, index_b: (k,) parents of each mixed sample (``index_a`` gets the ratio lam).
        candidate_mask: (B, B) the pairs the k draws were taken from (after any fallback).
        n_candidates: 0-dim tensor, how many pairs passed the threshold (and the label rule),
            before fallback (``int(...)`` it outside a training step).
        fallback_used: 0-dim boolean tensor, True when fewer than k passed and the most similar
            pairs were used instead.
    """

    index_a: Tensor
    index_b: Tensor
    candidate_mask: Tensor
    n_candidates: Tensor
    fallback_used: Tensor

    @property
    def k(self) -> int:
        return int(self.index_a.numel())


def compatible_pairs(
    labels: Tensor | None,
    batch: int,
    same_polarity: bool = False,
    max_label_gap: float | None = None,
    device: torch.device | None = None,
) -> Tensor:
    """(B, B) boolean: which pairs of distinct samples the label rule allows.

    ``same_polarity`` forbids pairs whose labels have strictly opposite signs (a zero label goes
    with anything, matching ``polarity_conflict_rate``); ``max_label_gap`` keeps pairs with
    ``|y_i - y_j| <= max_label_gap``. Without either option every pair of distinct samples is allowed.
    """
    allowed = ~torch.eye(batch, dtype=torch.bool, device=device)
    if not same_polarity and max_label_gap is None:
        return allowed
    if labels is None:
        raise ValueError("same_polarity and max_label_gap need the batch's labels, got labels=None")
    y = labels.reshape(-1).to(device)
    if y.numel() != batch:
        raise ValueError(f"labels must hold one value per sample ({batch}), got {y.numel()}")
    if same_polarity:
        allowed &= ~opposite_polarity(y.unsqueeze(1), y.unsqueeze(0))
    if max_label_gap is not None:
        if max_label_gap < 0:
            raise ValueError(f"max_label_gap must be >= 0, got {max_label_gap}")
        allowed &= (y.unsqueeze(1) - y.unsqueeze(0)).abs() <= max_label_gap
    return allowed


def select_pairs(
    similarity: Tensor,
    k: int,
    threshold: float,
    mode: str = "unique",
    generator: torch.Generator | None = None,
    labels: Tensor | None = None,
    same_polarity: bool = False,
    max_label_gap: float | None = None,
) -> PairSelection:
    """Choose k pairs to mix from a (B, B) similarity matrix.

    Candidates are the allowed pairs (see ``compatible_pairs``) with similarity ``> threshold``:
    from the upper triangle, each unordered pair once with a random orientation per draw
    (``mode="unique"``, the paper), or from every off-diagonal entry (``mode="ordered"``, the code).
    If fewer than k pass, the candidates become the 2k most similar allowed pairs of the upper
    triangle (the code's fallback; ties keep row-major order; never the diagonal, which the code's
    fallback can reach when 2k exceeds the B(B-1)/2 unique pairs). Then k candidates are drawn
    uniformly: without replacement when there are at least k (the top k of uniform random keys),
    with replacement otherwise. If the label rule allows no pair at all, each of the k mixed
    samples is a sample paired with itself (an unmixed copy): the rule is never broken, and k
    stays k, so nothing here has to read a count on the host.

    Random draws use ``generator`` (on its device) and come back on ``similarity``'s device.
    """
    _check_square(similarity)
    if mode not in PAIR_MODES:
        raise ValueError(f"mode must be one of {PAIR_MODES}, got {mode!r}")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    b = similarity.shape[0]
    device = similarity.device
    allowed = compatible_pairs(labels, b, same_polarity, max_label_gap, device=device)
    upper = torch.ones(b, b, dtype=torch.bool, device=device).triu(diagonal=1)
    scope = allowed & upper if mode == "unique" else allowed
    passing = scope & (similarity > threshold)
    n_passing = passing.sum()
    fallback = n_passing < k
    candidates = torch.where(fallback, _most_similar(similarity, allowed & upper, 2 * k), passing)
    if k == 0 or b == 0:
        empty = torch.zeros(0, dtype=torch.long, device=device)
        return PairSelection(empty, empty.clone(), candidates, n_passing, fallback)

    at = generator.device if generator is not None else torch.device("cpu")
    flat = candidates.reshape(-1).to(at)
    n = flat.sum()
    keys = torch.rand(b * b, generator=generator, device=at).masked_fill(~flat, -1.0)
    self_pairs = torch.eye(b, dtype=torch.bool, device=at).reshape(-1)
    weights = torch.where(n > 0, flat, self_pairs).to(torch.float32)
    repeated = torch.multinomial(weights, k, replacement=True, generator=generator)
    if k <= b * b:  # shapes only: k distinct cells exist, so k different candidates may
        distinct = keys.topk(k).indices  # k different candidates in random order, when there are k
        repeated = torch.where(n >= k, distinct, repeated)
    cells = repeated.to(device)
    index_a, index_b = cells // b, cells % b
    if mode == "unique":
        flip = torch.randint(0, 2, (k,), generator=generator, device=at).bool().to(device)
        index_a, index_b = torch.where(flip, index_b, index_a), torch.where(flip, index_a, index_b)
    return PairSelection(index_a, index_b, candidates, n_passing, fallback)


def _most_similar(similarity: Tensor, pool: Tensor, n: int) -> Tensor:
    """Mask of the (at most) n entries of ``pool`` with the highest similarity (ties: row-major)."""
    flat_pool = pool.reshape(-1)
    scores = similarity.reshape(-1).masked_fill(~flat_pool, float("-inf"))
    order = torch.sort(scores, descending=True, stable=True).indices
    rank = torch.empty_like(order).scatter_(0, order, torch.arange(order.numel(), device=order.device))
    return ((rank < n) & flat_pool).reshape(pool.shape)


def _batch_size(latents: Mapping[str, Tensor]) -> int:
    sizes = {name: z.shape[0] for name, z in latents.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"every modality must hold the same number of samples, got {sizes}")
    for name, z in latents.items():
        if z.dim() not in (2, 3):
            raise ValueError(f"latent {name!r} must be B x d or B x T x d, got shape {tuple(z.shape)}")
    return next(iter(sizes.values()))


def _check_square(similarity: Tensor) -> None:
    if similarity.dim() != 2 or similarity.shape[0] != similarity.shape[1]:
        raise ValueError(f"similarity must be a square (B, B) matrix, got shape {tuple(similarity.shape)}")
