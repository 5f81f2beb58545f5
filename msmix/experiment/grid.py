"""Sweep configs: read a TOML or JSON file and expand it into one RunSpec per run.

A config names the data sets, backbones, mixers and seeds, and optional setting tables::

    data = "toy"                      # a name or a list: "toy", paths to MMSA pickles
    backbones = ["tfn", "lmf"]
    mixers = ["none", "mixup", "msmix"]
    seeds = [1111, 1112, 1113]        # default [1111]
    out_dir = "results/toy"           # optional; ``msmix sweep --out`` overrides it

    [train]                           # TrainConfig overrides for every run
    max_epochs = 5
    [mixer.msmix]                     # settings of one mixer; a list is swept
    threshold = [0.2, 0.4]
    [model.tfn]                       # settings of one backbone
    post_fusion_dim = 64

A list value is swept (one run per value); to pass a list as a single value, wrap it:
``dims = [[64, 32]]``. ``[train] train_fraction = [0.1, 0.25, 0.5, 1.0]`` trains on seeded,
stratified shares of the train split; its 1.0 runs leave the setting out (1.0 is the default), so
they keep the config hash, and the finished runs, of a sweep without it; so do the runs of
``precision = ["fp32", "bf16"]`` at ``"fp32"``. A ``[mixer]`` or
``[model]`` key that is not the name of a mixer or backbone of this sweep applies to every one of
them, so settings that only some mixers accept belong in their own table. JSON configs have the
same shape; dotted keys (``"mixer.msmix.threshold"``) are accepted there too.

A grid may hold at most ``MAX_RUNS`` runs: its size is counted from the lengths of its lists before
any run is built, so a config of a few lines cannot ask for 10^8 runs and fill the memory.
"""

from __future__ import annotations

import itertools
import json
import math
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

from msmix.experiment.settings import SETTING_GROUPS
from msmix.utf8 import NotUTF8, decode_utf8
from msmix.settings import check_known
from msmix.train import RunSpec, TrainConfig


class SweepConfigError(ValueError):
    """A sweep config that cannot be expanded; the message names the key and what was expected."""



_LIST_KEYS = ("data", "backbones", "mixers", "seeds")
_KNOWN_KEYS = (*_LIST_KEYS, "out_dir", *SETTING_GROUPS)
_PER_NAME = {"mixer": "mixers", "model": "backbones"}
"""Setting groups that may hold one table per mixer / backbone of the sweep."""
MAX_RUNS = 100_000
"""The most runs one sweep config may expand to (far beyond any sweep that could finish)."""


def load_sweep_config(path: str | Path) -> dict[str, Any]:
    """Read a sweep config from a ``.toml`` or ``.json`` file."""
    path = Path(path)
    if path.is_dir():
        raise SweepConfigError(f"sweep config {path} is a directory, expected a .toml or .json file")
    if not path.is_file():
        raise FileNotFoundError(f"sweep config {path} does not exist")
    if path.suffix not in (".toml", ".json"):
        raise SweepConfigError(f"sweep config {path}: expected a .toml or .json file, found {path.suffix or 'no suffix'!r}")
    text = _text_of(path)
    try:
        config = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as err:
        raise SweepConfigError(f"sweep config {path} is not valid {path.suffix[1:].upper()}: {err}") from None
    except RecursionError:
        raise SweepConfigError(f"sweep config {path} nests its tables or lists too deeply") from None
    if not isinstance(config, dict):
        raise SweepConfigError(f"sweep config {path}: expected a table of settings, found {type(config).__name__}")
    return config


def _text_of(path: Path) -> str:
    """The file as text: UTF-8 (a leading byte-order mark allowed), as TOML requires."""
    try:
        return decode_utf8(path.read_bytes(), allow_bom=True)
    except NotUTF8 as err:
        raise SweepConfigError(
            f"sweep config {path}, line {err.line}: expected UTF-8 text, found the byte 0x{err.byte:02x} "
            "(save the file as UTF-8)"
        ) from None


def expand_grid(config: dict[str, Any], source: str | Path | None = None) -> list[RunSpec]:
    """Every run of a sweep: data x backbone x mixer x setting values x seed, in that order.

    ``source`` (the config's file) is named in the SweepConfigError a bad config raises.
    """
    try:
        return _expand(config)
    except SweepConfigError as err:
        raise SweepConfigError(f"sweep config{f' {source}' if source else ''}: {err}") from None


def _expand(config: dict[str, Any]) -> list[RunSpec]:
    config = _nest_dotted_keys(config)
    _known("", config, _KNOWN_KEYS)
    names = {key: _names(config, key) for key in ("data", "backbones", "mixers")}
    seeds = _seeds(config.get("seeds", [RunSpec().seed]))
    tables = {group: _table(config, group) for group in SETTING_GROUPS}
    _check_per_name_tables(tables, names)
    _check_train_keys(tables["train"])
    _check_size(names, seeds, tables)

    specs: list[RunSpec] = []
    for data, backbone, mixer in itertools.product(names["data"], names["backbones"], names["mixers"]):
        choices = {
            "model_config": _choices(tables["model"], backbone, names["backbones"]),
            "mixer_config": _choices(tables["mixer"], mixer, names["mixers"]),
            "train": _choices(tables["train"]),
            "data_options": _choices(tables["data_options"]),
        }
        for settings in _combinations(choices):
            _leave_out_whole_split(settings["train"])
            _leave_out_fp32(settings["train"])
            for seed in seeds:
                specs.append(_spec(data=data, backbone=backbone, mixer=mixer, seed=seed, **settings))
    _check_distinct(specs)
    return specs


def _check_size(names: dict[str, list[str]], seeds: list[int], tables: dict[str, dict[str, Any]]) -> None:
    """Refuse a grid of more than MAX_RUNS runs, counted without building it."""
    per_backbone = sum(_count(_choices(tables["model"], b, names["backbones"])) for b in names["backbones"])
    per_mixer = sum(_count(_choices(tables["mixer"], m, names["mixers"])) for m in names["mixers"])
    shared = _count(_choices(tables["train"])) * _count(_choices(tables["data_options"]))
    runs = len(names["data"]) * per_backbone * per_mixer * shared * len(seeds)
    if runs > MAX_RUNS:
        raise SweepConfigError(
            f"the grid holds {runs:,} runs, more than the {MAX_RUNS:,} a sweep may hold; shorten its lists of values"
        )


def _count(choices: dict[str, list[Any]]) -> int:
    return math.prod(len(values) for values in choices.values())


def _spec(**fields: Any) -> RunSpec:
    try:
        return RunSpec(**fields)
    except ValueError as err:
        raise SweepConfigError(str(err)) from None


def _check_distinct(specs: list[RunSpec]) -> None:
    """Refuse two runs of one configuration (e.g. ``train_fraction = [1, 1.0]``)."""
    seen: set[str] = set()
    for spec in specs:
        spec_hash = spec.config_hash()
        if spec_hash in seen:
            raise SweepConfigError(
                f"the grid holds the run {spec.data} {spec.backbone}-{spec.mixer} s{spec.seed} with the same settings "
                "twice; a list of values repeats a value"
            )
        seen.add(spec_hash)


def _leave_out_whole_split(train: dict[str, Any]) -> None:
    """Drop ``train_fraction`` 1 (the default, all of the train split): such a run is the run of a
    sweep without the setting, with its config hash."""
    value = train.get("train_fraction")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 1:
        del train["train_fraction"]


def _leave_out_fp32(train: dict[str, Any]) -> None:
    """Drop ``precision`` ``"fp32"`` (the default): such a run keeps the config hash of a sweep without it."""
    if train.get("precision") == "fp32":
        del train["precision"]


def _nest_dotted_keys(config: dict[str, Any]) -> dict[str, Any]:
    """``{"mixer.msmix.threshold": v}`` -> ``{"mixer": {"msmix": {"threshold": v}}}`` (JSON configs)."""
    nested: dict[str, Any] = {}
    for key, value in config.items():
        *parents, leaf = key.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise SweepConfigError(f"{key!r} conflicts with a non-table value of {part!r}")
        if isinstance(value, dict) and isinstance(node.get(leaf), dict):
            node[leaf] = {**node[leaf], **_nest_dotted_keys(value)}
        else:
            node[leaf] = _nest_dotted_keys(value) if isinstance(value, dict) else value
    return nested


def _names(config: dict[str, Any], key: str) -> list[str]:
    if key not in config:
        raise SweepConfigError(f"{key!r} is missing (a name or a list of names)")
    value = config[key]
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise SweepConfigError(f"{key!r} must be a name or a non-empty list of names, found {_shown(value)}")
    _no_duplicates(key, values)
    return values


def _seeds(value: Any) -> list[int]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        raise SweepConfigError(f"'seeds' must be an integer >= 0 or a non-empty list of them, found {_shown(value)}")
    _no_duplicates("seeds", values)
    return values


def _no_duplicates(key: str, values: list[Any]) -> None:
    repeated = sorted(str(v) for v, count in Counter(values).items() if count > 1)
    if repeated:
        raise SweepConfigError(f"{key!r} lists {', '.join(repeated)} more than once")


def _shown(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut short: a message stays one readable line whatever the file holds."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]} ...{text[-1]}"


def _table(config: dict[str, Any], group: str) -> dict[str, Any]:
    table = config.get(group, {})
    if not isinstance(table, dict):
        raise SweepConfigError(f"{group!r} must be a table of settings, found {_shown(table)}")
    return table


def _check_per_name_tables(tables: dict[str, dict[str, Any]], names: dict[str, list[str]]) -> None:
    for group, names_key in _PER_NAME.items():
        for key, value in tables[group].items():
            if key in names[names_key] and not isinstance(value, dict):
                raise SweepConfigError(f"[{group}.{key}] must be a table of settings, found {_shown(value)}")
            if isinstance(value, dict) and key not in names[names_key]:
                raise SweepConfigError(
                    f"a table [{group}.{key}] but {key!r} is not among {names_key} {names[names_key]}"
                )
    for group in ("train", "data_options"):
        nested = [key for key, value in tables[group].items() if isinstance(value, dict)]
        if nested:
            raise SweepConfigError(f"[{group}] takes plain settings, found sub-tables {nested}")


def _check_train_keys(train: dict[str, Any]) -> None:
    _known("[train] (seeds go in 'seeds')", train, set(TrainConfig.override_keys()) - {"seed"})


def _known(where: str, given: dict[str, Any], known: Any) -> None:
    """``msmix.settings.check_known`` as a SweepConfigError; ``where`` is the table ("" for the top)."""
    try:
        check_known(where, given, known)
    except TypeError as err:
        raise SweepConfigError(str(err).removeprefix(": ")) from None


def _choices(table: dict[str, Any], name: str | None = None, names: list[str] = ()) -> dict[str, list[Any]]:
    """Setting -> the values to sweep: the table's common keys, then ``table[name]`` over them."""
    common = {key: value for key, value in table.items() if key not in names}
    merged = {**common, **table.get(name, {})} if name is not None else common
    choices: dict[str, list[Any]] = {}
    for key, value in merged.items():
        values = value if isinstance(value, list) else [value]
        if not values:
            raise SweepConfigError(f"setting {key!r} has an empty list of values")
        choices[key] = values
    return choices


def _combinations(choices: dict[str, dict[str, list[Any]]]) -> list[dict[str, dict[str, Any]]]:
    """The product of every setting's values, as RunSpec keyword arguments."""
    slots = [(field, key, values) for field, table in choices.items() for key, values in table.items()]
    combos = []
    for picked in itertools.product(*(values for _, _, values in slots)):
        settings: dict[str, dict[str, Any]] = {field: {} for field in choices}
        for (field, key, _), value in zip(slots, picked):
            settings[field][key] = value
        combos.append(settings)
    return combos
