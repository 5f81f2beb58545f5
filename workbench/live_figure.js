// The browser side of workbench.LiveFigure and workbench.live_figure.PlotlyLibrary.
//
// A figure's traces and layout are widget state, not messages: every view draws what the state
// holds when it is created and again whenever it changes, so a view created late, a second view
// of the same figure or a reloaded page shows the current figure. The state lives in a plain
// ipywidgets model (FigureState) that the view looks up: anywidget drops every message to its own
// model if the model's code took over two seconds to load, and a busy page can take that long.
// plotly.js itself comes once per page from the kernel's PlotlyLibrary widget (its `source`
// state), not once per figure.

const LIBRARIES = Symbol.for("msmix.plotly.libraries");

/** The page-wide slot for one plotly.js version: a promise of the library and whether it is loading. */
function slot(version) {
  const all = (globalThis[LIBRARIES] ??= new Map());
  if (!all.has(version)) {
    let resolve, reject;
    const promise = new Promise((ok, fail) => { resolve = ok; reject = fail; });
    all.set(version, { promise, resolve, reject, loading: false });
  }
  return all.get(version);
}

/** Evaluate plotly.js's UMD bundle as a module of its own and return its export. */
async function evaluate(source) {
  const head = "const module = { exports: {} }; const exports = module.exports;\n";
  const tail = "\nexport default module.exports;\n";
  const url = URL.createObjectURL(new Blob([head, source, tail], { type: "text/javascript" }));
  const started = performance.now();
  try {
    return (await import(/* webpackIgnore: true */ url)).default;
  } finally {
    URL.revokeObjectURL(url);
    console.debug(`[msmix] plotly.js loaded in ${Math.round(performance.now() - started)} ms`);
  }
}

/** The library widget: starts loading plotly.js and returns at once (initialisation has a deadline). */
function initialize({ model }) {
  const source = model.get("source");
  if (!source) return;
  const library = slot(model.get("version"));
  if (!library.loading) {
    library.loading = true;
    evaluate(source).then(library.resolve, library.reject);
  }
}

const NOTE_WAITING = "Drawing the figure\u2026 If this line stays, run the cell again: the figure's data live in the kernel.";

const REFERENCE = "IPY_MODEL_";
const EVENTS = ["change:_data", "change:_layout", "change:_config"];

/** A figure view: draw the state now and after every change, one drawing at a time. */
async function render({ model, el }) {
  el.classList.add("msmix-live-figure");
  const note = Object.assign(document.createElement("div"), { className: "msmix-live-figure-note", textContent: NOTE_WAITING });
  const plot = Object.assign(document.createElement("div"), { className: "msmix-live-figure-plot" });
  el.append(note, plot);

  const state = await model.widget_manager.get_model(model.get("_figure_state").slice(REFERENCE.length));
  const library = slot(model.get("_plotly_version"));
  const parsed = new Map(); // JSON text of a trace -> its object, so unchanged traces keep their identity
  let alive = true;
  let queued = false;
  let changedAt = performance.now(); // when the state this drawing shows arrived (for latency benchmarks)
  let chain = Promise.resolve();

  const traces = () => {
    const texts = state.get("_data");
    const next = new Map();
    const objects = texts.map((text) => {
      const object = parsed.get(text) ?? JSON.parse(text);
      next.set(text, object);
      return object;
    });
    parsed.clear();
    next.forEach((object, text) => parsed.set(text, object));
    return objects;
  };

  const draw = async () => {
    queued = false;
    const Plotly = await library.promise;
    if (!alive) return;
    const revision = state.get("revision");
    const arrived = changedAt;
    const started = performance.now();
    const layout = JSON.parse(state.get("_layout"));
    await Plotly.react(plot, traces(), layout, { ...state.get("_config"), responsive: true });
    if (!alive) return;
    note.remove();
    el.dataset.revision = String(revision);
    const detail = { revision, arrived, drawMs: performance.now() - started };
    el.dispatchEvent(new CustomEvent("msmix:drawn", { detail, bubbles: true }));
  };

  const schedule = () => {
    el.classList.add(...state.get("classes")); // as add_class gave them, even if that message to `model` was lost
    el.dataset.latest = String(state.get("revision")); // the newest state this view has received
    if (queued) return;
    queued = true;
    changedAt = performance.now();
    chain = chain.then(draw).catch((error) => {
      note.textContent = `The figure could not be drawn: ${error}. Run the cell again.`;
      console.error("[msmix] LiveFigure", error);
    });
  };

  // Plotly sizes an autosized figure by its container; follow the container, not only the window.
  const resized = new ResizeObserver(() => {
    if (plot.offsetWidth > 0 && plot.data) library.promise.then((Plotly) => alive && Plotly.Plots.resize(plot));
  });
  resized.observe(el);
  for (const event of [...EVENTS, "change:classes"]) state.on(event, schedule);
  schedule();

  return () => {
    alive = false;
    resized.disconnect();
    for (const event of [...EVENTS, "change:classes"]) state.off(event, schedule);
    library.promise.then((Plotly) => Plotly.purge(plot));
  };
}

export default { initialize, render };
