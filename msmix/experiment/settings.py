"""Setting keys such as ``mixer.threshold``: how sweeps, ``--set`` and results columns name overrides.

A run's overrides live in four dicts of ``RunSpec`` (``mixer_config``, ``model_config``, ``train``,
``data_options``). Everywhere a person types or reads one (a sweep config table, ``msmix train
--set``, a column of ``results.csv``) it is written ``<group>.<name>`` with the groups below, so
the same key means the same thing in all three places.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

SETTING_GROUPS: dict[str, str] = {
    "mixer": "mixer_config",
    "model": "model_config",
    "train": "train",
    "data_options": "data_options",
}
"""Group prefix -> the RunSpec field holding that group's overrides."""


class SettingError(ValueError):
    """A setting key or value that cannot be used (unknown group, malformed ``key=value``)."""


def split_key(key: str) -> tuple[str, str]:
    """``"mixer.threshold"`` -> ``("mixer_config", "threshold")``; unknown groups are refused."""
    group, dot, name = key.partition(".")
    if not dot or not name or group not in SETTING_GROUPS:
        raise SettingError(
            f"setting {key!r} must be <group>.<name> with group one of {', '.join(SETTING_GROUPS)} "
            "(e.g. mixer.threshold, train.lr)"
        )
    return SETTING_GROUPS[group], name


def parse_value(text: str) -> Any:
    """A command-line value as the type it spells: JSON (numbers, lists, quoted strings), booleans
    and ``none`` in any case, numbers such as ``.5``; anything else stays a string."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"mixer.threshold=0.3"`` -> ``("mixer.threshold", 0.3)``, with the key checked."""
    key, eq, value = text.partition("=")
    key = key.strip()
    if not eq or not key:
        raise SettingError(f"--set expects key=value (e.g. mixer.threshold=0.3), got {text!r}")
    split_key(key)
    return key, parse_value(value)


def overrides_from(assignments: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``group.name=value`` texts as the four RunSpec override dicts (every group present, blanks skipped).

    Example:
        >>> overrides_from(["mixer.threshold=0.3", "train.lr=1e-3"])["mixer_config"]
        {'threshold': 0.3}
    """
    groups: dict[str, dict[str, Any]] = {field: {} for field in SETTING_GROUPS.values()}
    for text in assignments:
        if text.strip():
            key, value = parse_assignment(text.strip())
            field, name = split_key(key)
            groups[field][name] = value
    return groups


def spec_settings(spec: Any) -> dict[str, Any]:
    """A RunSpec's overrides as ``{"<group>.<name>": value}`` columns."""
    columns: dict[str, Any] = {}
    for group, field_name in SETTING_GROUPS.items():
        for name, value in sorted(getattr(spec, field_name).items()):
            columns[f"{group}.{name}"] = value
    return columns


def is_setting_column(column: str) -> bool:
    """Whether a results column holds an override (``mixer.*``, ``model.*``, ``train.*``, ...)."""
    group, dot, name = column.partition(".")
    return bool(dot and name) and group in SETTING_GROUPS
