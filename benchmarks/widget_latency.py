"""Latency of the workbench in a real browser: from a control change to the figure's repaint.

JupyterLab runs ``notebooks/01_train_mosi.ipynb`` in Debian's Chromium (Playwright), then each
control is moved ``--repeats`` times, back and forth. The page records when the input event
happened (a capturing listener on the document) and when the LiveFigure it drives has drawn the
new state and the browser has painted it (the view's ``msmix:drawn`` event, then one animation
frame). Controls that start new model work (t-SNE, attributions of other samples) are timed twice:
until the panel shows it is busy, and until the new figure is painted.

    .venv/bin/python benchmarks/widget_latency.py --repeats 15 --out benchmarks/widget_latency.json

Needs chromium on the PATH and the ``[dev]`` extra (playwright). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

from lab_process import lab_server  # noqa: E402
from notebook_page import CHROMIUM_ARGS, NotebookPage  # noqa: E402

NOTEBOOK = "01_train_mosi.ipynb"
FIGURES = 12
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"

# Timestamps in the page: the last user input, each figure's draws, and when a panel turned busy.
RECORDER_JS = """() => {
  if (window.__msmix) return;
  const record = window.__msmix = {input: 0, draws: [], busy: []};
  for (const type of ['keydown', 'change', 'click']) {
    document.addEventListener(type, () => { record.input = performance.now(); }, true);
  }
  document.addEventListener('msmix:drawn', (event) => {
    const target = event.target;
    requestAnimationFrame(() => record.draws.push({
      classes: target.className, revision: event.detail.revision, arrived: event.detail.arrived,
      drawMs: event.detail.drawMs, at: performance.now()}));
  }, true);
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      const el = m.target;
      if (el.classList && el.classList.contains('msmix-busy')) record.busy.push({classes: el.className, at: performance.now()});
    }
  }).observe(document.body, {attributes: true, attributeFilter: ['class'], subtree: true});
}"""


@dataclass
class Control:
    """A control, how to move it, and the figure it redraws."""

    panel: str          # css name of the panel (msmix-<panel>)
    name: str           # attribute (msmix-<panel>-<name>)
    kind: str           # slider, dropdown, toggle, checkbox
    figure: str         # attribute of the LiveFigure it drives
    model_work: bool = False
    values: tuple[str, ...] = ()  # dropdown / toggle choices: each change picks one not selected now
    during: Control | None = None  # moved just before, without waiting: slow work the kernel must not wait for

    @property
    def label(self) -> str:
        label = f"{self.panel}: {self.name.replace('-', ' ')}"
        return f"{label}, while {self.during.label} computes" if self.during else label


CONTROLS = [
    Control("data", "split", "toggle", "histogram", values=("valid", "train")),
    Control("data", "bins", "slider", "histogram"),
    Control("training", "metric", "dropdown", "metric-figure", values=("MAE", "Corr")),
    Control("sass", "threshold", "slider", "heatmap"),
    Control("sass", "preset", "dropdown", "heatmap", values=("code", "paper")),
    Control("sass", "pair-mode", "toggle", "heatmap", values=("ordered", "unique")),
    Control("sass", "same-polarity", "checkbox", "heatmap"),
    Control("sig", "alpha", "slider", "ratio-figure"),
    Control("sig", "label-ratio", "dropdown", "ratio-figure", values=("intensity_weighted", "mean")),
    Control("sig", "pair", "slider", "pair-figure"),
    Control("latent", "show-mixed", "checkbox", "scatter"),
    Control("attribution", "sample", "slider", "heatmap"),
    Control("latent", "perplexity", "slider", "scatter", model_work=True),
    Control("errors", "count", "slider", "bars", model_work=True),
    Control("attribution", "method", "toggle", "bars", model_work=True, values=("ablation", "ig")),
]
CONTROLS.append(Control("sass", "threshold", "slider", "heatmap", during=CONTROLS[-3]))  # t-SNE running


def move(nb: NotebookPage, control: Control, step: int) -> None:
    """Change the control once (sliders alternate direction, so they stay in range)."""
    root = nb.page.locator(f"{PANEL} .msmix-{control.panel}-{control.name}").first
    root.scroll_into_view_if_needed()
    if control.kind == "slider":
        root.locator(".noUi-handle").focus()
        nb.page.keyboard.press("ArrowRight" if step % 2 == 0 else "ArrowLeft")
    elif control.kind == "dropdown":
        select = root.locator("select")
        current = select.input_value()
        select.select_option(next(v for v in control.values if v != current))
    elif control.kind == "toggle":
        current = root.locator("button.mod-active").text_content().strip()
        root.locator("button", has_text=next(v for v in control.values if v != current)).first.click()
    elif control.kind == "checkbox":
        root.locator("input[type=checkbox]").click()
    else:
        raise ValueError(control.kind)


def time_one(nb: NotebookPage, control: Control, step: int, timeout: float) -> dict[str, float]:
    figure_class = f"msmix-{control.panel}-{control.figure}"
    before = nb.figure(figure_class).revision
    if control.during is not None:
        move(nb, control.during, step)
    nb.page.evaluate("() => { window.__msmix.draws = []; window.__msmix.busy = []; }")
    move(nb, control, step)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = nb.page.evaluate("() => window.__msmix")
        draws = [d for d in record["draws"] if figure_class in d["classes"] and d["revision"] > (before or 0)]
        if draws:
            busy = [b for b in record["busy"] if f"msmix-{control.panel}" in b["classes"]]
            out = {"repaint_ms": draws[0]["at"] - record["input"], "draw_ms": draws[0]["drawMs"],
                   "kernel_ms": draws[0]["arrived"] - record["input"]}
            if busy:
                out["busy_ms"] = busy[0]["at"] - record["input"]
            return out
        nb.page.wait_for_timeout(20)
    raise TimeoutError(f"{control.label}: no repaint of {figure_class} within {timeout} s")


def summarise(control: Control, samples: list[dict[str, float]]) -> dict[str, Any]:
    repaint = [s["repaint_ms"] for s in samples]
    busy = [s["busy_ms"] for s in samples if "busy_ms" in s]
    return {
        "control": control.label, "kind": control.kind, "figure": control.figure, "model_work": control.model_work,
        "n": len(repaint), "p50_ms": statistics.median(repaint),
        "p90_ms": statistics.quantiles(repaint, n=10)[-1] if len(repaint) >= 2 else repaint[0],
        "max_ms": max(repaint), "busy_p50_ms": statistics.median(busy) if busy else None,
        "kernel_p50_ms": statistics.median(s["kernel_ms"] for s in samples),
        "draw_p50_ms": statistics.median(s["draw_ms"] for s in samples),
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| control | new model work | repaint p50 ms | p90 ms | max ms | of which: kernel and transport p50 | "
             "plotly drawing p50 | busy shown p50 ms | n |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        busy = f"{r['busy_p50_ms']:.0f}" if r["busy_p50_ms"] is not None else ""
        lines.append(f"| {r['control']} | {'yes' if r['model_work'] else 'no'} | {r['p50_ms']:.0f} | "
                     f"{r['p90_ms']:.0f} | {r['max_ms']:.0f} | {r['kernel_p50_ms']:.0f} | {r['draw_p50_ms']:.0f} | "
                     f"{busy} | {r['n']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15, help="changes per control (default 15)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for one repaint")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--only", nargs="*", help="time only these controls (e.g. 'sass: threshold')")
    parser.add_argument("--out", type=Path, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    controls = [c for c in CONTROLS if not args.only or c.label in args.only]
    rows = []
    with tempfile.TemporaryDirectory(prefix="msmix-latency-") as workdir, lab_server(Path(workdir)) as lab, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        nb = NotebookPage(page, lab, NOTEBOOK)
        nb.open(180)
        nb.run_all(900)
        nb.wait_for_figures(FIGURES, 180)
        page.evaluate(RECORDER_JS)
        for control in controls:
            samples = [time_one(nb, control, step, args.timeout) for step in range(args.repeats)]
            rows.append(summarise(control, samples))
            print(f"{control.label}: p50 {rows[-1]['p50_ms']:.0f} ms", file=sys.stderr)
        browser.close()
    print(f"JupyterLab + Chromium on {platform.node()} ({platform.machine()}), {time.strftime('%Y-%m-%d')}; "
          f"{args.repeats} changes per control.\n")
    print(table(rows))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
