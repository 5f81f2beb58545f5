"""``msmix.train.progress``: bars where they redraw (a terminal), plain lines where they cannot."""

from __future__ import annotations

import io

import pytest

from msmix.train import progress


class Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _stderr(monkeypatch: pytest.MonkeyPatch, terminal: bool) -> io.StringIO:
    stream = Terminal() if terminal else io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    return stream


def test_a_terminal_gets_bars(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _stderr(monkeypatch, terminal=True)
    assert progress.bars_redraw()
    with progress.StepProgress(2, "epochs", "epoch") as counter:
        counter.step("train=1.0000, valid=2.0000")
        bar = progress.batch_bar(range(3), 3, "epoch 1", enabled=True)
        assert not bar.disable
        bar.close()
    assert "epochs:" in stream.getvalue() and "\r" in stream.getvalue()


def test_a_file_gets_one_line_per_step_and_no_batch_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _stderr(monkeypatch, terminal=False)
    assert not progress.bars_redraw()
    with progress.StepProgress(3, "epochs", "epoch", initial=1) as counter:
        assert progress.batch_bar(range(3), 3, "epoch 2", enabled=True).disable
        counter.step("train=1.0000, valid=2.0000")
        counter.step()
    assert stream.getvalue() == "epoch 2/3: train=1.0000, valid=2.0000\nepoch 3/3\n"


@pytest.mark.parametrize("terminal", [True, False])
def test_disabled_shows_nothing(monkeypatch: pytest.MonkeyPatch, terminal: bool) -> None:
    stream = _stderr(monkeypatch, terminal)
    with progress.StepProgress(2, "epochs", "epoch", enabled=False) as counter:
        counter.step("x")
        assert progress.batch_bar(range(3), 3, "epoch 1", enabled=False).disable
    assert stream.getvalue() == ""
