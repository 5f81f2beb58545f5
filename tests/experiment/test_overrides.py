"""``overrides_from``: the one parser of ``group.name=value`` texts (``--set``, the training panel)."""

from __future__ import annotations

import pytest

from msmix.experiment import SettingError
from msmix.experiment.settings import SETTING_GROUPS, overrides_from


def test_texts_become_the_four_override_dicts() -> None:
    groups = overrides_from(["mixer.threshold=0.3", " train.lr=1e-3 ", "", "model.rank=4", "data_options.standardize=true"])
    assert groups == {"mixer_config": {"threshold": 0.3}, "model_config": {"rank": 4}, "train": {"lr": 0.001},
                      "data_options": {"standardize": True}}
    assert set(overrides_from([])) == set(SETTING_GROUPS.values())


@pytest.mark.parametrize("text", ["threshold=0.3", "mixer.threshold", "loss.alpha=1", "=1"])
def test_malformed_texts_are_refused(text: str) -> None:
    with pytest.raises(SettingError):
        overrides_from([text])


def test_a_later_value_wins() -> None:
    assert overrides_from(["train.lr=0.1", "train.lr=0.2"])["train"] == {"lr": 0.2}
