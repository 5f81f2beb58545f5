"""Bad training requests: non-finite or huge learning rates, features that overflow, seeds out of range,
a device that is not there, and output folders that cannot be written.

Each fails with one line: settings before anything is loaded, a diverging run at its first
non-finite batch (naming the epoch and batch, and what was kept).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from corpus import Case, check, parametrize
from msmix.data.toy import toy_mmsa_dict

TRAIN = ["train", "--data", "toy", "--backbone", "lmf", "--mixer", "none", "--epochs", "1", "--quiet", "--threads", "1"]
BAD_LR = r"msmix train: error: lmf \+ none: bad train setting: TrainConfig\.lr must be a finite number, got "
DIVERGED = r"msmix train: error: training diverged: the training loss of epoch 1, batch {batch} is NaN or infinite; "
HINT = r"; lower the learning rate \(train\.lr\) or check the features for huge or non-finite values"
RUN = r"lmf-none-toy-s1111-[0-9a-f]{12}"


def train(*more: str) -> list[str]:
    return [*TRAIN, *more]


def huge_features(folder: Path, modality: str = "text") -> Path:
    """The demo data as an MMSA pickle whose ``modality`` features are all +-3e38: finite, near float32's top."""
    data = toy_mmsa_dict()
    for split in data.values():
        split[modality] = (np.where(split[modality] >= 0, 1, -1) * 3e38).astype(np.float32)
    path = folder / "huge.pkl"
    with path.open("wb") as f:
        pickle.dump(data, f, protocol=4)
    return path


def a_file(folder: Path) -> Path:
    path = folder / "out.txt"
    path.write_text("not a folder\n")
    return path


CASES: list[Case] = [
    Case("lr_1e400", lambda d: train("--set", "train.lr=1e400"), BAD_LR + "inf"),
    Case("lr_infinity", lambda d: train("--set", "train.lr=Infinity"), BAD_LR + "inf"),
    Case("lr_nan", lambda d: train("--set", "train.lr=nan"),
         r"msmix train: error: lmf \+ none: bad train setting: TrainConfig\.lr must be a positive number, got 'nan'"),
    Case("weight_decay_1e400", lambda d: train("--set", "train.weight_decay=1e400"),
         r"msmix train: error: lmf \+ none: bad train setting: TrainConfig\.weight_decay must be a finite number, got inf"),
    Case("lr_1e30_diverges", lambda d: train("--set", "train.lr=1e30"),
         DIVERGED.format(batch=r"\d+") + r"nothing was saved \(no run folder\)" + HINT),
    Case("lr_1e30_diverges_with_out", lambda d: train("--set", "train.lr=1e30", "--out", str(d)),
         DIVERGED.format(batch=r"\d+") + r"no epoch had finished, so {dir}/" + RUN + " holds no checkpoint" + HINT),
    Case("text_features_3e38", lambda d: ["train", "--data", str(huge_features(d)), "--backbone", "lmf", "--mixer", "none",
                                          "--epochs", "1", "--quiet", "--threads", "1"],
         DIVERGED.format(batch="1") + r"nothing was saved \(no run folder\)" + HINT),
    Case("seed_2_pow_64", lambda d: train("--seed", str(2**64)),
         r"msmix train: error: --seed must be an integer in \[0, 9223372036854775807\], got 18446744073709551616"),
    Case("seed_negative", lambda d: train("--seed", "-1"),
         r"msmix train: error: --seed must be an integer in \[0, 9223372036854775807\], got -1"),
    Case("out_is_a_file", lambda d: train("--out", str(a_file(d))),
         r"msmix train: error: output folder {dir}/out\.txt is a file \(expected a folder, or a path that does not exist yet\)"),
    Case("out_below_a_file", lambda d: train("--out", str(a_file(d) / "runs")),
         r"msmix train: error: cannot create the output folder {dir}/out\.txt/runs: Not a directory"),
    Case("resume_without_out", lambda d: train("--resume"),
         r"msmix train: error: --resume needs --out DIR, the folder of the run to continue"),
]
if not torch.cuda.is_available():
    NO_CUDA = (r"msmix train: error: device 'cuda' was asked for, but this PyTorch \(.+\) sees no CUDA device; "
               r"use device 'cpu' or 'auto'")
    CASES += [
        Case("device_cuda_without_cuda", lambda d: train("--device", "cuda"), NO_CUDA),
        Case("set_device_cuda_without_cuda", lambda d: train("--set", "train.device=cuda"), NO_CUDA),
    ]


@pytest.fixture(autouse=True)
def keep_torch_threads() -> Iterator[None]:
    """``msmix train --threads 1`` sets torch's thread count for the process; the tests after it keep theirs."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@parametrize(CASES)
def test_case_fails_with_one_clear_line(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    check(case, tmp_path, capsys)
