// The playground page: controls → set-up → server; stream → drawing.

import { Session, fromHash, toHash } from "./api.js";
import { drawChart, drawMap, drawPoints, drawSurface, toPixel } from "./draw.js";
import { NetworkView } from "./network.js";

const $ = (id) => document.getElementById(id);
const RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const PENALTIES = [0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1];
const DROPOUTS = [0, 0.1, 0.2, 0.3, 0.5];
const DATASETS = {
  classification: [["circle", "Circle"], ["xor", "XOR"], ["gaussian", "Gaussian"],
    ["spiral", "Spiral"], ["lecture", "Lecture"], ["moons", "Two moons"], ["blobs3", "3 blobs"]],
  regression: [["plane", "Plane"], ["multigauss", "Multi Gaussian"]],
};

const state = {
  session: new Session(), config: null, table: null, stat: null, frame: null,
  dirty: false, hover: null, selected: null, showTest: false, drawn: [], frameCount: 0,
};
window.playground = state;  // for the browser tests and the curious

function message(text, kind = "error") {
  const box = $("message");
  box.textContent = text; box.className = `message ${kind}`; box.hidden = !text;
}

function fillSelect(select, values, format = String) {
  select.replaceChildren(...values.map((v) => new Option(format(v), v)));
}

// -- set-up ----------------------------------------------------------------------------------
async function apply(changes) {
  const next = { ...state.config, ...changes };
  try {
    const body = await state.session.configure(next);
    state.config = body.config;
    message("");
  } catch (err) {
    message(err.message);
  }
  showConfig();
}

function showConfig() {
  const c = state.config;
  history.replaceState(null, "", toHash(c));
  for (const key of ["learning_rate", "l1", "l2", "dropout", "activation", "optimizer", "problem"]) {
    $(key).value = String(c[key]);
  }
  $("train_fraction").value = Math.round(c.train_fraction * 100);
  $("train_fraction-out").textContent = `${Math.round(c.train_fraction * 100)}%`;
  $("noise").value = Math.round(c.noise * 100);
  $("noise-out").textContent = `${Math.round(c.noise * 100)}`;
  $("batch_size").value = c.batch_size;
  $("batch_size-out").textContent = c.batch_size;
  const n = c.hidden.length;
  $("layer-count").textContent = `${n} hidden layer${n === 1 ? "" : "s"}`;
  const sets = DATASETS[c.problem].concat(state.table ? [["upload", state.table.name]] : []);
  $("datasets").replaceChildren(...sets.map(([key, label]) => {
    const b = document.createElement("button");
    b.textContent = label; b.dataset.dataset = key;
    b.className = key === c.dataset ? "active" : "";
    b.addEventListener("click", () => (key === "upload" ? useTable() : apply({ dataset: key })));
    return b;
  }));
  for (const kind of ["model", "onnx", "python", "data"]) {
    $(`export-${kind}`).href = state.session.url(`export/${kind}`);
  }
}

function bindControls() {
  fillSelect($("learning_rate"), RATES);
  fillSelect($("l1"), PENALTIES);
  fillSelect($("l2"), PENALTIES);
  fillSelect($("dropout"), DROPOUTS);
  for (const key of ["learning_rate", "l1", "l2", "dropout"]) {
    $(key).addEventListener("change", (e) => apply({ [key]: Number(e.target.value) }));
  }
  for (const key of ["activation", "optimizer"]) {
    $(key).addEventListener("change", (e) => apply({ [key]: e.target.value }));
  }
  $("problem").addEventListener("change", (e) => {
    const problem = e.target.value;
    apply({ problem, dataset: state.config.dataset === "upload" ? "upload" : DATASETS[problem][0][0] });
  });
  $("train_fraction").addEventListener("change", (e) => apply({ train_fraction: e.target.value / 100 }));
  $("noise").addEventListener("change", (e) => apply({ noise: e.target.value / 100 }));
  $("batch_size").addEventListener("input", (e) => { $("batch_size-out").textContent = e.target.value; });
  $("batch_size").addEventListener("change", (e) => apply({ batch_size: Number(e.target.value) }));
  $("add-layer").addEventListener("click", () => {
    if (state.config.hidden.length < 6) apply({ hidden: [...state.config.hidden, 2] });
  });
  $("remove-layer").addEventListener("click", () => apply({ hidden: state.config.hidden.slice(0, -1) }));
  for (const action of ["reset", "step", "regenerate"]) {
    $(action).addEventListener("click", () => control(action));
  }
  $("play").addEventListener("click", () => control(state.frame && state.frame.playing ? "pause" : "play"));
  $("show-test").addEventListener("change", (e) => { state.showTest = e.target.checked; state.dirty = true; });
  $("upload").addEventListener("change", upload);
  $("table-use").addEventListener("click", useTable);
  $("table-target").addEventListener("change", () => showTable(false));
  $("surface").addEventListener("click", explainAt);
  $("explain-close").addEventListener("click", () => { $("explain").hidden = true; state.selected = null; state.dirty = true; });
}

async function control(action) {
  try {
    const body = await state.session.control(action);
    state.config = body.config;
    showConfig();
    $("play").classList.toggle("playing", body.playing);
  } catch (err) { message(err.message); }
}

const network = new NetworkView($("network"), {
  toggleFeature(key) {
    const on = state.config.features.includes(key);
    apply({ features: on ? state.config.features.filter((f) => f !== key) : [...state.config.features, key] });
  },
  neurons(layer, delta) {
    const hidden = [...state.config.hidden];
    hidden[layer] = Math.max(1, Math.min(8, hidden[layer] + delta));
    apply({ hidden });
  },
  hover(layer, j) { state.hover = layer === null ? null : [layer, j]; state.dirty = true; },
});

// -- your own data ------------------------------------------------------------------------------
async function upload(e) {
  const file = e.target.files[0];
  if (!file) return;
  try {
    const body = await state.session.upload(file);
    state.table = body.table;
    message(`Loaded ${body.table.name}: ${body.table.rows} rows. Pick the target and features.`, "info");
    showTable(true);
  } catch (err) { message(`Upload refused: ${err.message}`); }
  e.target.value = "";
}

function showTable(fresh) {
  const t = state.table;
  $("table-panel").hidden = false;
  $("table-name").textContent = `${t.name} · ${t.rows} rows`;
  if (fresh) fillSelect($("table-target"), t.columns);
  if (fresh) $("table-target").value = t.target;
  const target = $("table-target").value;
  const numeric = t.numeric.filter((c) => c !== target);
  $("table-columns").replaceChildren(...numeric.map((c) => {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox"; box.checked = true; box.value = c;
    label.append(box, ` ${c}`);
    return label;
  }));
  fillSelect($("table-axis1"), numeric); fillSelect($("table-axis2"), numeric);
  $("table-axis1").value = numeric[0]; $("table-axis2").value = numeric[1] || numeric[0];
  showConfig();
}

function useTable() {
  if (!state.table) return;
  const target = $("table-target").value;
  const columns = [...$("table-columns").querySelectorAll("input:checked")].map((b) => b.value);
  const axes = [$("table-axis1").value, $("table-axis2").value];
  const unique = state.table.unique[target];
  const problem = !state.table.numeric.includes(target) || unique <= 10 ? "classification" : "regression";
  apply({ dataset: "upload", target, columns, axes, problem, features: ["x1", "x2"] });
}

// -- the step explained ---------------------------------------------------------------------------
async function explainAt(e) {
  if (!state.stat) return;
  const canvas = $("surface");
  const rect = canvas.getBoundingClientRect();
  const px = (e.clientX - rect.left) * canvas.width / rect.width;
  const py = (e.clientY - rect.top) * canvas.height / rect.height;
  let best = null;
  for (const part of state.showTest ? ["train", "test"] : ["train"]) {
    state.stat[part].forEach(([x, y], index) => {
      const [qx, qy] = toPixel(canvas, state.stat.domain, x, y);
      const d = Math.hypot(qx - px, qy - py);
      if (d < 10 && (!best || d < best.d)) best = { part, index, d };
    });
  }
  if (!best) return;
  try {
    const body = await state.session.explain(best.part, best.index);
    state.selected = best; state.dirty = true;
    const [x1, x2] = body.point.map((v) => v.toPrecision(4));
    $("explain-info").textContent = `${best.part} point (${x1}, ${x2}), target ${body.target}, ` +
      `at epoch ${body.epoch} with the weights on screen; update: ${body.optimizer}.`;
    $("explain-body").innerHTML = body.html;  // chainrule's StepTrace.html: all text escaped
    $("explain").hidden = false;
  } catch (err) { message(err.message); }
}

// -- live drawing ------------------------------------------------------------------------------
function onStatic(stat) {
  state.stat = stat; state.selected = null; state.hover = null;
  $("explain").hidden = true;
  network.build(stat, stat.config);
  $("axis-x").textContent = stat.axes[0]; $("axis-y").textContent = stat.axes[1];
  const names = stat.problem === "regression" ? [] : stat.classes;
  $("legend").replaceChildren(...names.map((name, i) => {
    const s = document.createElement("span");
    s.className = `key key${i % 10}`; s.textContent = name;
    return s;
  }));
}

function onFrame(frame) {
  if (!state.stat || frame.static !== state.stat.seq) return;  // from an older set-up
  state.frame = frame; state.dirty = true;
}

function fmt(v) { return v === null || v === undefined ? "–" : v.toFixed(3); }

function render(now) {
  requestAnimationFrame(render);
  const f = state.frame;
  if (!state.dirty || !f || !state.stat) return;
  state.dirty = false;
  state.frameCount += 1;  // screen updates drawn, for the update-rate measurement
  state.drawn.push(now);
  while (state.drawn.length && now - state.drawn[0] > 1000) state.drawn.shift();
  $("fps").textContent = state.drawn.length;
  $("epoch").textContent = f.epoch.toLocaleString("en");
  $("test-loss").textContent = fmt(f.test_loss); $("train-loss").textContent = fmt(f.train_loss);
  $("test-acc").textContent = f.test_accuracy != null ? `accuracy ${(100 * f.test_accuracy).toFixed(1)}%` : "";
  $("train-acc").textContent = f.train_accuracy != null ? `accuracy ${(100 * f.train_accuracy).toFixed(1)}%` : "";
  $("play").classList.toggle("playing", f.playing);
  if (f.status) message(f.status);
  const canvas = $("surface");
  const hovered = state.hover && f.neurons[state.hover[0]] && f.neurons[state.hover[0]][state.hover[1]];
  if (hovered) drawMap(canvas, hovered, state.stat.grid); else drawSurface(canvas, f.surface, state.stat.grid);
  drawPoints(canvas, state.stat, state.showTest, state.selected);
  network.update(f);
  drawChart($("chart"), f.curves);
}

async function start() {
  bindControls();
  try {
    const body = await state.session.open(fromHash(location.hash));
    state.config = body.config; state.table = body.table;
    if (body.warning) message(body.warning, "info");
    if (state.table) showTable(true);
    showConfig();
  } catch (err) { message(`Cannot start a session: ${err.message}`); return; }
  state.session.stream(onStatic, onFrame, () => message("Lost the connection to the server; reload to reconnect."));
  requestAnimationFrame(render);
}

start();
