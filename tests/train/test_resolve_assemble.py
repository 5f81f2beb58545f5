"""resolve -> assemble: typed settings first, then one build of backbone, mixer and Trainer.

A run, ``msmix train`` and checkpoint loading must build the backbone once; checks must not build it.
"""

from __future__ import annotations

import pytest

from msmix.experiment.checks import check_specs
from msmix.mixing import MSMixConfig
from msmix.testing import TinyBackbone
from msmix.testing.tiny_backbone import TinyConfig
from msmix.train import RunSpec, SpecError, TrainConfig, assemble, load_checkpoint, resolve, run


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[TinyConfig]:
    """The settings of every TinyBackbone built while a test runs (with real tensors: load_checkpoint's
    build on the ``meta`` device, which checks a checkpoint's weights fit before anything is allocated,
    allocates nothing and is not counted)."""
    built: list[TinyConfig] = []
    original = TinyBackbone.__init__

    def counting(self, spec, config=None, **overrides) -> None:
        original(self, spec, config, **overrides)
        if not any(p.is_meta for p in self.parameters()):
            built.append(self.config)

    monkeypatch.setattr(TinyBackbone, "__init__", counting)
    return built


def spec(**changes) -> RunSpec:
    settings = {"data": "tiny", "backbone": "_tiny", "mixer": "msmix", "seed": 7,
                "train": {"max_epochs": 2}, **changes}
    return RunSpec(**settings)


def test_resolve_gives_typed_settings_from_recipe_overrides_and_seed(tiny_data, builds) -> None:
    resolved = resolve(spec(model_config={"hidden": 6}, mixer_config={"threshold": 0.3, "n_mix": 4},
                            train={"lr": 0.05, "loss": "mse"}), tiny_data.spec)
    assert resolved.model_config == TinyConfig(hidden=6)
    assert resolved.mixer_config == MSMixConfig(threshold=0.3, n_mix=4).resolved()
    assert isinstance(resolved.train, TrainConfig)
    assert (resolved.train.lr, resolved.train.loss, resolved.train.seed) == (0.05, "mse", 7)
    assert resolved.train.batch_size == TinyBackbone.default_config(tiny_data.spec.kind)["train"]["batch_size"]
    assert resolved.data_args == {"source": "tiny"}
    assert builds == [], "resolving builds nothing"


@pytest.mark.parametrize(("group", "changes"), [
    ("model", {"model_config": {"hiden": 6}}),
    ("mixer", {"mixer_config": {"treshold": 0.3}}),
    ("train", {"train": {"max_epochs": 0}}),
])
def test_bad_settings_are_named_with_their_group(tiny_data, group, changes) -> None:
    with pytest.raises(SpecError, match=f"_tiny \\+ msmix: bad {group} setting"):
        resolve(spec(**changes), tiny_data.spec)


def test_unknown_names_are_spec_errors(tiny_data) -> None:
    with pytest.raises(SpecError, match="unknown mixer 'mixmax'"):
        resolve(spec(mixer="mixmax"), tiny_data.spec)


def test_checks_resolve_without_building(tiny_data, builds) -> None:
    check_specs([spec(), spec(mixer="none"), spec(mixer_config={"alpha": 0.5})], data=tiny_data)
    assert builds == []
    with pytest.raises(SpecError, match="bad mixer setting"):
        check_specs([spec(mixer_config={"alpha": -1.0})], data=tiny_data)


def test_a_run_builds_its_backbone_once_and_checkpoints_rebuild_it(tiny_data, builds, tmp_path) -> None:
    row = run(spec(model_config={"hidden": 5}), out_dir=tmp_path, progress=False, data=tiny_data)
    assert builds == [TinyConfig(hidden=5)]
    loaded = load_checkpoint(row["run_dir"])
    assert builds[1:] == [TinyConfig(hidden=5)], "load_checkpoint builds it once, with the run's settings"
    assert loaded.mixer.config == MSMixConfig().resolved()


def test_assemble_wires_the_resolved_settings(tiny_data, builds) -> None:
    resolved = resolve(spec(mixer_config={"threshold": 0.6}), tiny_data.spec)
    trainer = assemble(resolved, tiny_data, progress=False)
    assert trainer.model.config is resolved.model_config and trainer.mixer.config is resolved.mixer_config
    assert trainer.config is resolved.train and trainer.meta["mixer_config"]["threshold"] == 0.6
    assert len(builds) == 1


def test_msmix_train_checks_then_builds_once(builds, capsys) -> None:
    from msmix.cli import main

    status = main(["train", "--data", "toy", "--backbone", "_tiny", "--mixer", "msmix", "--epochs", "1",
                   "--quiet", "--threads", "1", "--set", "model.hidden=3"])
    assert status == 0, capsys.readouterr().err
    assert builds == [TinyConfig(hidden=3)]
