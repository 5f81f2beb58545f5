"""Where a panel's model, mixer and batch come from.

Panels accept a model in the forms a notebook has at hand: a backbone name (a fresh, untrained
model), a ``Backbone``, or anything with ``.model`` (and maybe ``.mixer``): a ``LoadedRun`` from
``msmix.load_checkpoint`` or the training panel. ``encode_sample`` draws a seeded batch from a split
and runs ``encode`` on it, so every panel looks at latents the way the trainer makes them.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

import torch
from torch import Tensor

import msmix.mixing
import msmix.models
from msmix.data.batch import Batch
from msmix.data.cache import load_data as load_cached
from msmix.data.dataset import Dataset, Split
from msmix.data.spec import DataSpec
from msmix.inference import device_of, eval_mode, predict
from msmix.mixing.base import Mixer, MixResult
from msmix.models.base import Backbone
from msmix.train.resolve import data_options
from workbench._style import shorten


@dataclass
class ModelSource:
    """A backbone ready to inspect, the mixer that came with it (if any), and a line saying what it is."""

    model: Backbone
    mixer: Mixer | None
    description: str


@dataclass
class LatentBatch:
    """A batch of one split, its latents from ``encode``, and what hover boxes show.

    Samples are ordered by label, so similarity heat maps show the label structure.
    """

    batch: Batch
    latents: dict[str, Tensor]
    masks: dict[str, Tensor | None]
    labels: Tensor
    ids: list[str]
    texts: list[str]
    split: str
    spec: DataSpec

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def describe(self, i: int, width: int = 70) -> str:
        """One sample for a hover box or caption (HTML): id, label and the start of its text."""
        return f"{html.escape(self.ids[i])} (y = {float(self.labels[i]):+.2f}): {shorten(self.texts[i], width)}"


def load_data(data: Dataset | str, model: Any = None, **options: Any) -> Dataset:
    """A Dataset as given, or a name or path loaded through msmix's cached loader.

    When ``model`` (a backbone name, a Backbone or an object with ``.model``) reads time-averaged
    audio and vision, as TFN and LMF do, the data are loaded time-averaged too.
    """
    if isinstance(data, Dataset):
        return data
    if isinstance(data, str):
        backbone = model if isinstance(model, (str, Backbone)) else getattr(model, "model", None)
        if isinstance(backbone, Backbone):
            backbone = type(backbone)
        if backbone is not None:
            options = data_options(backbone, options)  # the rule runs use
        return load_cached(data, **options)
    raise TypeError(f"data must be a msmix Dataset or a source for msmix.data.load, got {type(data).__name__}")


def resolve_model(source: Any, spec: DataSpec, seed: int = 0) -> ModelSource:
    """Turn a backbone name, a Backbone, or an object with ``.model`` into a ModelSource."""
    if isinstance(source, str):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = msmix.models.create(source, spec)
        return ModelSource(model, None, f"fresh {source} (untrained, seed {seed})")
    if isinstance(source, Backbone):
        return ModelSource(source, None, f"{source.name or type(source).__name__} (as given)")
    model = getattr(source, "model", None)
    if hasattr(source, "model") and model is None:
        raise ValueError(f"this {type(source).__name__} holds no model yet: train or load one first")
    if isinstance(model, Backbone):
        mixer = getattr(source, "mixer", None)
        name = getattr(source, "backbone", None) or model.name or type(model).__name__
        mixer_name = getattr(source, "mixer_name", None) or getattr(mixer, "name", "") or "no mixer"
        return ModelSource(model, mixer if isinstance(mixer, Mixer) else None, f"trained {name} with {mixer_name}")
    raise TypeError(
        "model must be a backbone name, a msmix Backbone, or an object with a .model Backbone "
        f"(a LoadedRun or the training panel), got {type(source).__name__}"
    )


def resolve_msmix(
    dims: dict[str, int], spec: DataSpec, mixer: Mixer | None = None, trained: Mixer | None = None, seed: int = 0
) -> tuple[Mixer, str]:
    """An MS-Mix mixer whose intensity predictors the SASS and SIG panels use, and a line saying whose.

    Order of preference: the mixer given, the one the model was trained with, a fresh one (seeded)
    for latents of sizes ``dims``.
    """
    for candidate, what in ((mixer, "given"), (trained, "trained")):
        if candidate is not None and getattr(candidate, "name", "") == "msmix":
            return candidate, f"{what} MS-Mix intensity predictors"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = msmix.mixing.create("msmix", dims=dict(dims), label_range=spec.label_range, absent=spec.missing)
    return fresh, f"fresh (untrained) MS-Mix intensity predictors, seed {seed}"


def resolve_mixer(mixer: Mixer | str | None, source: ModelSource, spec: DataSpec, seed: int = 0) -> Mixer:
    """A mixer for producing mixed samples: the one given (or named), the model's own, or MS-Mix."""
    if isinstance(mixer, Mixer):
        return mixer
    if mixer is None and source.mixer is not None and source.mixer.point == "latent":
        return source.mixer
    name = mixer or "msmix"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        built = msmix.mixing.create(
            name, dims=dict(source.model.latent_dims), label_range=spec.label_range, absent=spec.missing
        )
    if built.point != "latent":
        raise ValueError(f"mixer {name!r} mixes inputs, not latents; pick a latent mixer to inspect mixed latents")
    return built


def encode_sample(model: Backbone, data: Dataset, split: str = "train", size: int = 32, seed: int = 0) -> LatentBatch:
    """Draw ``size`` samples of ``split`` (seeded), order them by label, and encode them.

    The model runs in eval mode without gradients (its mode is restored afterwards); latents come
    back on the CPU.
    """
    part = data[split]
    if size < 2:
        raise ValueError(f"a batch to inspect needs at least 2 samples, got size={size}")
    size = min(size, len(part))
    generator = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(part), generator=generator)[:size]
    labels = part.labels.detach().cpu()[pick]
    pick = pick[torch.argsort(labels, stable=True)]
    batch = part.batch(pick.to(part.device))
    with eval_mode(model), torch.no_grad():
        encoded = model.encode(batch.to(device_of(model)))
    return LatentBatch(
        batch=batch,
        latents={m: z.detach().float().cpu() for m, z in encoded.latents.items()},
        masks={m: None if k is None else k.detach().cpu() for m, k in encoded.masks.items()},
        labels=batch.labels.detach().float().cpu(),
        ids=list(batch.ids),
        texts=[part.raw_text[i] for i in pick.tolist()],
        split=split,
        spec=data.spec,
    )


def predict_split(model: Backbone, split: Split, batch_size: int = 256) -> Tensor:
    """(N,) the model's predictions for a whole split (``msmix.inference.predict``), on the CPU."""
    return predict(model, split, batch_size).cpu()


def intensities_of(mixer: Mixer, sample: LatentBatch) -> dict[str, Tensor]:
    """Per modality, (B,) the SIG intensities an MS-Mix mixer gives the sample (on the CPU)."""
    result = mix_sample(mixer, sample)
    if result.intensities is None:
        raise ValueError(f"mixer {getattr(mixer, 'name', '?')!r} predicts no intensities; pass an MS-Mix mixer")
    return {m: i.float() for m, i in result.intensities.items()}


def mix_sample(mixer: Mixer, sample: LatentBatch, seed: int = 0) -> MixResult:
    """The mixer's MixResult for the sample (eval mode, no gradients, seeded), on the CPU."""
    device = device_of(mixer)
    with eval_mode(mixer), torch.no_grad():
        result = mixer(
            {m: z.to(device) for m, z in sample.latents.items()},
            sample.labels.to(device),
            generator=torch.Generator(device=device).manual_seed(seed),
            masks={m: None if k is None else k.to(device) for m, k in sample.masks.items()},
        )
    return to_device(result, "cpu")


def to_device(value: Any, device: torch.device | str) -> Any:
    """Tensors (also inside dicts and dataclasses such as MixResult) detached and moved to ``device``."""
    if isinstance(value, Tensor):
        return value.detach().to(device)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: to_device(getattr(value, f.name), device) for f in fields(value)})
    return value

