"""Fixtures of the real-browser test: Debian's Chromium driven by Playwright, and JupyterLab on a
copy of the notebooks (``lab_process.lab_server``).

The test needs a Chromium on the PATH and the ``playwright`` package (which drives it through its
executable path; no browser is ever downloaded). Without them it skips with the reason, so a
newcomer's ``make test`` passes; ``MSMIX_REQUIRE_BROWSER=1`` (set by ``.ci/run``) turns the skip
into a failure, so CI always runs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab_process import REPO, LabServer, lab_server as start_lab
from notebook_page import CHROMIUM_ARGS

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_NAMES = ("chromium", "chromium-browser")
VIEWPORT = {"width": 1400, "height": 1000}  # the width the layout is checked at


def unavailable(reason: str) -> None:
    """Skip the test, or fail it where ``MSMIX_REQUIRE_BROWSER=1`` says the browser test must run."""
    if os.environ.get("MSMIX_REQUIRE_BROWSER") == "1":
        pytest.fail(f"MSMIX_REQUIRE_BROWSER=1, but the browser test cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The system Chromium (Debian: ``apt-get install chromium``)."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    unavailable(f"no Chromium on the PATH (looked for {', '.join(CHROMIUM_NAMES)}; Debian: apt-get install chromium)")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def sync_playwright():
    """``playwright.sync_api.sync_playwright`` (the ``playwright`` Python package, in the [dev] extra)."""
    try:
        from playwright.sync_api import sync_playwright as start
    except ImportError as error:
        unavailable(f"the playwright package is not installed ({error}); pip install -e '.[dev]'")
    return start


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """``test-artifacts/`` at the repository root (git-ignored): screenshots for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def lab_server(tmp_path: Path) -> Iterator[LabServer]:
    with start_lab(tmp_path) as server:
        yield server


@pytest.fixture
def browser_page(chromium_path: str, sync_playwright) -> Iterator[Any]:
    """A Chromium page 1400 px wide; the browser's console errors and uncaught exceptions are kept on
    ``page.console_errors``."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport=VIEWPORT)
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
        page.console_errors = errors
        try:
            yield page
        finally:
            browser.close()
