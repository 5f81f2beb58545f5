"""BackgroundWork and the panels' slow updates: the kernel's thread returns at once, only the
newest request is computed after the running one, the panel says it is busy, and errors are shown."""

from __future__ import annotations

import threading

import pytest

from workbench import latent_panel
from workbench._background import BackgroundWork

WAIT = 30.0  # seconds: a deadline for a thread that must finish, not an expected time


def test_submit_returns_while_the_job_runs_and_wait_blocks_until_it_ends() -> None:
    started, release, busy = threading.Event(), threading.Event(), []
    work = BackgroundWork(busy.append, lambda error: None)
    work.submit(lambda: (started.set(), release.wait(WAIT)))
    assert started.wait(WAIT) and work.busy and busy == [True]
    release.set()
    work.wait(WAIT)
    assert not work.busy and busy == [True, False]


def test_requests_made_while_one_runs_collapse_into_the_newest() -> None:
    started, release, ran = threading.Event(), threading.Event(), []
    work = BackgroundWork(lambda busy: None, lambda error: None)
    work.submit(lambda: (ran.append("first"), started.set(), release.wait(WAIT)))
    assert started.wait(WAIT)
    for name in ("second", "third", "fourth"):
        work.submit(lambda name=name: ran.append(name))
    release.set()
    work.wait(WAIT)
    assert ran == ["first", "fourth"]


def test_an_error_is_reported_re_raised_by_wait_and_the_next_job_still_runs() -> None:
    reported, ran = [], []
    work = BackgroundWork(lambda busy: None, reported.append)
    work.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        work.wait(WAIT)
    assert isinstance(reported[0], ZeroDivisionError)
    work.submit(lambda: ran.append("after"))
    work.wait(WAIT)
    assert ran == ["after"]


@pytest.fixture
def panel(backbone, dataset):
    return latent_panel(backbone, dataset, size=12, seed=1, perplexity=5)


def test_a_new_tsne_is_computed_off_the_kernel_thread_with_the_panel_marked_busy(panel, monkeypatch) -> None:
    release, seen = threading.Event(), []
    compute = panel.refresh

    def slow_refresh() -> None:
        seen.append(threading.current_thread() is threading.main_thread())
        release.wait(WAIT)
        compute()

    monkeypatch.setattr(panel, "refresh", slow_refresh)
    before = panel.embedding.copy()
    panel.perplexity.value = 3  # returns although the t-SNE has not run yet
    assert "msmix-busy" in panel._dom_classes
    release.set()
    panel.wait(WAIT)
    assert seen == [False]
    assert "msmix-busy" not in panel._dom_classes
    assert not (panel.embedding == before).all()


def test_a_failed_update_is_one_line_in_the_panel(panel, monkeypatch) -> None:
    monkeypatch.setattr(panel, "refresh", lambda: (_ for _ in ()).throw(ValueError("perplexity too large")))
    panel.perplexity.value = 4
    with pytest.raises(ValueError):
        panel.wait(WAIT)
    assert "Could not update: ValueError: perplexity too large" in panel._problem.value
    assert panel._problem.layout.display != "none"
