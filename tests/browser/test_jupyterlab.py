"""The workbench in a real browser: JupyterLab runs ``01_train_mosi.ipynb``, and moving the SASS
threshold slider with the keyboard changes the pair count and the heat map.

Chromium is Debian's (``executable_path``), driven by Playwright; a screenshot of the page and one
of the heat map go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = "01_train_mosi.ipynb"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
]
KERNEL_READY_TIMEOUT = 60.0
RUN_ALL_TIMEOUT = 240.0  # a guard against hangs: the notebook runs in about a minute on an idle 2-core CPU
UPDATE_TIMEOUT_MS = 20_000
KEY_PRESSES = 12  # slider steps of 0.01 each

# Every code cell's prompt ("[3]:", "[*]:" while running, "[ ]:" before), the execution
# indicator's status, the status bar's kernel line ("Python 3 (ipykernel) | Idle") and the text
# of any output holding a Python traceback.
NOTEBOOK_STATE_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return null;
  const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim());
  const errors = [...panel.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent)
    .filter(t => t.includes('Traceback (most recent call last)'));
  const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
  const kernel = [...document.querySelectorAll('.jp-StatusBar-TextItem')].map(e => e.textContent)
    .find(t => t.includes('|')) || '';
  return {prompts, errors, kernel, status: indicator ? indicator.getAttribute('data-status') : null};
}"""

# The number of candidate-pair markers (the heat map's first scatter trace) drawn in the SVG.
CANDIDATE_MARKERS_JS = """(plot) => {
  const traces = plot.querySelectorAll('.scatterlayer .trace');
  return traces.length ? traces[0].querySelectorAll('path.point').length : -1;
}"""


def notebook_state(page: Any) -> dict[str, Any] | None:
    return page.evaluate(NOTEBOOK_STATE_JS)


def wait_for(page: Any, ready, what: str, timeout: float) -> dict[str, Any]:
    """Poll the notebook's state until ``ready(state)``; fail at once on a traceback in an output."""
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = notebook_state(page)
        if state and state["errors"]:
            pytest.fail(f"a cell raised while waiting for {what}:\n{state['errors'][0][-2500:]}")
        if state and ready(state):
            return state
        page.wait_for_timeout(250)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; last state: {state}")


def kernel_ready(state: dict[str, Any]) -> bool:
    return bool(state["prompts"]) and state["kernel"].endswith("| Idle")


def wait_for_kernel_session(lab: Any, notebook: str, timeout: float) -> None:
    """Wait until the server runs an idle kernel for ``notebook`` (the page then connects to it)."""
    deadline = time.monotonic() + timeout
    sessions: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{lab.url}/api/sessions?token={lab.token}", timeout=5) as response:
            sessions = json.load(response)
        if any(s.get("path", "").endswith(notebook) and (s.get("kernel") or {}).get("execution_state") == "idle"
               for s in sessions):
            return
        time.sleep(0.3)
    pytest.fail(f"no idle kernel for {notebook} after {timeout:.0f} s; sessions: {sessions}")


def all_cells_ran(state: dict[str, Any]) -> bool:
    prompts = state["prompts"]
    return bool(prompts) and state["status"] == "idle" and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts)


def pair_count(text: str) -> int:
    """The number of candidate pairs in the SASS explorer's count line ("12 of 496 unique pairs ...")."""
    match = re.search(r"(\d+) of \d+ \w+ pairs pass threshold", text)
    assert match, f"the SASS pair-count line has an unexpected form: {text!r}"
    return int(match.group(1))


def test_sass_slider_changes_pair_count_and_heat_map(chromium_path: str, sync_playwright, lab_server, artifacts) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        try:
            run_and_drive(page, lab_server, artifacts)
        finally:
            page.screenshot(path=str(artifacts / "jupyterlab_01_train_mosi.png"))
            browser.close()


def run_and_drive(page: Any, lab: Any, artifacts: Path) -> None:
    started = time.monotonic()
    timings: dict[str, float] = {}
    page.goto(lab.notebook_url(NOTEBOOK))
    wait_for_kernel_session(lab, NOTEBOOK, KERNEL_READY_TIMEOUT)
    wait_for(page, kernel_ready, "the page to connect to the kernel", KERNEL_READY_TIMEOUT)
    timings["kernel_ready_s"] = time.monotonic() - started

    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item", has_text=re.compile(r"^Run All Cells$")).click()
    wait_for(page, all_cells_ran, "every cell to run", RUN_ALL_TIMEOUT)
    timings["all_cells_ran_s"] = time.monotonic() - started

    # The SASS explorer tags its widgets with CSS classes (msmix-sass-<attribute>).
    slider = page.locator(".msmix-sass-threshold").first
    count = page.locator(".msmix-sass-pair-count").first
    heatmap = page.locator(".msmix-sass-heatmap.js-plotly-plot, .msmix-sass-heatmap .js-plotly-plot").first
    slider.scroll_into_view_if_needed()
    handle = slider.locator(".noUi-handle")
    handle.wait_for(state="visible")
    readout_before = slider.locator(".widget-readout").inner_text()
    count_before = count.inner_text()
    markers_before = heatmap.evaluate(CANDIDATE_MARKERS_JS)
    image_before = heatmap.screenshot()

    handle.focus()
    for _ in range(KEY_PRESSES):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "([el, before]) => el.textContent.trim() !== before",
        arg=[slider.locator(".widget-readout").element_handle(), readout_before], timeout=UPDATE_TIMEOUT_MS,
    )
    expected = f"threshold {float(slider.locator('.widget-readout').inner_text()):.2f}"
    page.wait_for_function(
        "([el, text]) => el.textContent.includes(text)",
        arg=[count.element_handle(), expected], timeout=UPDATE_TIMEOUT_MS,
    )
    page.wait_for_timeout(500)  # let plotly finish redrawing the heat map
    count_after = count.inner_text()
    markers_after = heatmap.evaluate(CANDIDATE_MARKERS_JS)
    image_after = heatmap.screenshot(path=str(artifacts / "jupyterlab_sass_heatmap.png"))
    timings["slider_checked_s"] = time.monotonic() - started
    (artifacts / "jupyterlab_timings.json").write_text(json.dumps({k: round(v, 1) for k, v in timings.items()}))

    assert float(slider.locator(".widget-readout").inner_text()) > float(readout_before)
    assert pair_count(count_after) != pair_count(count_before), (count_before, count_after)
    assert markers_before > 0 and markers_after != markers_before, (
        "the heat map's candidate markers did not change", markers_before, markers_after,
    )
    assert image_after != image_before, "the heat map looks the same after the threshold moved"
