"""Training panel: live history, results row, background run with Stop, checkpoint loading.

LMF on the small fixture data set trains an epoch in about a second.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from msmix.experiment import SettingError
from msmix.metrics import regression_metrics
from msmix.train import NO_EPOCH_MESSAGE, SpecError
from synced_state import synced_traces
from workbench import sass_explorer, training_panel


def predictions(model, split) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(split.all()).pred.reshape(-1)


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    """A panel that trained LMF with MS-Mix for two epochs, keeping its checkpoints."""
    panel = training_panel(dataset, out_dir=tmp_path_factory.mktemp("runs"), backbone="lmf", mixer="msmix",
                           max_epochs=2, seed=7)
    panel.train_now()
    return panel


def test_train_now_fills_history_results_and_model(trained, dataset) -> None:
    panel, row = trained, trained.row
    assert row["epochs"] == 2 and row["backbone"] == "lmf" and row["mixer"] == "msmix" and row["seed"] == 7
    train, valid = panel.loss_figure.figure.data
    assert list(train.x) == [1, 2] == list(panel.history["epoch"])
    np.testing.assert_allclose(train.y, panel.history["train_loss"])
    np.testing.assert_allclose(valid.y, panel.history["valid_loss"])
    np.testing.assert_allclose(panel.metric_figure.figure.data[0].y, panel.history["valid_Corr"])
    # the results row is the restored model's score on test
    expected = regression_metrics(predictions(panel.model, dataset.test), dataset.test.labels, "mosi")
    for key in ("MAE", "Corr", "Has0_acc_2"):
        assert row[key] == pytest.approx(expected[key], abs=1e-4)
        assert f"{row[key]:.4f}" in panel.results_table.value
    assert panel.progress.value == 1.0 and "finished" in panel.status.value
    assert panel.mixer is not None and panel.mixer.name == "msmix"
    assert "SYNTHETIC" in panel.children[0].value and "SYNTHETIC" in panel.loss_figure.figure.layout.title.text
    panel.metric.value = "MAE"
    np.testing.assert_allclose(panel.metric_figure.figure.data[0].y, panel.history["valid_MAE"])
    assert panel.metric_figure.figure.layout.yaxis.title.text == "MAE"


def test_background_training_stops_on_request(dataset) -> None:
    panel = training_panel(dataset, backbone="lmf", mixer="none", max_epochs=500, patience=500)
    started = time.monotonic()
    panel.train_button.click()
    assert time.monotonic() - started < 2.0, "start must not block"
    assert panel.running and panel.train_button.disabled and not panel.stop_button.disabled
    panel.seed.value = 5  # other widgets stay usable meanwhile
    deadline = time.monotonic() + 60
    while panel.history.empty and time.monotonic() < deadline:
        time.sleep(0.05)
    panel.stop_button.click()
    row = panel.wait(timeout=60)
    assert row["interrupted"] and row["epochs"] < 500
    assert not panel.running and not panel.train_button.disabled and panel.stop_button.disabled
    assert "stopped" in panel.status.value


def test_stop_before_the_first_epoch_ends_reports_no_result(dataset) -> None:
    """Stop pressed at once: no epoch finished, so nothing is evaluated and nothing is listed."""
    panel = training_panel(dataset, backbone="lmf", mixer="none", max_epochs=5)
    panel.start()
    panel.stop()
    row = panel.wait(timeout=120)
    assert row["epochs"] == 0 and row["interrupted"]
    assert not any(key in row for key in ("Corr", "MAE", "Has0_acc_2"))
    assert panel.status.value == f"{NO_EPOCH_MESSAGE}."
    assert panel.results.empty and panel.results_table.value == ""


def test_overrides_reach_the_run_spec(dataset) -> None:
    panel = training_panel(dataset, backbone="lmf", settings="mixer.threshold=0.3\ntrain.lr=0.002, model.rank=2")
    spec = panel.run_spec()
    assert spec.mixer_config == {"threshold": 0.3}
    assert spec.train["lr"] == 0.002 and spec.train["max_epochs"] == 10
    assert spec.model_config == {"rank": 2}
    panel.settings.value = "threshold=0.3"
    with pytest.raises(SettingError, match="group"):
        panel.run_spec()


def test_a_failed_run_is_shown_and_reraised(dataset) -> None:
    panel = training_panel(dataset, backbone="lmf", max_epochs=1, settings="mixer.no_such_setting=1")
    with pytest.raises(SpecError, match="bad mixer setting: .*no_such_setting"):
        panel.train_now()
    assert "Failed" in panel.status.value and not panel.train_button.disabled


def test_load_a_checkpoint_instead_of_training(trained, dataset, tmp_path) -> None:
    panel = training_panel(dataset, backbone="tfn", mixer="none")
    panel.load_path.value = trained.row["run_dir"]
    panel.load_button.click()
    assert panel.error is None, panel.error
    assert panel.backbone_choice.value == "lmf" and panel.mixer_choice.value == "msmix"
    assert list(panel.loss_figure.figure.data[0].x) == [1, 2]
    torch.testing.assert_close(predictions(panel.model, dataset.test), predictions(trained.model, dataset.test))
    # the panel hands its trained model and mixer to the other panels
    explorer = sass_explorer(panel, dataset, batch_size=8)
    assert "trained lmf with msmix" in explorer.children[1].value
    assert "trained MS-Mix" in explorer.children[1].value
    panel.load_path.value = str(tmp_path / "missing")
    panel.load_button.click()
    assert "Could not load" in panel.status.value


def test_undefined_metrics_are_gaps_not_nan(trained) -> None:
    """NaN is not valid JSON: the synced figure stays strict JSON and carries the gap as NaN in a typed array."""
    history = trained.history.copy()
    history.loc[0, "valid_Corr"] = float("nan")
    trained.metric.value = "Corr"
    trained._show_history(history)
    y = synced_traces(trained.metric_figure)[0]["y"]
    assert np.isnan(y[0])
    assert y[1] == pytest.approx(history.loc[1, "valid_Corr"])


def test_the_backbone_menu_lists_all_six_backbones(dataset) -> None:
    panel = training_panel(dataset, backbone="tfn", mixer="none")
    assert set(panel.backbone_choice.options) == {"tfn", "lmf", "mult", "misa", "almt", "glomo"}


def test_the_train_fraction_control_reaches_the_run(dataset) -> None:
    panel = training_panel(dataset, backbone="lmf", mixer="none", max_epochs=1)
    assert [label for label, _ in panel.train_fraction.options] == ["10 %", "25 %", "50 %", "100 %"]
    assert panel.train_fraction.value == 1.0 and "train_fraction" not in panel.run_spec().train
    (settings_row,) = [child for child in panel.children if panel.max_epochs in getattr(child, "children", ())]
    assert list(settings_row.children) == [panel.max_epochs, panel.patience, panel.device, panel.train_fraction]
    panel.train_fraction.value = 0.25
    assert panel.run_spec().train["train_fraction"] == 0.25
    row = panel.train_now()
    assert row["train_fraction"] == 0.25 and "<th" in panel.results_table.value and "train_fraction" in panel.results_table.value
    panel.settings.value = "train.train_fraction=0.5"  # a typed override wins over the menu
    assert panel.run_spec().train["train_fraction"] == 0.5
    assert training_panel(dataset, train_fraction=0.3).train_fraction.value == 0.3
    with pytest.raises(ValueError, match=r"train_fraction must be a number in \(0, 1\]"):
        training_panel(dataset, train_fraction=0)
