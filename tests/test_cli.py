"""The ``msmix`` command, called in-process: train, resume, sweep, summary, inspect, evaluate, predict."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import msmix.train.trainer
from msmix.cli import main
from msmix.experiment import append_row, read_results
from msmix.metrics import MOSI_KEYS, regression_metrics

TRAIN = ["train", "--data", "toy", "--backbone", "lmf", "--mixer", "msmix", "--epochs", "2", "--quiet"]


@pytest.fixture(autouse=True)
def keep_torch_threads() -> Iterator[None]:
    """``msmix train`` sets torch's thread count for the process; the tests after it keep theirs."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 2-epoch LMF + MS-Mix run on the demo data (LMF: small checkpoints), kept in its output folder."""
    out = tmp_path_factory.mktemp("trained")
    threads = torch.get_num_threads()
    assert main([*TRAIN, "--set", "mixer.threshold=0.3", "--out", str(out)]) == 0
    torch.set_num_threads(threads)
    return out


def _one_line_error(capsys: pytest.CaptureFixture, argv: list[str], expected: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_train_prints_the_row_and_appends_it(trained: Path, capsys: pytest.CaptureFixture) -> None:
    table = read_results(trained / "results.csv")
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["data"], row["backbone"], row["mixer"], row["seed"]) == ("toy", "lmf", "msmix", 1111)
    assert row["mixer.threshold"] == 0.3 and row["train.max_epochs"] == 2 and 1 <= row["epochs"] <= 2
    assert all(key in table for key in MOSI_KEYS)
    assert (Path(row["run_dir"]) / "best.pt").is_file() and Path(row["run_dir"]).parent == trained
    assert row["config_hash"] in Path(row["run_dir"]).name

    assert main([*TRAIN, "--set", "mixer.threshold=0.3", "--out", str(trained), "--resume"]) == 0
    out = capsys.readouterr().out
    assert "already finished" in out and "synthetic demo data" in out
    assert "Has0_acc_2" in out and "train_seconds" in out
    assert len(read_results(trained / "results.csv")) == 1  # nothing appended twice


def test_an_interrupted_run_resumes_to_the_same_result(trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = read_results(trained / "results.csv").iloc[0]
    argv = [*TRAIN, "--set", "mixer.threshold=0.3", "--out", str(tmp_path)]
    save_epoch = msmix.train.trainer.Trainer._save_epoch

    def save_then_die(self, record) -> None:  # killed right after the first epoch's checkpoint
        save_epoch(self, record)
        raise KeyboardInterrupt

    monkeypatch.setattr(msmix.train.trainer.Trainer, "_save_epoch", save_then_die)
    assert main(argv) == 130
    assert not (tmp_path / "results.csv").exists()
    monkeypatch.undo()
    assert main([*argv, "--resume"]) == 0
    resumed = read_results(tmp_path / "results.csv")
    assert len(resumed) == 1
    for key in (*MOSI_KEYS, "epochs", "best_epoch", "config_hash"):
        assert resumed.iloc[0][key] == whole[key], key


def test_evaluate_scores_the_checkpoint_as_training_did(trained: Path, capsys: pytest.CaptureFixture) -> None:
    row = read_results(trained / "results.csv").iloc[0]
    capsys.readouterr()
    assert main(["evaluate", row["run_dir"], "toy", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and "test split (n=200)" in out
    header, values = out.splitlines()[-2:]
    printed = dict(zip(header.split(), map(float, values.split())))
    for key in MOSI_KEYS:
        assert printed[key] == pytest.approx(row[key], abs=1e-9), key


def test_evaluate_reads_the_data_as_the_run_did_from_the_checkpoint_alone(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "standardized"
    assert main([*TRAIN, "--set", "data_options.standardize=true", "--out", str(out)]) == 0
    row = read_results(out / "results.csv").iloc[0]
    (Path(row["run_dir"]) / "spec.json").unlink()  # the options must come from the checkpoint itself
    capsys.readouterr()
    assert main(["evaluate", row["run_dir"], "toy", "--device", "cpu"]) == 0
    header, values = capsys.readouterr().out.splitlines()[-2:]
    printed = dict(zip(header.split(), map(float, values.split())))
    for key in MOSI_KEYS:
        assert printed[key] == pytest.approx(row[key], abs=1e-9), key


def test_predict_writes_one_score_per_sample(trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    row = read_results(trained / "results.csv").iloc[0]
    target = tmp_path / "scores.csv"
    assert main(["predict", str(Path(row["run_dir"]) / "best.pt"), "toy", "--out", str(target)]) == 0
    scores = pd.read_csv(target)
    assert list(scores.columns) == ["id", "prediction", "label"] and len(scores) == 200
    assert scores["id"].is_unique
    mine = regression_metrics(scores["prediction"].to_numpy(np.float32), scores["label"].to_numpy(np.float32), "mosi")
    assert mine["MAE"] == pytest.approx(row["MAE"], abs=2e-4) and mine["Has0_acc_2"] == pytest.approx(row["Has0_acc_2"], abs=1e-4)
    capsys.readouterr()
    assert main(["predict", row["run_dir"], "toy", "--split", "valid"]) == 0
    assert len(pd.read_csv(io.StringIO(capsys.readouterr().out))) == 100


def test_sweep_dry_run_then_run_then_summary(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = tmp_path / "sweep.toml"
    config.write_text(
        'data = "toy"\nbackbones = ["lmf"]\nmixers = ["none", "mixup"]\nseeds = [1]\n'
        f'out_dir = "{tmp_path / "sweep"}"\n[train]\nmax_epochs = 1\n'
    )
    assert main(["sweep", str(config), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "2 runs in" in out and "0 done" in out and "2 to start" in out and not (tmp_path / "sweep").exists()
    assert main(["sweep", str(config), "--quiet"]) == 0
    assert len(read_results(tmp_path / "sweep" / "results.csv")) == 2
    capsys.readouterr()
    assert main(["sweep", str(config), "--dry-run"]) == 0
    assert "2 done" in capsys.readouterr().out


def test_sweep_stack_seeds_trains_the_seeds_of_a_configuration_together(tmp_path: Path) -> None:
    config = tmp_path / "sweep.toml"
    config.write_text('data = "toy"\nbackbones = ["lmf"]\nmixers = ["msmix"]\nseeds = [1, 2, 3]\n'
                      '[train]\nmax_epochs = 1\n')
    assert main(["sweep", str(config), "--out", str(tmp_path / "sweep"), "--stack-seeds", "--quiet"]) == 0
    table = read_results(tmp_path / "sweep" / "results.csv")
    assert table["seed"].tolist() == [1, 2, 3] and (table["stacked_seeds"] == 3).all()


def test_summary_prints_cells_and_paired_comparison(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "results.csv"
    for mixer in ("none", "msmix"):
        for seed in range(5):
            metrics = {k: float(rng.uniform(0.3, 0.8)) for k in MOSI_KEYS}
            append_row(path, {"data": "toy", "backbone": "tfn", "mixer": mixer, "seed": seed, **metrics, "config_hash": f"{mixer}{seed}"})
    assert main(["summary", str(path), "--percent", "--metric", "MAE", "--metric", "Corr", "--wilcoxon"]) == 0
    out = capsys.readouterr().out
    table = read_results(path)
    mae = 100 * table[table["mixer"] == "none"]["MAE"]
    assert f"{mae.mean():.4f} ± {mae.std(ddof=1):.4f}" in out
    assert "each mixer minus 'none'" in out and "95% CI" in out and "wilcoxon_p" in out
    assert main(["summary", str(path), "--baseline", "powmix"]) == 0
    assert "no paired comparison" in capsys.readouterr().out


def test_summary_of_one_run_per_cell_prints_no_nan(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "results.csv"
    for mixer, value in (("none", 0.8), ("msmix", 0.815)):
        append_row(path, {"data": "toy", "backbone": "tfn", "mixer": mixer, "seed": 1111,
                          **{k: value for k in MOSI_KEYS}, "config_hash": mixer})
    assert main(["summary", str(path), "--percent", "--metric", "Has0_acc_2", "--wilcoxon"]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out.lower()
    cells = out.split("\n\n")[0]
    assert "81.5000" in cells and "±" not in cells.split(":", 1)[1] and "one run has no spread" in cells
    paired = out.split("each mixer minus 'none'")[1].splitlines()
    header, row = paired[1].split(), paired[2].split()
    assert header[4:8] == ["n", "mean_diff", "95%", "CI"] and row[4:] == ["1", "+1.5000", "n/a", "n/a", "1.0000"]
    assert "2+ seeds" in out


def test_inspect_says_the_demo_data_is_synthetic(capsys: pytest.CaptureFixture) -> None:
    assert main(["inspect", "toy"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("SYNTHETIC demo data")
    assert "train" in out and "valid" in out and "test" in out and "label_mean" in out and "problems found" in out


def test_list_names_backbones_and_mixers(capsys: pytest.CaptureFixture) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "tfn" in out and "lmf" in out and "msmix" in out and "none" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([*TRAIN[:-1], "--backbone", "gpt"], "unknown backbone 'gpt'; available:"),
        ([*TRAIN, "--mixer", "cutmix"], "unknown mixer 'cutmix'; available:"),
        ([*TRAIN, "--set", "threshold=0.3"], "must be <group>.<name>"),
        ([*TRAIN, "--set", "mixer.threshold"], "--set expects key=value"),
        ([*TRAIN, "--set", "train.seed=3"], "set the seed with --seed"),
        ([*TRAIN, "--set", "model.nope=1"], "bad model setting"),
        ([*TRAIN, "--set", "mixer.nope=1"], "bad mixer setting"),
        ([*TRAIN, "--set", "train.lr=-1"], "bad train setting"),
        ([*TRAIN, "--resume"], "--resume needs --out"),
        ([*TRAIN, "--train-fraction", "0"], "--train-fraction must be a number in (0, 1]"),
        ([*TRAIN, "--train-fraction", "1.5"], "--train-fraction must be a number in (0, 1]"),
        ([*TRAIN, "--data", "toy:huge"], "cannot load data"),
        (["summary", "missing.csv"], "does not exist"),
        (["sweep", "missing.toml"], "does not exist"),
        (["evaluate", "no/such/run", "toy"], "no checkpoint at"),
    ],
)
def test_mistakes_print_one_line_and_exit_2(argv: list[str], expected: str, capsys: pytest.CaptureFixture) -> None:
    _one_line_error(capsys, argv, expected)


def test_debug_shows_the_traceback_of_a_mistake(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = str(tmp_path / "missing.csv")
    monkeypatch.delenv("MSMIX_DEBUG", raising=False)
    _one_line_error(capsys, ["summary", missing], "does not exist")
    with pytest.raises(FileNotFoundError, match="missing.csv does not exist"):
        main(["--debug", "summary", missing])
    monkeypatch.setenv("MSMIX_DEBUG", "1")
    with pytest.raises(FileNotFoundError, match="missing.csv does not exist"):
        main(["summary", missing])
    monkeypatch.setenv("MSMIX_DEBUG", "0")
    _one_line_error(capsys, ["summary", missing], "does not exist")


def test_the_help_says_how_to_see_a_traceback(capsys: pytest.CaptureFixture) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--debug" in out and "MSMIX_DEBUG=1" in out and "status 2" in out


def test_train_fraction_lands_in_the_spec_and_the_row(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from msmix.cli import build_parser
    from msmix.cli.train import _spec_from_args

    def spec(*extra: str):
        return _spec_from_args(build_parser().parse_args([*TRAIN, *extra]))

    assert spec("--train-fraction", "0.25").train == {"max_epochs": 2, "train_fraction": 0.25}
    assert spec("--train-fraction", "1").config_hash() == spec().config_hash(), "the whole split is the default"
    assert spec("--set", "train.train_fraction=0.5").train["train_fraction"] == 0.5
    assert main(["train", "--data", "toy", "--backbone", "lmf", "--mixer", "none", "--epochs", "1", "--threads", "1",
                 "--train-fraction", "0.25", "--quiet", "--out", str(tmp_path)]) == 0
    assert "(25 % of its train split)" in capsys.readouterr().out
    (row,) = read_results(tmp_path / "results.csv").to_dict("records")
    assert row["train_fraction"] == 0.25 and row["train.train_fraction"] == 0.25 and row["epochs"] == 1
    assert list(row).index("train_fraction") == list(row).index("seed") + 1


def test_bad_data_files_are_data_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    broken = tmp_path / "broken.pkl"
    broken.write_bytes(pickle.dumps({"train": {"id": np.array(["a"])}}))
    _one_line_error(capsys, ["inspect", str(broken)], "broken.pkl")
    _one_line_error(capsys, [*TRAIN, "--data", str(broken)], "broken.pkl")
    _one_line_error(capsys, ["inspect", str(tmp_path / "absent.pkl")], "absent.pkl")


def test_bad_sweep_configs_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = tmp_path / "s.toml"
    config.write_text('data = "toy"\nbackbones = ["tfn"]\nmixers = ["none"]\nout_dir = "x"\n[mixer.msmix]\nthreshold = 0.2\n')
    _one_line_error(capsys, ["sweep", str(config), "--dry-run"], "not among mixers")
    config.write_text('data = "toy"\nbackbones = ["tfn"]\nmixers = ["msmix"]\n[mixer.msmix]\ntreshold = 0.2\n')
    _one_line_error(capsys, ["sweep", str(config), "--out", str(tmp_path / "o"), "--dry-run"], "bad mixer setting")
    _one_line_error(capsys, ["sweep", str(config), "--dry-run"], "give --out DIR")


def test_every_command_has_help(capsys: pytest.CaptureFixture) -> None:
    for command in ("train", "sweep", "summary", "inspect", "evaluate", "predict", "list"):
        assert main([command, "--help"]) == 0
        assert f"usage: msmix {command}" in capsys.readouterr().out
    assert main([]) == 2 and "required" in capsys.readouterr().err


def test_python_dash_m_runs_the_command() -> None:
    done = subprocess.run([sys.executable, "-m", "msmix.cli", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "usage: msmix" in done.stdout and "sweep" in done.stdout


def test_train_threads_option_sets_torch_threads(capsys):
    assert main(["train", "--data", "toy", "--backbone", "lmf", "--mixer", "none", "--epochs", "1",
                 "--threads", "1", "--quiet"]) == 0
    assert torch.get_num_threads() == 1
    assert main(["train", "--data", "toy", "--threads", "0", "--quiet"]) == 2
    assert "--threads must be at least 1" in capsys.readouterr().err


def test_train_without_threads_takes_the_idle_cores_and_says_so(capsys, monkeypatch):
    import msmix.train.threads as threads

    monkeypatch.setattr(threads, "usable_cores", lambda: 3)
    monkeypatch.setattr(threads, "busy_cores", lambda: 1)
    assert main(["train", "--data", "toy", "--backbone", "lmf", "--mixer", "none", "--epochs", "1"]) == 0
    assert torch.get_num_threads() == 2
    assert "torch threads: 2 (3 cores, 1 busy with other work; --threads N to choose)" in capsys.readouterr().err


def test_a_text_encoder_that_cannot_run_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from msmix.testing import write_tiny_bert

    absent = tmp_path / "no-bert"
    _one_line_error(capsys, [*TRAIN, "--backbone", "misa", "--set", f"model.text_encoder={absent}"], "no-bert")
    bert = write_tiny_bert(tmp_path / "bert")  # the demo data carries no text_bert tokens
    _one_line_error(capsys, [*TRAIN, "--backbone", "misa", "--set", f"model.text_encoder={bert}"], "needs the data set's 'text_bert'")
