"""Every backbone trains with its published settings on files of the real MOSI, MOSEI and CH-SIMS
shapes (aligned and unaligned, a few samples of random values), with MS-Mix, and with every mixer on
MOSI's aligned shapes and on the synthetic demo set: one epoch through ``msmix.train.run``, ending in
finite test metrics."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from data.mmsa_files import build_mmsa, write_pickle
from msmix.mixing import available as mixers
from msmix.models import available as backbones
from msmix.train.run import run
from msmix.train.run_spec import RunSpec

SHAPES = [("mosi", "aligned"), ("mosi", "unaligned"), ("mosei", "aligned"), ("mosei", "unaligned"), ("sims", "unaligned")]
SIZES = (6, 4, 4)


@pytest.fixture(scope="module")
def real_shape_files(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    folder = tmp_path_factory.mktemp("real_shapes")
    return {
        (kind, layout): write_pickle(folder / f"{kind}_{layout}.pkl", build_mmsa(kind, layout, seed=3, sizes=SIZES))
        for kind, layout in SHAPES
    }


def one_epoch(data: str | Path, backbone: str, mixer: str, **train) -> dict:
    """The results row of one epoch of ``backbone`` with ``mixer`` on ``data`` (a file, or ``"toy"``)."""
    spec = RunSpec(data=str(data), backbone=backbone, mixer=mixer, seed=0, train={"max_epochs": 1, **train})
    return run(spec, progress=False)


def assert_finite_metrics(row: dict, what: str) -> None:
    """One epoch ran and was scored (Corr may be NaN: one epoch can predict a constant on 4 test samples)."""
    assert row["epochs"] == 1, what
    assert "Corr" in row and math.isfinite(row["MAE"]), f"{what}: MAE {row.get('MAE')}"


@pytest.mark.parametrize("backbone", backbones())
@pytest.mark.parametrize(("kind", "layout"), SHAPES)
def test_each_backbone_trains_with_msmix_on_real_shapes(real_shape_files, backbone: str, kind: str, layout: str) -> None:
    row = one_epoch(real_shape_files[(kind, layout)], backbone, "msmix", batch_size=4)
    assert_finite_metrics(row, f"{backbone} on {kind} {layout}")


@pytest.mark.parametrize("backbone", backbones())
@pytest.mark.parametrize("mixer", [m for m in mixers() if m != "msmix"])
def test_each_backbone_trains_with_every_mixer(real_shape_files, backbone: str, mixer: str) -> None:
    row = one_epoch(real_shape_files[("mosi", "aligned")], backbone, mixer, batch_size=4)
    assert_finite_metrics(row, f"{backbone} with {mixer}")


@pytest.mark.parametrize("backbone", backbones())
@pytest.mark.parametrize("mixer", mixers())
def test_each_backbone_trains_with_every_mixer_on_the_demo_data(backbone: str, mixer: str) -> None:
    assert_finite_metrics(one_epoch("toy", backbone, mixer), f"{backbone} with {mixer} on the demo data")
