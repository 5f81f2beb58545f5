"""Bad checkpoints: empty, truncated, text, code-running or memory-bombing pickles, meta that does not fit
its weights, diverged weights, and run folders that cannot be resumed as asked.

Every file is made here from one real 1-epoch LMF run on the demo data (trained once per session):
copied, then cut, rewritten or replaced. ``msmix evaluate`` / ``predict`` meet the files directly,
``msmix train --resume`` meets them inside the run folder it would continue.
"""

from __future__ import annotations

import atexit
import collections
import functools
import io
import os
import pickle
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from msmix.train import RunSpec, run, run_dir_of
from corpus import Case, check, parametrize

TRAIN = ["train", "--data", "toy", "--backbone", "lmf", "--mixer", "none", "--epochs", "1", "--quiet", "--threads", "1"]
SPEC = RunSpec(data="toy", backbone="lmf", mixer="none", train={"max_epochs": 1})  # what TRAIN trains
RUN_FILES = ("best.pt", "last.pt", "history.json", "spec.json")


@functools.cache
def trained_run() -> Path:
    """The run folder of one 1-epoch LMF run of SPEC, trained once per session and removed at exit."""
    out = Path(tempfile.mkdtemp(prefix="msmix-corpus-checkpoints-"))
    atexit.register(shutil.rmtree, out, True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return Path(run(SPEC, out_dir=out, progress=False)["run_dir"])
    finally:
        torch.set_num_threads(threads)


def copied_run(folder: Path, spec: RunSpec = SPEC) -> Path:
    """The trained run's checkpoints copied to ``spec``'s run folder in ``folder``, unfinished (no result.json)."""
    target = run_dir_of(spec, folder)
    target.mkdir(parents=True)
    for name in RUN_FILES:
        shutil.copy(trained_run() / name, target / name)
    return target


def rewritten(folder: Path, name: str, change: Callable[[dict[str, Any]], None], spec: RunSpec = SPEC) -> Path:
    """A copied run whose checkpoint ``name`` was loaded, changed by ``change`` and saved again; its path."""
    path = copied_run(folder, spec) / name
    state = torch.load(path, weights_only=True)
    change(state)
    torch.save(state, path)
    return path


def replaced(folder: Path, content: bytes, name: str = "best.pt") -> Path:
    """A copied run whose checkpoint ``name`` holds ``content`` instead."""
    path = copied_run(folder) / name
    path.write_bytes(content)
    return path


def evaluate(path: Path) -> list[str]:
    return ["evaluate", str(path), "toy", "--device", "cpu"]


def resume(folder: Path, *more: str, backbone: str = "lmf") -> list[str]:
    """``msmix train --resume`` of SPEC (with another ``backbone`` or ``more`` options) into ``folder``."""
    train = [backbone if arg == "lmf" else arg for arg in TRAIN]
    return [*train, *more, "--out", str(folder), "--resume"]


def resumed_after(prepare: Callable[[Path], Any], *more: str) -> Callable[[Path], list[str]]:
    """A case that prepares the case's folder (a run folder of SPEC, changed), then resumes SPEC there."""

    def make(folder: Path) -> list[str]:
        prepare(folder)
        return resume(folder, *more)

    return make


class RunsCode:
    """Pickles as a call of ``os.system``: what a hostile checkpoint would carry."""

    def __init__(self, target: Path) -> None:
        self.command = f"touch {target}"

    def __reduce__(self) -> tuple[Any, ...]:
        return os.system, (self.command,)


class AllocatesATerabyte:
    """Pickles as ``bytearray(10**12)``: a memory bomb through a constructor torch's loader allows."""

    def __reduce__(self) -> tuple[Any, ...]:
        return bytearray, (10**12,)


def hostile(folder: Path, payload: Any) -> Path:
    path = copied_run(folder) / "best.pt"
    torch.save({"format": 1, "payload": payload}, path)
    return path


def storage_declared_huge(folder: Path) -> Path:
    """A torch.save archive whose one tensor claims a storage of 10^12 floats, backed by 16 bytes."""

    class Declared:
        pass

    declared = Declared()

    class Tensorish:
        def __reduce__(self) -> tuple[Any, ...]:
            return torch._utils._rebuild_tensor_v2, (declared, 0, (4,), (1,), False, collections.OrderedDict())

    class Writer(pickle.Pickler):
        def persistent_id(self, obj: Any) -> Any:
            return ("storage", torch.FloatStorage, "0", "cpu", 10**12) if obj is declared else None

    buffer = io.BytesIO()
    Writer(buffer, protocol=2).dump({"format": 1, "weights": Tensorish()})
    path = copied_run(folder) / "best.pt"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", buffer.getvalue())
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/version", "3\n")
        archive.writestr("archive/data/0", bytes(16))
    return path


def deflated(folder: Path) -> Path:
    """The trained best.pt, saved again (with checksums) and its records compressed: a zip torch.save never writes."""
    path = copied_run(folder) / "best.pt"
    plain = folder / "plain.pt"
    torch.save(torch.load(path, weights_only=True), plain)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
    return path


def zip_of_notes(folder: Path) -> Path:
    path = copied_run(folder) / "best.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "a zip archive, but not of a checkpoint\n")
    return path


def all_nan(state: dict[str, Any]) -> None:
    for name, tensor in state["model"].items():
        if tensor.is_floating_point():
            state["model"][name] = torch.full_like(tensor, float("nan"))


def stride_zero(state: dict[str, Any]) -> None:
    state["model"]["fusion_weights"] = torch.zeros(1).expand(9, 100_000, 100_000)


def meta_set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    """A change that sets ``state["meta"][path...]`` to ``value``."""

    def change(state: dict[str, Any]) -> None:
        where = state["meta"]
        for key in path[:-1]:
            where = where[key]
        where[path[-1]] = value

    return change


def without(key: str, within: str | None = None) -> Callable[[dict[str, Any]], None]:
    """A change that deletes ``state[key]`` (``state[within][key]`` with ``within``)."""

    def change(state: dict[str, Any]) -> None:
        del (state[within] if within else state)[key]

    return change


def resumed_in_folder_of(other: RunSpec, *more: str) -> Callable[[Path], list[str]]:
    """A case: the trained run's checkpoints in ``other``'s run folder, resumed as ``other`` (``more``: its options)."""

    def make(folder: Path) -> list[str]:
        copied_run(folder, other)
        return resume(folder, *more, backbone=other.backbone)

    return make


def other_spec(train: dict[str, Any], backbone: str = "lmf") -> RunSpec:
    return RunSpec(data="toy", backbone=backbone, mixer="none", train={"max_epochs": 1, **train})


def only_truncated_last(folder: Path) -> Path:
    """A run folder with only a truncated last.pt (evaluate falls back to it without a best.pt)."""
    last = replaced(folder, (trained_run() / "last.pt").read_bytes()[:100_000], "last.pt")
    (last.parent / "best.pt").unlink()
    return last.parent


def saved(folder: Path, content: Any) -> Path:
    path = copied_run(folder) / "best.pt"
    torch.save(content, path)
    return path


def weight_as_text(state: dict[str, Any]) -> None:
    state["model"]["fusion_bias"] = "0.5"


def tfn_meta(state: dict[str, Any]) -> None:
    state["meta"]["backbone"] = "tfn"
    state["meta"]["model_config"] = {}


def with_history(folder: Path, text: str) -> Path:
    run_folder = copied_run(folder)
    (run_folder / "history.json").write_text(text)
    return run_folder / "best.pt"


def code_in_last(folder: Path) -> None:
    torch.save({"format": 1, "payload": RunsCode(folder / "pwned")}, copied_run(folder) / "last.pt")


def best_out_of_step(folder: Path) -> None:
    """last.pt says epoch 2 (its best: 1); best.pt says epoch 5: a folder mixed from two runs."""
    run_folder = copied_run(folder)
    for name, epoch in (("last.pt", 2), ("best.pt", 5)):
        state = torch.load(run_folder / name, weights_only=True)
        state["epoch"] = epoch
        torch.save(state, run_folder / name)


BACKBONES = "almt, glomo, lmf, misa, mult, tfn"
RUN = r"lmf-none-toy-s1111-[0-9a-f]{12}"
CK = r"msmix evaluate: error: checkpoint {dir}/" + RUN
TRAIN_CK = r"msmix train: error: checkpoint {dir}/" + RUN
OTHER_RUN = (r"msmix train: error: cannot resume: {dir} has no run of this configuration, and its unfinished run "
             + RUN + " differs in ")

CASES: list[Case] = [
    Case("empty_best_pt", lambda d: evaluate(replaced(d, b"")),
         CK + r"/best\.pt: the file is empty \(expected a zip archive written by torch\.save\)"),
    Case("text_best_pt", lambda d: evaluate(replaced(d, b"epoch,loss\n1,0.5\n")),
         CK + r"/best\.pt: not a zip archive written by torch\.save \(found 17 bytes of text\)"),
    Case("binary_junk_best_pt", lambda d: evaluate(replaced(d, bytes(range(256)) * 4)),
         CK + r"/best\.pt: not a zip archive written by torch\.save \(found 1024 bytes of another format\)"),
    Case("truncated_best_pt", lambda d: evaluate(replaced(d, (trained_run() / "best.pt").read_bytes()[:50_000])),
         CK + r"/best\.pt: the zip archive is truncated or damaged \(50000 bytes, no readable directory\)"),
    Case("truncated_last_pt_only", lambda d: evaluate(only_truncated_last(d)),
         CK + r"/last\.pt: the zip archive is truncated or damaged \(100000 bytes, no readable directory\)"),
    Case("deflated_archive", lambda d: evaluate(deflated(d)),
         CK + r"/best\.pt: its data\.pkl is compressed \(expected it stored as torch\.save stores it\)"),
    Case("zip_without_data_pkl", lambda d: evaluate(zip_of_notes(d)),
         CK + r"/best\.pt: not a torch\.save archive \(expected one data\.pkl in it\)"),
    Case("pickle_runs_os_system", lambda d: evaluate(hostile(d, RunsCode(d / "pwned"))),
         CK + r"/best\.pt: its pickle calls (posix|os|nt)\.system, which an msmix checkpoint never does "
         r"\(it holds tensors and plain values only\); refused without loading"),
    Case("pickle_bytearray_bomb", lambda d: evaluate(hostile(d, AllocatesATerabyte())),
         CK + r"/best\.pt: its pickle calls builtins\.bytearray, which an msmix checkpoint never does "
         r"\(it holds tensors and plain values only\); refused without loading"),
    Case("stride_zero_tensor_bomb", lambda d: evaluate(rewritten(d, "best.pt", stride_zero)),
         CK + r"/best\.pt: the tensor at \['model'\]\['fusion_weights'\] declares 9 x 100000 x 100000 values "
         r"over 4 stored bytes \(expected a tensor backed by its own 360000000000 bytes\)"),
    Case("storage_declared_1e12", lambda d: evaluate(storage_declared_huge(d)),
         CK + r"/best\.pt: cannot be loaded: record size \(16 bytes\) does not match expected size "
         r"\(4000000000000 bytes = 4000000000000 elements \* 1 bytes/element\) for dtype Byte"),
    Case("not_a_dict", lambda d: evaluate(saved(d, [1, 2, 3])),
         CK + r"/best\.pt: not an msmix checkpoint \(expected format 1, found 'list'\)"),
    Case("no_format", lambda d: evaluate(rewritten(d, "best.pt", without("format"))),
         CK + r"/best\.pt: not an msmix checkpoint \(expected format 1, found None\)"),
    Case("no_meta", lambda d: evaluate(rewritten(d, "best.pt", without("meta"))),
         CK + r"/best\.pt: has no 'meta' \(expected the parts \['epoch', 'meta', 'mixer', 'model'\]\)"),
    Case("meta_without_spec", lambda d: evaluate(rewritten(d, "best.pt", without("spec", "meta"))),
         CK + r"/best\.pt: meta has no 'spec' \(expected the parts \['backbone', 'data_source', 'mixer', "
         r"'mixer_config', 'model_config', 'spec', 'train_config'\]\)"),
    Case("weight_not_a_tensor", lambda d: evaluate(rewritten(d, "best.pt", weight_as_text)),
         CK + r"/best\.pt: model weight 'fusion_bias' is a str \(expected a tensor\)"),
    Case("unknown_backbone", lambda d: evaluate(rewritten(d, "best.pt", meta_set(("backbone",), "nosuch"))),
         CK + rf"/best\.pt: names backbone 'nosuch' \(expected one of {BACKBONES}\)"),
    Case("wrong_backbone_for_the_weights", lambda d: evaluate(rewritten(d, "best.pt", tfn_meta)),
         CK + r"/best\.pt: its model weights do not fit backbone tfn with its stored settings: "
         r"\d+ missing \(e\.g\. '[\w.]+'\), \d+ not of this model \(e\.g\. '[\w.]+'\)"),
    Case("wrong_backbone_with_its_config", lambda d: evaluate(rewritten(d, "best.pt", meta_set(("backbone",), "tfn"))),
         CK + r"/best\.pt: meta 'model_config' is not valid for tfn \+ none: .*unknown settings \[.*\]; known: \[.*\]"),
    Case("unknown_model_config_key", lambda d: evaluate(rewritten(d, "best.pt", meta_set(("model_config", "bogus"), 1))),
         CK + r"/best\.pt: meta 'model_config' is not valid for lmf \+ none: .*unknown settings \['bogus'\]; known: \[.*\]"),
    Case("unknown_train_config_key", lambda d: evaluate(rewritten(d, "best.pt", meta_set(("train_config", "bogus"), 1))),
         CK + r"/best\.pt: meta 'train_config' is not valid for lmf \+ none: TrainConfig: unknown settings "
         r"\['bogus'\]; known: \[.*\]"),
    Case("hidden_size_1e6_memory_bomb",
         lambda d: evaluate(rewritten(d, "best.pt", meta_set(("model_config", "text_hidden"), 10**6))),
         CK + r"/best\.pt: its model weight 'encoders\.text\.rnn\.weight_ih_l0' is 512 x 768 in the file, but backbone "
         r"lmf with its stored settings has 4000000 x 768 there \(its stored settings do not match its weights\)"),
    Case("hidden_size_1e9_memory_bomb",
         lambda d: evaluate(rewritten(d, "best.pt", meta_set(("model_config", "text_hidden"), 10**9))),
         CK + r"/best\.pt: its stored settings describe a model that cannot be built: Storage size calculation "
         r"overflowed with sizes=\[4000000000, 1000000000\]"),
    Case("feature_size_1e9_memory_bomb",
         lambda d: evaluate(rewritten(d, "best.pt", meta_set(("spec", "dims", "text"), 10**9))),
         CK + r"/best\.pt: its model weight '[\w.]+' is 512 x 768 in the file, but backbone lmf with its stored "
         r"settings has 512 x 1000000000 there \(its stored settings do not match its weights\)"),
    Case("diverged_all_nan_weights", lambda d: evaluate(rewritten(d, "best.pt", all_nan)),
         CK + r"/best\.pt: model weight 'fusion_weights' holds 3 NaN or infinite values \(expected finite weights; "
         r"the run diverged before this file was written\)"),
    Case("diverged_weights_predict",
         lambda d: ["predict", str(rewritten(d, "best.pt", all_nan)), "toy", "--device", "cpu"],
         r"msmix predict: error: checkpoint {dir}/" + RUN + r"/best\.pt: model weight 'fusion_weights' holds 3 NaN "
         r"or infinite values \(expected finite weights; the run diverged before this file was written\)"),
    Case("predict_out_is_a_folder", lambda d: ["predict", str(copied_run(d)), "toy", "--device", "cpu", "--out", str(d)],
         r"msmix predict: error: cannot write the scores to {dir}: Is a directory"),
    Case("predict_out_below_a_file",
         lambda d: ["predict", str(copied_run(d)), "toy", "--device", "cpu", "--out", str(run_dir_of(SPEC, d) / "best.pt" / "s.csv")],
         r"msmix predict: error: cannot write the scores to {dir}/" + RUN + r"/best\.pt/s\.csv: File exists"),
    Case("history_json_not_json", lambda d: evaluate(with_history(d, "not json")),
         CK + r"/history\.json: its history is not a list of epoch records: Expecting value: line 1 column 1 \(char 0\)"),
    Case("history_json_not_records", lambda d: evaluate(with_history(d, '[{"epoch": 1}]')),
         CK + r"/history\.json: its history is not a list of epoch records: .*missing \d+ required positional arguments.*"),
    Case("resume_truncated_last_pt",
         resumed_after(lambda d: replaced(d, (trained_run() / "last.pt").read_bytes()[:100_000], "last.pt")),
         TRAIN_CK + r"/last\.pt: the zip archive is truncated or damaged \(100000 bytes, no readable directory\)"),
    Case("resume_empty_last_pt", resumed_after(lambda d: replaced(d, b"", "last.pt")),
         TRAIN_CK + r"/last\.pt: the file is empty \(expected a zip archive written by torch\.save\)"),
    Case("resume_diverged_last_pt", resumed_after(lambda d: rewritten(d, "last.pt", all_nan)),
         TRAIN_CK + r"/last\.pt: model weight 'fusion_weights' holds 3 NaN or infinite values \(expected finite "
         r"weights; the run diverged before this file was written\)"),
    Case("resume_last_pt_without_optimizer", resumed_after(lambda d: rewritten(d, "last.pt", without("optimizer"))),
         TRAIN_CK + r"/last\.pt: has no 'optimizer' \(expected the parts \[.*'optimizer'.*\]\)"),
    Case("resume_last_pt_running_code", resumed_after(code_in_last),
         TRAIN_CK + r"/last\.pt: its pickle calls (posix|os|nt)\.system, which an msmix checkpoint never does "
         r"\(it holds tensors and plain values only\); refused without loading"),
    Case("resume_best_pt_of_another_epoch", resumed_after(best_out_of_step),
         TRAIN_CK + r"/best\.pt: holds epoch 5, but last\.pt beside it says the best epoch is 1; the run folder is "
         r"inconsistent \(start afresh without resuming\)"),
    Case("resume_into_folder_of_another_backbone",
         resumed_in_folder_of(other_spec({}, "mult")),
         r"msmix train: error: checkpoint {dir}/mult-none-toy-s1111-[0-9a-f]{12}/last\.pt: was trained with backbone "
         r"'lmf', not 'mult'; resume it with the same one"),
    Case("resume_into_folder_of_another_lr",
         resumed_in_folder_of(other_spec({"lr": 0.002}), "--set", "train.lr=0.002"),
         TRAIN_CK + r"/last\.pt: was trained with other settings \(lr: 0\.001 -> 0\.002\); resume with the same ones"),
    Case("resume_after_kill_with_other_lr", resumed_after(copied_run, "--set", "train.lr=0.002"),
         OTHER_RUN + r"train\.lr 0\.001 -> 0\.002, which a resumed run cannot change; resume with its settings, "
         r"or leave out --resume to train this configuration from the start"),
    Case("resume_after_kill_with_other_model_setting", resumed_after(copied_run, "--set", "model.rank=4"),
         OTHER_RUN + r"model\.rank default -> 4, which a resumed run cannot change; resume with its settings, "
         r"or leave out --resume to train this configuration from the start"),
]


@parametrize(CASES)
def test_case_fails_with_one_clear_line(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    check(case, tmp_path, capsys)


def test_a_code_running_checkpoint_runs_no_code(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from msmix.cli import main

    assert main(evaluate(hostile(tmp_path / "a", RunsCode(tmp_path / "pwned")))) == 2
    code_in_last(tmp_path / "b")
    assert main(resume(tmp_path / "b")) == 2
    assert capsys.readouterr().err.count("refused without loading") == 2
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "b" / "pwned").exists()


def test_a_checkpoint_with_a_text_encoder_still_loads(tmp_path: Path) -> None:
    """The fit of the weights is checked on the ``meta`` device, where a transformers encoder is built
    from its config alone; a good checkpoint of such a model loads with its weights."""
    from msmix.mixing.base import mixer_class
    from msmix.models.base import backbone_class
    from msmix.testing import backbone_spec, write_tiny_bert
    from msmix.train import TrainConfig, build, load_checkpoint
    from msmix.train.checkpoint import save_checkpoint
    from msmix.train.resolve import plain

    spec, misa, none = backbone_spec("mosi"), backbone_class("misa"), mixer_class("none")
    config = misa.make_config(spec.kind, {"text_encoder": write_tiny_bert(tmp_path / "bert")})
    model, mixer = build(misa, config, none, none.make_config({}), spec)
    meta = {"backbone": "misa", "mixer": "none", "model_config": plain(config), "mixer_config": {}, "spec": spec.to_dict(),
            "train_config": TrainConfig().to_dict(), "data_source": "tokens.pkl"}
    save_checkpoint(tmp_path / "best.pt", {"format": 1, "meta": meta, "epoch": 1, "model": model.state_dict(),
                                           "mixer": mixer.state_dict(), "history": []})
    loaded = load_checkpoint(tmp_path / "best.pt")
    assert all(torch.equal(loaded.model.state_dict()[k], v) for k, v in model.state_dict().items())
