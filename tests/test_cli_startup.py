"""The ``msmix`` command answers ``--help``, ``list`` and argument errors without loading torch.

Importing torch (with pandas and scikit-learn) takes seconds, more under load; these commands
need none of it. Each case runs in a fresh interpreter, since this one has torch loaded already.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import msmix.data.spec
import msmix.mixing
import msmix.models
from msmix.cli import catalog

HEAVY = ("torch", "pandas", "sklearn", "scipy")
COMMANDS = ("train", "sweep", "summary", "inspect", "evaluate", "predict", "list")

_PROBE = """
import sys
from msmix.cli import main
status = main(sys.argv[1:])
print("exit", status)
print("loaded", *[name for name in {heavy!r} if name in sys.modules])
"""


def _heavy_modules_loaded(argv: list[str]) -> tuple[int, list[str], str]:
    """Run ``msmix ARGV`` in a fresh interpreter: its exit status, the heavy modules it loaded, its output."""
    done = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=HEAVY), *argv],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    status = int(lines[-2].split()[1])
    return status, lines[-1].split()[1:], done.stdout + done.stderr


@pytest.mark.parametrize(
    ("argv", "status"),
    [
        (["--help"], 0),
        (["list"], 0),
        *[([command, "--help"], 0) for command in COMMANDS],
        (["train", "--epochs", "many"], 2),
        (["evaluate"], 2),
        (["inspect", "toy", "--kind", "imdb"], 2),
        (["fly"], 2),
    ],
)
def test_answers_without_loading_torch(argv: list[str], status: int) -> None:
    exit_status, loaded, output = _heavy_modules_loaded(argv)
    assert exit_status == status, output
    assert loaded == [], f"msmix {' '.join(argv)} loaded {loaded}"


def test_list_prints_the_catalogue() -> None:
    _, _, output = _heavy_modules_loaded(["list"])
    for name, summary in catalog.backbones().items():
        assert f"  {name:<10} {summary}" in output
    assert "  " + ", ".join(catalog.mixers()) in output


def test_the_catalogue_equals_the_registries() -> None:
    assert list(catalog.backbones()) == msmix.models.available()
    for name, summary in catalog.backbones().items():
        doc = (msmix.models.backbone_class(name).__doc__ or "").strip().splitlines()
        assert summary == doc[0].replace("``", ""), name
    assert list(catalog.mixers()) == msmix.mixing.available()
    assert catalog.kinds() == msmix.data.spec.KINDS
    from msmix.features.audio import AUDIO_EXTRACTORS

    assert catalog.audio_extractors() == tuple(AUDIO_EXTRACTORS)
