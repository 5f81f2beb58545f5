"""Sweep configs: TOML and JSON reading, and the grid they expand to."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from msmix.experiment import expand_grid, load_sweep_config
from msmix.train import RunSpec

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sweep_toy.toml"


def _keys(specs: list[RunSpec]) -> list[tuple]:
    return [(s.data, s.backbone, s.mixer, json.dumps(s.mixer_config, sort_keys=True), s.seed) for s in specs]


def test_grid_is_the_full_product_in_order() -> None:
    config = {"data": "toy", "backbones": ["tfn", "lmf"], "mixers": ["none", "msmix"], "seeds": [1, 2, 3]}
    specs = expand_grid(config)
    expected = [("toy", b, m, "{}", s) for b, m, s in itertools.product(["tfn", "lmf"], ["none", "msmix"], [1, 2, 3])]
    assert _keys(specs) == expected
    assert len({s.config_hash() for s in specs}) == len(specs)


def test_per_mixer_settings_are_swept_only_for_that_mixer() -> None:
    config = {
        "data": ["toy"], "backbones": "tfn", "mixers": ["none", "msmix", "mixup"], "seeds": [7, 8],
        "mixer": {"msmix": {"threshold": [0.2, 0.4], "alpha": 2.0}, "mixup": {"alpha": 0.4}},
        "train": {"max_epochs": 2, "lr": [1e-3, 5e-4]},
    }
    specs = expand_grid(config)
    by_mixer = {m: [s for s in specs if s.mixer == m] for m in ("none", "msmix", "mixup")}
    assert len(by_mixer["none"]) == 2 * 2  # lr x seed
    assert len(by_mixer["msmix"]) == 2 * 2 * 2  # threshold x lr x seed
    assert all(s.mixer_config == {} for s in by_mixer["none"])
    assert {s.mixer_config["threshold"] for s in by_mixer["msmix"]} == {0.2, 0.4}
    assert all(s.mixer_config["alpha"] == 2.0 for s in by_mixer["msmix"])
    assert all(s.mixer_config == {"alpha": 0.4} for s in by_mixer["mixup"])
    assert {s.train["lr"] for s in specs} == {1e-3, 5e-4}
    assert all(s.train["max_epochs"] == 2 for s in specs)


def test_common_settings_reach_every_mixer_and_per_name_tables_override_them() -> None:
    config = {"data": "toy", "backbones": "tfn", "mixers": ["mixup", "msmix"], "mixer": {"alpha": 0.3, "msmix": {"alpha": 1.0}}}
    specs = expand_grid(config)
    assert [(s.mixer, s.mixer_config) for s in specs] == [("mixup", {"alpha": 0.3}), ("msmix", {"alpha": 1.0})]
    assert [s.seed for s in specs] == [RunSpec().seed] * 2


def test_a_wrapped_list_is_one_value() -> None:
    config = {"data": "toy", "backbones": "tfn", "mixers": "none", "model": {"tfn": {"dims": [[64, 32]]}}}
    (spec,) = expand_grid(config)
    assert spec.model_config == {"dims": [64, 32]}


def test_toml_and_json_with_dotted_keys_give_the_same_grid(tmp_path: Path) -> None:
    toml = tmp_path / "s.toml"
    toml.write_text(
        'data = "toy"\nbackbones = ["tfn"]\nmixers = ["none", "msmix"]\nseeds = [1, 2]\n'
        "mixer.msmix.threshold = [0.2, 0.4]\n[train]\nmax_epochs = 2\n"
    )
    js = tmp_path / "s.json"
    js.write_text(json.dumps({
        "data": "toy", "backbones": ["tfn"], "mixers": ["none", "msmix"], "seeds": [1, 2],
        "mixer.msmix.threshold": [0.2, 0.4], "train.max_epochs": 2,
    }))
    from_toml, from_json = expand_grid(load_sweep_config(toml)), expand_grid(load_sweep_config(js))
    assert [s.config_hash() for s in from_toml] == [s.config_hash() for s in from_json]
    assert len(from_toml) == 2 + 4


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"backbones": "tfn", "mixers": "none"}, "'data' is missing"),
        ({"data": "toy", "backbones": "tfn", "mixers": "none", "seed": 1}, "sweep config: unknown settings ['seed']"),
        ({"data": "toy", "backbones": "tfn", "mixers": ["none", "none"]}, "more than once"),
        ({"data": "toy", "backbones": "tfn", "mixers": "none", "seeds": [1, True]}, "'seeds' must be"),
        ({"data": "toy", "backbones": "tfn", "mixers": "none", "seeds": []}, "'seeds' must be"),
        ({"data": "toy", "backbones": [], "mixers": "none"}, "non-empty list"),
        ({"data": "toy", "backbones": "tfn", "mixers": "none", "mixer": {"msmix": {"threshold": 0.2}}}, "not among mixers"),
        ({"data": "toy", "backbones": "tfn", "mixers": "msmix", "mixer": {"msmix": 0.2}}, "must be a table"),
        ({"data": "toy", "backbones": "tfn", "mixers": "none", "train": {"epochs": 3}}, "[train] (seeds go in 'seeds'): unknown settings ['epochs']"),
        ({"data": "toy", "backbones": "tfn", "mixers": "none", "train": {"seed": 3}}, "seeds go in 'seeds'"),
        ({"data": "toy", "backbones": "tfn", "mixers": "none", "train": {"lr": []}}, "empty list"),
    ],
)
def test_bad_configs_say_what_is_wrong(config: dict, message: str) -> None:
    with pytest.raises(ValueError) as err:
        expand_grid(config)
    assert message in str(err.value)


def test_bad_files_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("data = [toy\n")
    with pytest.raises(ValueError, match="broken.toml is not valid TOML"):
        load_sweep_config(broken)
    yaml = tmp_path / "s.yaml"
    yaml.write_text("data: toy\n")
    with pytest.raises(ValueError, match="expected a .toml or .json file, found '.yaml'"):
        load_sweep_config(yaml)
    with pytest.raises(FileNotFoundError, match="missing.toml does not exist"):
        load_sweep_config(tmp_path / "missing.toml")


def test_the_example_config_expands() -> None:
    specs = expand_grid(load_sweep_config(EXAMPLE))
    assert specs and all(s.data == "toy" for s in specs)
    assert {"none", "msmix"} <= {s.mixer for s in specs}


def test_a_list_of_train_fractions_is_swept_and_the_whole_split_keeps_its_hash(tmp_path: Path) -> None:
    config = tmp_path / "fractions.toml"
    config.write_text('data = "toy"\nbackbones = ["tfn"]\nmixers = ["none", "msmix"]\nseeds = [1, 2]\n'
                      "[train]\nmax_epochs = 5\ntrain_fraction = [0.1, 0.25, 0.5, 1.0]\n")
    specs = expand_grid(load_sweep_config(config))
    assert len(specs) == 2 * 4 * 2
    fractions = [s.train.get("train_fraction", 1.0) for s in specs if s.mixer == "none" and s.seed == 1]
    assert fractions == [0.1, 0.25, 0.5, 1.0]
    whole = [s for s in specs if "train_fraction" not in s.train]
    assert len(whole) == 4 and all(s.train == {"max_epochs": 5} for s in whole)
    without = expand_grid({"data": "toy", "backbones": "tfn", "mixers": ["none", "msmix"], "seeds": [1, 2],
                           "train": {"max_epochs": 5}})
    assert {s.config_hash() for s in whole} == {s.config_hash() for s in without}
    assert len({s.config_hash() for s in specs}) == len(specs)


def test_the_grid_is_counted_before_it_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    import msmix.experiment.grid as grid

    config = {
        "data": ["toy", "toy:small"], "backbones": ["tfn", "lmf"], "mixers": ["none", "msmix", "mixup"], "seeds": [1, 2],
        "mixer": {"msmix": {"threshold": [0.2, 0.4, 0.6]}, "mixup": {"alpha": [0.2, 0.4]}},
        "model": {"tfn": {"post_fusion_dim": [32, 64]}}, "train": {"lr": [1e-3, 5e-4]},
    }
    runs = len(expand_grid(config))
    assert runs == 2 * (2 + 1) * (1 + 3 + 2) * 2 * 2
    monkeypatch.setattr(grid, "MAX_RUNS", runs)
    assert len(expand_grid(config)) == runs
    monkeypatch.setattr(grid, "MAX_RUNS", runs - 1)
    with pytest.raises(ValueError, match=f"the grid holds {runs:,} runs, more than the {runs - 1:,} a sweep may hold"):
        expand_grid(config)


def test_a_huge_grid_is_refused_at_once() -> None:
    values = list(range(1, 1001))
    config = {"data": "toy", "backbones": "tfn", "mixers": "none", "seeds": values, "train": {"lr": values, "weight_decay": values}}
    with pytest.raises(ValueError, match="the grid holds 1,000,000,000 runs, more than the 100,000"):
        expand_grid(config)


def test_errors_name_the_config_file_and_refuse_repeated_runs(tmp_path: Path) -> None:
    config = {"data": "toy", "backbones": "tfn", "mixers": "none", "train": {"train_fraction": [0.5, 1, 1.0]}}
    with pytest.raises(ValueError, match=r"^sweep config s\.toml: the grid holds the run toy tfn-none s1111 with the same settings twice"):
        expand_grid(config, source="s.toml")
    with pytest.raises(ValueError, match=r"^sweep config: 'seeds' must be an integer >= 0 .*found \[1, 2, 3, .* \.\.\.\]$"):
        expand_grid({"data": "toy", "backbones": "tfn", "mixers": "none", "seeds": [*range(1, 100), -1]})
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'data = "toy"\n# caf\xe9\n')
    with pytest.raises(ValueError, match=r"latin\.toml, line 2: expected UTF-8 text, found the byte 0xe9"):
        load_sweep_config(latin)
    with pytest.raises(ValueError, match="is a directory, expected a .toml or .json file"):
        load_sweep_config(tmp_path)
