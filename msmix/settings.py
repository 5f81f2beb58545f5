"""Settings dataclasses from keyword overrides: one place that refuses unknown names.

Every component keeps its settings in a dataclass (a backbone's ``TFNConfig``, a mixer's
``MSMixConfig``, ``TrainConfig``); whatever builds one from user input (``--set``, a sweep table, a
notebook) goes through ``settings_from``, so a typo is named together with what is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

ConfigT = TypeVar("ConfigT")


def known_settings(config_class: type) -> list[str]:
    """The field names of a settings dataclass, in declaration order."""
    return [f.name for f in fields(config_class)]


def check_known(owner: str, given: Mapping[str, Any] | set[str], known: list[str] | set[str]) -> None:
    """Raise a TypeError naming the unknown keys of ``given`` and the known ones."""
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise TypeError(f"{owner}: unknown settings {unknown}; known: {sorted(known)}")


def settings_from(
    config_class: type[ConfigT], owner: str, settings: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
) -> ConfigT:
    """``config_class(**defaults, **settings)``, refusing names that are not fields.

    Example:
        >>> from msmix.mixing.mixup import MixupConfig
        >>> settings_from(MixupConfig, "mixup", {"alpha": 0.4}).alpha
        0.4
    """
    check_known(owner, settings, known_settings(config_class))
    return config_class(**{**(defaults or {}), **settings})
