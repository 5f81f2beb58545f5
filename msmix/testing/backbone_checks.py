"""The single checks of the backbone contract; ``check_backbone`` runs them in turn.

Each takes a ``BackboneSubject`` and raises ``AssertionError`` with a one-line reason when the
backbone breaks the rule in its name.
"""

from __future__ import annotations

import re

import torch
from torch import Tensor

from msmix import MODALITIES
from msmix.data.batch import Batch
from msmix.data.spec import KINDS
from msmix.models import create
from msmix.settings import known_settings
from msmix.testing.assertions import one_line, require, require_close
from msmix.testing.backbone_batches import backbone_batch
from msmix.testing.backbone_subject import BackboneSubject

RECIPE_KEYS = ("batch_size", "lr", "loss", "patience")
"""What every published training recipe sets."""

PER_SAMPLE = {"rtol": 1e-5, "atol": 1e-5}
"""Tolerances between predictions of one sample computed in different batches."""


def check_registration(s: BackboneSubject) -> None:
    """A registered backbone carries its name, ``create`` builds its class, and refuses unknown settings
    by name. Nothing to check for a class that is not registered."""
    name = s.registered_name
    if name is None:
        return
    require(s.cls.name == name, f"{s.label}: its class attribute name is {s.cls.name!r}, not {name!r}")
    model = s.build()
    require(type(model) is s.cls, f"{s.label}: create built a {type(model).__name__}, not a {s.cls.__name__}")
    try:
        create(name, s.spec, no_such_setting=1)
    except TypeError as error:
        named = re.search(r"unknown settings \['no_such_setting'\]", str(error)) is not None
        require(named, f"{s.label}: create's error for an unknown setting does not name it: {one_line(str(error))}")
    else:
        raise AssertionError(f"{s.label}: create accepted the unknown setting no_such_setting=1")


def check_default_config(s: BackboneSubject) -> None:
    """``default_config(kind)`` gives fresh ``model`` and ``train`` parts for every kind: the model part
    valid settings (``make_config``), the train part a valid ``TrainConfig`` recipe with ``RECIPE_KEYS``;
    ``custom`` data sets get MOSI's."""
    from msmix.train.config import TrainConfig

    for kind in KINDS:
        config = s.cls.default_config(kind)
        parts = sorted(config) if isinstance(config, dict) else config
        require(parts == ["model", "train"], f"{s.label}: default_config({kind!r}) has parts {parts}, not ['model', 'train']")
        missing = sorted(set(RECIPE_KEYS) - set(config["train"]))
        require(not missing, f"{s.label}: default_config({kind!r})['train'] lacks {missing}")
        try:
            TrainConfig.from_dict(config["train"])
        except (TypeError, ValueError) as error:
            raise AssertionError(
                f"{s.label}: default_config({kind!r})['train'] is refused by TrainConfig: {one_line(str(error))}"
            ) from None
        try:
            s.cls.make_config(kind)
        except (TypeError, ValueError) as error:
            raise AssertionError(
                f"{s.label}: default_config({kind!r})['model'] is refused by make_config: {one_line(str(error))}"
            ) from None
        config["model"]["__scratch__"] = 1
        fresh = "__scratch__" not in s.cls.default_config(kind)["model"]
        require(fresh, f"{s.label}: default_config({kind!r}) returned a shared dict; recipes must be returned as copies")
    require(
        s.cls.default_config("custom") == s.cls.default_config("mosi"),
        f"{s.label}: default_config('custom') differs from default_config('mosi')",
    )


def check_encode(s: BackboneSubject) -> None:
    """``encode`` gives a latent of ``latent_dims[m]`` features per modality (B x d, or B x T x d with a
    boolean (B, T) mask or None); ``fuse`` gives finite (B, 1) predictions and scalar auxiliary losses."""
    model = s.build().eval()
    modalities = sorted(MODALITIES)
    require(
        sorted(model.latent_dims) == modalities,
        f"{s.label}: latent_dims covers {sorted(model.latent_dims)}, not {modalities}",
    )
    enc = model.encode(backbone_batch(5, spec=s.spec))
    require(
        sorted(enc.latents) == modalities,
        f"{s.label}: encode returned latents for {sorted(enc.latents)}, not {modalities}",
    )
    for m, z in enc.latents.items():
        shape = tuple(z.shape)
        require(z.dim() in (2, 3), f"{s.label}: the {m} latent has shape {shape}; expected B x d or B x T x d")
        require(shape[0] == 5, f"{s.label}: the {m} latent of a batch of 5 has shape {shape}")
        d = model.latent_dims[m]
        require(shape[-1] == d, f"{s.label}: the {m} latent has {shape[-1]} features, but latent_dims says {d}")
        mask = enc.masks.get(m)
        if z.dim() == 2:
            require(mask is None, f"{s.label}: the B x d {m} latent comes with a mask")
        elif mask is not None:
            require(tuple(mask.shape) == shape[:2], f"{s.label}: the {m} mask has shape {tuple(mask.shape)}, not {shape[:2]}")
            require(mask.dtype == torch.bool, f"{s.label}: the {m} mask has dtype {mask.dtype}, not torch.bool")
    out = model.fuse(enc.latents, enc.masks)
    require(
        tuple(out.pred.shape) == (5, 1),
        f"{s.label}: fuse of a batch of 5 gave predictions of shape {tuple(out.pred.shape)}, not (5, 1)",
    )
    require(bool(torch.isfinite(out.pred).all()), f"{s.label}: fuse gave non-finite predictions")
    for key, value in out.aux_losses.items():
        require(value.dim() == 0, f"{s.label}: auxiliary loss {key!r} has shape {tuple(value.shape)}, not a scalar")


def check_forward_is_fuse_of_encode(s: BackboneSubject) -> None:
    """``forward(batch) == fuse(encode(batch))``, and evaluation mode repeats its predictions exactly."""
    model = s.build().eval()
    batch = backbone_batch(4, seed=1, spec=s.spec)
    enc = model.encode(batch)
    pred = model(batch).pred
    require(torch.equal(model(batch).pred, pred), f"{s.label}: two forward passes in evaluation mode differ")
    require_close(pred, model.fuse(enc.latents, enc.masks).pred, f"{s.label}: forward differs from fuse(encode())")


def check_fuse_takes_twice_the_batch(s: BackboneSubject) -> None:
    """``fuse`` of two encoded batches stacked (originals and mixed samples) gives each half's predictions."""
    model = s.build().eval()
    first = model.encode(backbone_batch(4, seed=2, spec=s.spec))
    second = model.encode(backbone_batch(4, seed=3, spec=s.spec))
    both = model.fuse(stacked(first.latents, second.latents), stacked(first.masks, second.masks)).pred
    require(
        tuple(both.shape) == (8, 1),
        f"{s.label}: fuse of two stacked batches of 4 gave shape {tuple(both.shape)}, not (8, 1)",
    )
    for half, part, enc in (("first", both[:4], first), ("second", both[4:], second)):
        alone = model.fuse(enc.latents, enc.masks).pred
        require_close(part, alone, f"{s.label}: fuse of a stacked batch changes the {half} half's predictions", **PER_SAMPLE)


def check_eval_predictions_are_per_sample(s: BackboneSubject) -> None:
    """In evaluation mode a sample's prediction depends on that sample only, and on each of its modalities."""
    model = s.build().eval()
    batch = backbone_batch(4, seed=4, spec=s.spec)
    before = model(batch).pred
    keep = [0, 1, 3]
    for changed_modalities in (MODALITIES, *((m,) for m in MODALITIES)):
        what = "all modalities" if len(changed_modalities) > 1 else changed_modalities[0]
        after = model(bumped(batch, changed_modalities, sample=2)).pred
        require_close(
            after[keep], before[keep],
            f"{s.label}: changing {what} of sample 2 changes other samples' predictions",
            **PER_SAMPLE,
        )
        require(
            not torch.allclose(after[2], before[2]),
            f"{s.label}: changing {what} of sample 2 leaves its prediction unchanged, so the model ignores {what}",
        )


def check_gradients_reach_every_parameter(s: BackboneSubject) -> None:
    """In training mode the loss's gradient reaches every trainable parameter."""
    model = s.build().train()
    with torch.enable_grad():
        out = model(backbone_batch(6, seed=5, spec=s.spec))
        loss = out.pred.square().mean() + sum(out.aux_losses.values(), torch.zeros(()))
        loss.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    silent = [n for n, p in trainable if p.grad is None or not p.grad.abs().sum() > 0]
    require(not silent, f"{s.label}: no gradient reaches the trainable parameters {silent}")


def check_a_training_batch_of_one(s: BackboneSubject) -> None:
    """A batch of one sample passes in training mode (batch statistics must not fail on it)."""
    model = s.build().train()
    pred = model(backbone_batch(1, seed=6, spec=s.spec)).pred
    require(tuple(pred.shape) == (1, 1), f"{s.label}: a training batch of one gave predictions of shape {tuple(pred.shape)}")
    require(bool(torch.isfinite(pred).all()), f"{s.label}: a training batch of one gave non-finite predictions")


def check_time_averaging(s: BackboneSubject) -> None:
    """A backbone that ``needs_time_average`` reads only the valid audio and vision frames, under right
    and left padding, and equals itself on inputs averaged beforehand."""
    if not s.cls.needs_time_average:
        return
    model = s.build().eval()
    for padding in ("right", "left"):
        clean = backbone_batch(5, seed=7, spec=s.spec, padding=padding)
        noisy = backbone_batch(5, seed=7, spec=s.spec, padding=padding, pad_value=5.0)
        noisy = clean.with_features({"audio": noisy.audio, "vision": noisy.vision})
        require_close(
            model(noisy).pred, model(clean).pred,
            f"{s.label}: padding frames of audio or vision change predictions ({padding} padding)",
        )
        averaged = {}
        for m in ("audio", "vision"):
            x, mask = getattr(clean, m).double(), clean.mask(m)
            means = torch.stack([x[i][mask[i]].mean(0) for i in range(len(clean))])
            averaged[m] = means.float().unsqueeze(1)
        pre = Batch(text=clean.text, labels=clean.labels, lengths={}, **averaged)
        require_close(
            model(pre).pred, model(clean).pred,
            f"{s.label}: inputs averaged over their valid frames beforehand give other predictions ({padding} padding)",
            **PER_SAMPLE,
        )


def check_padding_is_masked(s: BackboneSubject) -> None:
    """Audio and vision frames beyond their lengths change no prediction, in evaluation and training
    mode (same seed), unless the model says it reads them (``masks_padding`` False)."""
    model = s.build()
    if not model.masks_padding:
        return
    clean = backbone_batch(5, seed=8, spec=s.spec)
    noisy = backbone_batch(5, seed=8, spec=s.spec, pad_value=5.0)
    noisy = clean.with_features({"audio": noisy.audio, "vision": noisy.vision})
    model.eval()
    require_close(model(noisy).pred, model(clean).pred, f"{s.label}: padding frames of audio or vision change predictions")
    model.train()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        trained_clean = model(clean).pred
        torch.manual_seed(0)
        trained_noisy = model(noisy).pred
    require_close(
        trained_noisy, trained_clean, f"{s.label}: padding frames of audio or vision change predictions in training mode"
    )


def check_latent_mixers_feed_fuse(s: BackboneSubject) -> None:
    """Every registered latent mixer mixes the encoded latents as they are (a B x T x d latent gives
    k x T x d mixed ones, with masks) and ``fuse`` takes the B + k rows in training mode, for k = B // 2
    (a fuse must not assume k = B)."""
    from msmix.mixing.base import available as mixers, create as create_mixer, mixer_class
    from msmix.train.step import concat_masks

    model = s.build().train()
    batch = backbone_batch(6, seed=9, spec=s.spec)
    enc = model.encode(batch)
    for name in mixers():
        if mixer_class(name).point != "latent":  # input mixers run before encode
            continue
        cls = mixer_class(name)
        settings = {"n_mix": len(batch) // 2} if "n_mix" in known_settings(cls.config_class) else {}
        mixer = create_mixer(name, model.latent_dims, s.spec.label_range, **settings)
        mix = mixer(enc.latents, batch.labels, generator=torch.Generator().manual_seed(0), masks=enc.masks)
        for m, z in enc.latents.items():
            shape = tuple(mix.mixed[m].shape)
            require(
                shape == (mix.k, *z.shape[1:]),
                f"{s.label}: mixer {name!r} turned the {tuple(z.shape)} {m} latent into {shape}, not k x {tuple(z.shape[1:])}",
            )
        if mix.k == 0:
            continue
        latents = {m: torch.cat([z, mix.mixed[m]]) for m, z in enc.latents.items()}
        masks = concat_masks(enc.masks, mix.masks, {m: (len(batch), mix.k, z.shape[1]) for m, z in enc.latents.items()})
        pred = model.fuse(latents, masks).pred
        rows = len(batch) + mix.k
        require(tuple(pred.shape) == (rows, 1), f"{s.label}: fuse of {rows} rows mixed by {name!r} gave shape {tuple(pred.shape)}")
        require(bool(torch.isfinite(pred).all()), f"{s.label}: fuse of latents mixed by {name!r} gave non-finite predictions")


def stacked(a: dict[str, Tensor | None], b: dict[str, Tensor | None]) -> dict[str, Tensor | None]:
    """Two batches' latents (or masks) one after the other; None stays None."""
    return {m: None if a[m] is None else torch.cat([a[m], b[m]]) for m in a}


def bumped(batch: Batch, modalities: tuple[str, ...], sample: int) -> Batch:
    """A copy of ``batch`` with 1 added to every frame of ``modalities`` of one sample."""
    changed = batch.with_features({m: getattr(batch, m).clone() for m in MODALITIES})
    for m in modalities:
        getattr(changed, m)[sample] += 1.0
    return changed
