"""From a run description to typed settings, before anything is built.

``resolve(spec, data_spec)`` turns a RunSpec's names and override dicts into the settings a run is
built from: how the data are read, the backbone's config dataclass (its published recipe for the
data set's kind, then the overrides), the mixer's config dataclass, and the TrainConfig (recipe,
overrides, the run's seed; the objective nested in it). A typo or a bad value fails here, naming
the group it belongs to, so checks of a sweep resolve every run without building one.
``msmix.train.assemble`` then builds the run from a ResolvedRun.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

from msmix.data.spec import DataSpec
from msmix.mixing.base import Mixer, mixer_class
from msmix.models.base import Backbone, backbone_class
from msmix.train.config import TrainConfig
from msmix.train.run_spec import RunSpec


class SpecError(ValueError):
    """A run's settings that its backbone, mixer or trainer refuses; the message names which."""


@dataclass(frozen=True)
class ResolvedRun:
    """A RunSpec as typed settings (nothing built yet).

    Attributes:
        spec: the description it came from.
        data_args: how ``msmix.data.load`` reads the data: ``source`` and the options.
        backbone, mixer: the registered classes.
        model_config, mixer_config: their settings dataclasses.
        train: the training settings, objective included.
    """

    spec: RunSpec
    data_args: dict[str, Any]
    backbone: type[Backbone]
    model_config: Any
    mixer: type[Mixer]
    mixer_config: Any
    train: TrainConfig

    def model_settings(self) -> dict[str, Any]:
        """The backbone's full settings as plain types (for checkpoints and results rows)."""
        return plain(self.model_config)

    def mixer_settings(self) -> dict[str, Any]:
        """The mixer's full settings as plain types."""
        return plain(self.mixer_config)


def data_options(backbone: str | type[Backbone], options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The data-loading options of a run: ``options``, with time averaging on for backbones (a name
    or a class) that read averaged audio and vision (TFN, LMF), unless the options say otherwise."""
    cls = backbone_class(backbone) if isinstance(backbone, str) else backbone
    merged = dict(options or {})
    if cls.needs_time_average:
        merged.setdefault("time_average", True)
    return merged


def data_args(spec: RunSpec) -> dict[str, Any]:
    """``source`` plus the loading options of ``spec``'s data (what ``msmix.data.load`` is given)."""
    return {"source": spec.data, **data_options(spec.backbone, spec.data_options)}


def resolve(spec: RunSpec, data: DataSpec) -> ResolvedRun:
    """The typed settings of ``spec`` on a data set described by ``data`` (its kind picks the recipes)."""
    where = f"{spec.backbone} + {spec.mixer}"
    try:
        backbone = backbone_class(spec.backbone)
        mixer = mixer_class(spec.mixer)
    except KeyError as err:
        raise SpecError(str(err.args[0])) from None
    parts: dict[str, Any] = {}
    for part, build in (
        ("train", lambda: TrainConfig.for_backbone(spec.backbone, data.kind, **spec.train, seed=spec.seed)),
        ("model", lambda: backbone.make_config(data.kind, spec.model_config)),
        ("mixer", lambda: mixer.make_config(spec.mixer_config)),
    ):
        try:
            parts[part] = build()
        except (TypeError, ValueError) as err:
            raise SpecError(f"{where}: bad {part} setting: {err}") from None
    return ResolvedRun(spec, data_args(spec), backbone, parts["model"], mixer, parts["mixer"], parts["train"])


def plain(config: Any) -> dict[str, Any]:
    """A settings dataclass (or dict) as a plain dict."""
    return asdict(config) if is_dataclass(config) and not isinstance(config, type) else dict(config)
