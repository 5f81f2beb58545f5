"""MS-Mix (arXiv 2510.11579): SASS picks similar pairs, SIG sets per-modality ratios, SAL aligns.

``MSMix`` composes the pure functions of ``sass``, ``sig`` and ``sal`` and owns one
``IntensityPredictor`` per modality. It mixes latents (between a backbone's encode and fuse).
``MSMixConfig`` holds its settings; the presets ``"paper"`` and ``"code"`` fill in what the paper
and the authors' code disagree on, ``"anchored"`` is the paper's with a per-sample SAL (the
intensity predictors' fix, see docs/intensity_collapse.md), and any explicit setting overrides
the preset.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from msmix.mixing import sampling
from msmix.mixing.base import Latents, Masks, Mixer, MixResult, register_mixer
from msmix.mixing.diagnostics import conflict_share, random_conflict_share
from msmix.mixing.pairs import pair_result
from msmix.mixing.sal import sal_batch_kl, sal_per_sample
from msmix.mixing.sass import PAIR_MODES, PairSelection, normalize_offdiagonal, select_pairs, similarity_matrix
from msmix.mixing.settings import check_n_mix
from msmix.mixing.sig import LABEL_RATIO_MODES, IntensityPredictor, label_ratio, mixing_ratios
from msmix.settings import settings_from

PRESETS: dict[str, dict[str, object]] = {
    "paper": {"threshold": 0.2, "pair_mode": "unique", "minmax": True, "sal": "batch_kl"},
    "code": {"threshold": 0.4, "pair_mode": "ordered", "minmax": True, "sal": "batch_kl"},
    # The batch-KL SAL of both is blind to the sign and the level of the intensities, and its
    # predictors collapse; a per-sample SAL anchors them to the signed labels.
    "anchored": {"threshold": 0.2, "pair_mode": "unique", "minmax": True, "sal": "per_sample"},
}
SAL_MODES = ("batch_kl", "per_sample", "none")
DEFAULT_SAL_SCALE = {"batch_kl": 1000.0, "per_sample": 1.0, "none": 0.0}


@dataclass(frozen=True)
class MSMixConfig:
    """MS-Mix settings. ``None`` means "take it from the preset" (or the default named below).

    Attributes:
        preset: ``"paper"`` (threshold 0.2, unique pairs with random orientation, min-max on,
            batch-KL SAL), ``"code"`` (threshold 0.4, ordered pairs, min-max on, batch-KL SAL) or
            ``"anchored"`` (the paper's, with the per-sample SAL; beyond the paper).
        threshold: a pair may be mixed when its (normalised) similarity is above this.
        pair_mode: ``"unique"`` (upper triangle) or ``"ordered"`` (whole matrix), see ``select_pairs``.
        minmax: min-max normalise the off-diagonal similarities before thresholding.
        alpha: Beta(alpha, alpha) of the base ratio, one draw per pair shared by the modalities.
        n_mix: mixed samples per batch (None: the batch size), as every mixer names it.
        same_polarity, max_label_gap: label-aware selection (beyond the paper), see ``compatible_pairs``.
        label_ratio: ``"mean"`` of the modality ratios (code) or ``"intensity_weighted"``.
        sal: ``"batch_kl"`` (paper and code), ``"per_sample"`` or ``"none"``.
        sal_scale: factor on SAL (None: 1000 for batch_kl as in the code, 1 for per_sample).
        detach_intensity: the intensity predictors read detached latents, so SAL and the ratios'
            gradients train the predictors only, never the encoders (beyond the paper).
        heads: attention heads of the intensity predictors.
        eps: guard of the ratio and normalisation divisions (1e-8 as in the code).
    """

    preset: str = "paper"
    threshold: float | None = None
    pair_mode: str | None = None
    minmax: bool | None = None
    alpha: float = 2.0
    n_mix: int | None = None
    same_polarity: bool = False
    max_label_gap: float | None = None
    label_ratio: str = "mean"
    sal: str | None = None
    sal_scale: float | None = None
    detach_intensity: bool = False
    heads: int = 4
    eps: float = 1e-8

    def __post_init__(self) -> None:
        _one_of("preset", self.preset, tuple(PRESETS))
        if self.pair_mode is not None:
            _one_of("pair_mode", self.pair_mode, PAIR_MODES)
        _one_of("label_ratio", self.label_ratio, LABEL_RATIO_MODES)
        if self.sal is not None:
            _one_of("sal", self.sal, SAL_MODES)
        if self.threshold is not None and not math.isfinite(self.threshold):
            raise ValueError(f"threshold must be a finite number, got {self.threshold}")
        if not self.alpha > 0:
            raise ValueError(f"alpha must be positive, got {self.alpha}")
        check_n_mix(self.n_mix)
        if self.max_label_gap is not None and self.max_label_gap < 0:
            raise ValueError(f"max_label_gap must be >= 0, got {self.max_label_gap}")
        if not isinstance(self.detach_intensity, bool):
            raise ValueError(f"detach_intensity must be True or False, got {self.detach_intensity!r}")
        if self.heads < 1:
            raise ValueError(f"heads must be >= 1, got {self.heads}")
        if self.eps <= 0:
            raise ValueError(f"eps must be positive, got {self.eps}")

    def resolved(self) -> "MSMixConfig":
        """A copy with every preset-controlled ``None`` filled in from the preset."""
        filled = {key: value for key, value in PRESETS[self.preset].items() if getattr(self, key) is None}
        if self.sal_scale is None:
            filled["sal_scale"] = DEFAULT_SAL_SCALE[filled.get("sal", self.sal)]
        return replace(self, **filled)

    @classmethod
    def from_settings(cls, **settings: object) -> "MSMixConfig":
        """Build from keyword settings, naming the known ones when a setting is unknown. ``k`` is
        read as ``n_mix`` (its name before every mixer used ``n_mix``), so older runs still load."""
        if "k" in settings:
            if "n_mix" in settings:
                raise TypeError("msmix: give n_mix (k is its old name), not both")
            settings = {("n_mix" if key == "k" else key): value for key, value in settings.items()}
        return settings_from(cls, "mixer 'msmix'", settings)


@register_mixer("msmix")
class MSMix(Mixer):
    """MS-Mix on latents: ``mixer(latents, labels, generator=None, masks=None) -> MixResult``.

    Args:
        dims: latent feature size per modality (one intensity predictor each).
        label_range: labels lie in [-label_range, label_range].
        absent: modalities the data never hold. MS-Mix skips them: no intensity predictor, no
            SAL term, no share of the pair similarity or of the label ratio; their (information-
            free) latents follow the label ratio.
        **settings: fields of ``MSMixConfig``.
    """

    point = "latent"
    predicts_intensities = True

    config_class = MSMixConfig

    def __init__(self, dims: dict[str, int], label_range: float = 3.0, **settings: object) -> None:
        if not dims:
            raise ValueError("msmix needs the latent size of at least one modality in dims")
        super().__init__(dims, label_range, **settings)
        self.present = tuple(m for m in self.dims if m not in self.absent)
        if not self.present:
            raise ValueError(f"msmix needs at least one modality the data hold; all of {sorted(self.dims)} are absent")
        self.predictors = nn.ModuleDict(
            {m: IntensityPredictor(self.dims[m], heads=self.config.heads, label_range=label_range) for m in self.present}
        )

    @classmethod
    def make_config(cls, settings: Mapping[str, object]) -> MSMixConfig:
        """The settings over the chosen preset (explicit settings win)."""
        return MSMixConfig.from_settings(**settings).resolved()

    def mix(
        self, latents: Latents, labels: Tensor, masks: Masks, generator: torch.Generator | None
    ) -> MixResult:
        cfg = self.config
        latents = {m: latents[m] for m in self.dims}
        intensities = self.intensities(latents, masks)
        aux = self._alignment_loss(intensities, labels)
        similarity, selection = sass({m: latents[m] for m in self.present}, labels, masks, cfg, generator)
        return sig_mix(
            latents, labels, masks, intensities, similarity, selection, cfg, generator,
            aux_loss=aux, info=_info(selection, labels),
        )

    def intensities(self, latents: Latents, masks: Masks | None = None) -> dict[str, Tensor]:
        """Per modality the data hold, the (B,) intensities of its SIG predictor."""
        masks = masks or {}
        detach = self.config.detach_intensity
        return {m: self.predictors[m](latents[m].detach() if detach else latents[m], masks.get(m)) for m in self.present}

    def _alignment_loss(self, intensities: dict[str, Tensor], y: Tensor) -> Tensor:
        cfg = self.config
        if cfg.sal == "batch_kl":
            return sal_batch_kl(intensities, y, self.label_range, scale=cfg.sal_scale, eps=cfg.eps)
        if cfg.sal == "per_sample":
            return sal_per_sample(intensities, y, self.label_range, scale=cfg.sal_scale)
        return y.new_zeros((), dtype=next(iter(intensities.values())).dtype)

    def check_latents(self, latents: Latents, masks: Masks) -> None:
        """The intensity predictors fix the modalities and their widths."""
        if set(latents) != set(self.dims):
            raise ValueError(f"msmix was built for modalities {sorted(self.dims)}, got latents for {sorted(latents)}")
        for m, z in latents.items():
            if z.shape[-1] != self.dims[m]:
                raise ValueError(
                    f"latent {m!r} must be B x {self.dims[m]} or B x T x {self.dims[m]}, got shape {tuple(z.shape)}"
                )

    def extra_repr(self) -> str:
        return f"label_range={self.label_range}, config={self.config}"


def sass(
    latents: Latents,
    labels: Tensor,
    masks: Masks,
    config: MSMixConfig,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, PairSelection]:
    """SASS as MS-Mix runs it under a resolved ``config``: the similarity pairs are thresholded on
    (min-maxed if the config says so, diagonal 0) and the selected pairs. No gradient flows here."""
    with torch.no_grad():
        similarity = similarity_matrix({m: z.detach() for m, z in latents.items()}, masks, config.eps)
        similarity = normalize_offdiagonal(similarity) if config.minmax else similarity.fill_diagonal_(0.0)
        selection = select_pairs(
            similarity,
            k=config.n_mix if config.n_mix is not None else labels.shape[0],
            threshold=config.threshold,
            mode=config.pair_mode,
            generator=generator,
            labels=labels,
            same_polarity=config.same_polarity,
            max_label_gap=config.max_label_gap,
        )
    return similarity, selection


def sig_mix(
    latents: Latents,
    labels: Tensor,
    masks: Masks,
    intensities: dict[str, Tensor],
    similarity: Tensor,
    selection: PairSelection,
    config: MSMixConfig,
    generator: torch.Generator | None = None,
    **extra: object,
) -> MixResult:
    """SIG for the selected pairs: one Beta draw per pair, per-modality ratios, the label ratio, and
    the mixed samples (``MixResult.empty`` with the similarity and intensities when k = 0).
    A latent without intensities (an absent modality) is mixed with the label ratio.
    ``extra`` sets further MixResult fields (``aux_loss``, ``info``)."""
    if selection.k == 0:
        return replace(MixResult.empty(latents, labels), similarity=similarity, intensities=intensities, **extra)
    a, b = selection.index_a, selection.index_b
    ref = next(iter(intensities.values()))
    base = sampling.beta(config.alpha, selection.k, generator=generator, device=ref.device, dtype=ref.dtype)
    ratios = mixing_ratios(intensities, a, b, base, config.eps)
    lam_label = label_ratio(ratios, config.label_ratio, intensities, a, b, config.eps)
    ratios.update({m: lam_label for m in latents if m not in ratios})  # absent modalities
    return pair_result(
        latents, labels, a, b, ratios, lam_label, masks, similarity=similarity, intensities=intensities, **extra
    )


def _info(selection: PairSelection, y: Tensor) -> dict[str, Tensor]:
    """Diagnostics as 0-dim tensors: reading them is left to whoever displays them."""
    info = {
        "n_candidates": selection.n_candidates,
        "fallback_used": selection.fallback_used,
        "random_pairing_conflict_rate": random_conflict_share(y),
    }
    if selection.k:
        info["polarity_conflict_rate"] = conflict_share(y, selection.index_a, selection.index_b)
    return info


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
