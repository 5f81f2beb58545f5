"""Drive a notebook in JupyterLab through Playwright, and read its plotly figures from the page.

Shared by the browser test and ``benchmarks/widget_latency.py``. Every wait polls the page for a
condition (a cell prompt, a figure's drawn revision), with a deadline that holds on a busy machine;
nothing waits a fixed time for something to happen.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Callable

import nbformat

from lab_process import LabServer

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
]

# Every code cell's prompt ("[3]:", "[*]:" while running, "[ ]:" before), the execution
# indicator's status, the status bar's kernel line ("Python 3 (ipykernel) | Idle"), the text of
# any output holding a Python traceback, and whether the notebook has unsaved changes (read from
# the notebook's own tab in the main dock: the side bars' current tabs are never dirty).
NOTEBOOK_STATE_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return null;
  const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim());
  const errors = [...panel.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent)
    .filter(t => t.includes('Traceback (most recent call last)'));
  const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
  const kernel = [...document.querySelectorAll('.jp-StatusBar-TextItem')].map(e => e.textContent)
    .find(t => t.includes('|')) || '';
  const tab = document.querySelector('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current');
  return {prompts, errors, kernel, status: indicator ? indicator.getAttribute('data-status') : null,
          dirty: tab ? tab.classList.contains('jp-mod-dirty') : null};
}"""

# Every plotly figure of the notebook: where it is, whether it is a LiveFigure (and the revision it
# has drawn), how many visible traces hold data points, and a fingerprint of what it plots.
FIGURES_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return [];
  const keys = ['x', 'y', 'z', 'r', 'values'];
  const isArray = (v) => Array.isArray(v) || ArrayBuffer.isView(v);
  const sum = (values) => {
    let total = 0, count = 0;
    for (const v of values) {
      if (isArray(v)) { const [t, c] = sum(v); total += t; count += c; }
      else if (typeof v === 'number' && Number.isFinite(v)) { total += v; count += 1; }
      else if (typeof v === 'string') { total += v.length; count += 1; }
    }
    return [total, count];
  };
  const plots = [...panel.querySelectorAll('.js-plotly-plot')];
  return plots.map((gd, index) => {
    const live = gd.closest('.msmix-live-figure');
    const names = live ? [...live.classList].filter(c => c.startsWith('msmix-') && c !== 'msmix-live-figure') : [];
    const full = gd._fullData || [];
    const withData = full.filter(t => t.visible === true && keys.some(k => t[k] != null && t[k].length > 0));
    const print = full.map(t => [t.type, t.visible, ...keys.map(k => isArray(t[k]) ? sum(t[k]).map(v => +v.toFixed(6)) : null)]);
    const box = gd.getBoundingClientRect();
    return {
      index,
      name: names[0] || (live ? 'live' : 'static'),
      live: !!live,
      revision: live && live.dataset.revision !== undefined ? Number(live.dataset.revision) : null,
      latest: live && live.dataset.latest !== undefined ? Number(live.dataset.latest) : null,
      traces: full.length,
      tracesWithData: withData.length,
      title: (gd.layout && gd.layout.title && (gd.layout.title.text || gd.layout.title)) || '',
      fingerprint: JSON.stringify(print),
      width: box.width,
      height: box.height,
    };
  });
}"""

# What each output area holds (for failure messages): its classes and the start of its text.
OUTPUTS_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  return [...panel.querySelectorAll('.jp-OutputArea-output')]
    .map(o => `${o.className.replace('lm-Widget ', '')}: ${o.textContent.trim().slice(0, 80)}` +
      (o.classList.contains('jp-RenderedPlotly') ? ` [${[...o.children].map(c => `${c.tagName}.${c.className} ${c.style.display}`)}]` : ''));
}"""

# Panels whose content is wider than their box (a row that overflows clips figures).
OVERFLOW_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  return [...panel.querySelectorAll('.widget-vbox[class*="msmix-"], .widget-box[class*="msmix-"]')]
    .filter(el => [...el.classList].some(c => /^msmix-[a-z]+$/.test(c)))
    .flatMap(el => [el, ...el.querySelectorAll('.widget-hbox, .widget-vbox')])
    .filter(el => el.scrollWidth > el.clientWidth + 1)
    .map(el => ({classes: el.className, scrollWidth: el.scrollWidth, clientWidth: el.clientWidth}));
}"""


@dataclass
class Figure:
    """One plotly figure on the page, as FIGURES_JS reads it."""

    index: int
    name: str
    live: bool
    revision: int | None  # the state revision the view has drawn
    latest: int | None  # the newest state revision the view has received
    traces: int
    tracesWithData: int  # noqa: N815 (the page's own name)
    title: str
    fingerprint: str
    width: float
    height: float

    @property
    def drawn(self) -> bool:
        """Drawn with data: at least one visible trace with points (and, for a LiveFigure, a drawn revision)."""
        return self.tracesWithData >= 1 and (not self.live or self.revision is not None)


class NotebookError(AssertionError):
    """A cell raised, or the page did not reach a state in time."""


class NotebookPage:
    """A notebook open in JupyterLab in one Playwright page."""

    def __init__(self, page: Any, lab: LabServer, notebook: str) -> None:
        self.page, self.lab, self.notebook = page, lab, notebook
        cells = nbformat.read(lab.root / notebook, as_version=4).cells
        self.code_cells = sum(cell.cell_type == "code" for cell in cells)

    # -- waiting ---------------------------------------------------------------------------------

    def state(self) -> dict[str, Any] | None:
        return self.page.evaluate(NOTEBOOK_STATE_JS)

    def wait_for(self, ready: Callable[[dict[str, Any]], bool], what: str, timeout: float) -> dict[str, Any]:
        """Poll the notebook's state until ``ready(state)``; fail at once on a traceback in an output."""
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = self.state()
            if state and state["errors"]:
                raise NotebookError(f"a cell raised while waiting for {what}:\n{state['errors'][0][-2500:]}")
            if state and ready(state):
                return state
            self.page.wait_for_timeout(250)
        raise NotebookError(f"timed out after {timeout:.0f} s waiting for {what}; last state: {state}")

    def wait_for_kernel_session(self, timeout: float) -> None:
        """Wait until the server runs an idle kernel for the notebook (the page then connects to it)."""
        deadline = time.monotonic() + timeout
        sessions: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            sessions = self.lab.sessions()
            if any(s.get("path", "").endswith(self.notebook) and (s.get("kernel") or {}).get("execution_state") == "idle"
                   for s in sessions):
                return
            self.page.wait_for_timeout(300)
        raise NotebookError(f"no idle kernel for {self.notebook} after {timeout:.0f} s; sessions: {sessions}")

    # -- actions ---------------------------------------------------------------------------------

    def open(self, timeout: float) -> None:
        """Open the notebook and wait until every cell is on the page and the kernel is ready.

        JupyterLab builds a long notebook's cells a few at a time while the page is idle; until it
        is done, Run All runs only the cells built so far."""
        self.page.goto(self.lab.notebook_url(self.notebook))
        self.wait_for_kernel_session(timeout)
        self.wait_for(lambda s: kernel_ready(s) and len(s["prompts"]) == self.code_cells,
                      f"the page to show all {self.code_cells} code cells and connect to the kernel", timeout)

    def menu(self, menu: str, item: str, timeout: float) -> None:
        """Choose a menu item, once JupyterLab has enabled it (a click on a disabled item does nothing)."""
        self.page.locator(".lm-MenuBar-item", has_text=re.compile(f"^{menu}$")).click()
        entry = self.page.locator(".lm-Menu-item:not(.lm-mod-disabled)", has_text=re.compile(f"^{item}$"))
        entry.wait_for(state="visible", timeout=timeout * 1000)
        entry.click()

    def run_all(self, timeout: float) -> None:
        """Run every cell (the served copies hold no stored prompts that could pass for a run)."""
        if not all(p == "[ ]:" for p in (self.state() or {}).get("prompts", [])):
            raise NotebookError("the notebook holds stored prompts; serve it through lab_process.lab_server")
        self.menu("Run", "Run All Cells", timeout)
        self.wait_for(lambda s: all_cells_ran(s) and len(s["prompts"]) == self.code_cells, "every cell to run", timeout)

    def save(self, timeout: float) -> None:
        """Save, and wait until the tab is clean and the file on disk holds the run (a reload
        reads the notebook from disk, so it must not start before the save has landed)."""
        self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.click(position={"x": 5, "y": 5})
        self.page.keyboard.press("Control+s")
        self.wait_for(lambda s: s["dirty"] is False and self.saved_run(), "the notebook to be saved", timeout)

    def saved_run(self) -> bool:
        """Whether the notebook file on disk has an execution count in every code cell (the served
        copy starts with none; a file caught mid-write reads as not saved yet)."""
        try:
            cells = nbformat.read(self.lab.root / self.notebook, as_version=4).cells
        except (OSError, ValueError):
            return False
        return all(cell.execution_count is not None for cell in cells if cell.cell_type == "code")

    def reload(self, timeout: float) -> None:
        """Reload the page; the kernel keeps running and the widgets come back from it."""
        self.page.reload()
        self.wait_for(lambda s: kernel_ready(s) and len(s["prompts"]) == self.code_cells,
                      "the reloaded page to show every cell and reconnect to the kernel", timeout)

    def scroll_through(self) -> None:
        """Bring every cell into view once, top to bottom, so every output is laid out and drawn."""
        cells = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell")
        for i in range(cells.count()):
            cells.nth(i).scroll_into_view_if_needed()

    def wake_snapshots(self) -> None:
        """Point at static plotly figures that JupyterLab shows as their PNG snapshot.

        JupyterLab's plotly renderer stores a PNG of a figure it has drawn in the output; when the
        output is drawn again it shows that image and draws the figure itself when the mouse
        enters it (the event is sent directly: a page still laying out never holds still for a hover)."""
        images = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedPlotly > img.plot-img")
        for i in range(images.count()):
            image = images.nth(i)
            if image.is_visible():
                image.dispatch_event("mouseenter")

    # -- figures ---------------------------------------------------------------------------------

    def figures(self) -> list[Figure]:
        return [Figure(**f) for f in self.page.evaluate(FIGURES_JS)]

    def wait_for_figures(self, expected: int, timeout: float) -> list[Figure]:
        """Poll until ``expected`` figures are on the page and every one is drawn with data, scrolling
        through the notebook and over static figures' snapshots each round. Raises, naming the
        figures that are missing or blank, if that takes over ``timeout``."""
        deadline = time.monotonic() + timeout
        figures: list[Figure] = []
        while time.monotonic() < deadline:
            self.scroll_through()
            self.wake_snapshots()
            figures = self.figures()
            if len(figures) == expected and all(f.drawn for f in figures):
                return figures
            self.page.wait_for_timeout(250)
        blank = [f"{f.index}: {f.name} ({f.title[:60]!r}, {f.traces} traces, {f.tracesWithData} with data, "
                 f"revision {f.revision})" for f in figures if not f.drawn]
        console = getattr(self.page, "console_errors", [])[-10:]
        outputs = "\n  ".join(self.page.evaluate(OUTPUTS_JS))
        raise NotebookError(
            f"after {timeout:.0f} s, {len(figures)} plotly figures on the page (expected {expected}); "
            f"blank or undrawn: {blank or 'none'}; the browser console's last errors: {console or 'none'}; "
            f"the outputs:\n  {outputs}"
        )

    def figure(self, name: str) -> Figure:
        found = [f for f in self.figures() if f.name == name]
        if len(found) != 1:
            raise NotebookError(f"expected one figure {name!r}, found {len(found)}: {[f.name for f in self.figures()]}")
        return found[0]

    def wait_until_drawn(self, timeout: float) -> list[Figure]:
        """Wait until every LiveFigure has drawn the newest state it has received."""
        deadline = time.monotonic() + timeout
        figures = self.figures()
        while time.monotonic() < deadline:
            figures = self.figures()
            if all(f.revision == f.latest for f in figures if f.live):
                return figures
            self.page.wait_for_timeout(100)
        late = [f"{f.name}: {f.revision} of {f.latest}" for f in figures if f.live and f.revision != f.latest]
        raise NotebookError(f"figures still drawing after {timeout:.0f} s: {late}")

    def wait_for_title(self, name: str, text: str, timeout: float) -> Figure:
        """Wait until the LiveFigure ``name`` has drawn a title containing ``text`` (panels put the
        setting a figure shows in its title, so this is the drawing of that setting)."""
        deadline = time.monotonic() + timeout
        current = self.figure(name)
        while time.monotonic() < deadline:
            current = self.figure(name)
            if text in current.title:
                return current
            self.page.wait_for_timeout(100)
        raise NotebookError(f"{name} did not draw a title with {text!r} within {timeout:.0f} s: {current.title!r}")

    def overflowing(self) -> list[dict[str, Any]]:
        return self.page.evaluate(OVERFLOW_JS)


def kernel_ready(state: dict[str, Any]) -> bool:
    return bool(state["prompts"]) and state["kernel"].endswith("| Idle")


def all_cells_ran(state: dict[str, Any]) -> bool:
    prompts = state["prompts"]
    return bool(prompts) and state["status"] == "idle" and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts)
