// The network drawing: input features, hidden neurons with their maps, outputs, weight lines.

import { CLASS_COLOURS, drawMap, rgb } from "./draw.js";

const NODE = 38;      // node size, px
const ROW = 50;       // vertical distance between nodes
const SVG_NS = "http://www.w3.org/2000/svg";

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export class NetworkView {
  // handlers: toggleFeature(key), neurons(layer, delta), hover(layer, j | null)
  constructor(root, handlers) {
    this.root = root;
    this.handlers = handlers;
    this.links = [];       // [denseIndex][i][j] → SVG path
    this.maps = [];        // [layer][j] → canvas
  }

  build(stat, config) {
    this.root.replaceChildren();
    this.stat = stat;
    const inputs = stat.features.map((f) => ({ label: f.label, map: f.map, key: f.key, on: f.on }))
      .concat(stat.extra.map((name) => ({ label: name, map: null, key: null, on: true })));
    const outputs = stat.problem === "regression" ? ["value"] : stat.classes;
    const columns = [inputs.length, ...config.hidden, outputs.length];
    const height = Math.max(...columns) * ROW + 40;
    const width = this.root.clientWidth || 460;
    const xs = columns.map((_, c) => 70 + c * (width - 110) / (columns.length - 1));
    const ys = (count) => Array.from({ length: count }, (_, j) => 34 + j * ROW);
    this.root.style.height = `${height}px`;
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("width", width); svg.setAttribute("height", height);
    this.root.appendChild(svg);

    // Columns of nodes: the network's rows are the active inputs, in order.
    const active = inputs.map((inp, i) => [inp, i]).filter(([inp]) => inp.on);
    const place = (node, c, j) => {
      node.style.left = `${xs[c] - NODE / 2}px`; node.style.top = `${ys(columns[c])[j] - NODE / 2}px`;
      this.root.appendChild(node);
    };
    inputs.forEach((inp, j) => {
      const node = el("div", "node input" + (inp.on ? "" : " off"));
      const canvas = el("canvas"); canvas.width = NODE; canvas.height = NODE;
      drawMap(canvas, inp.map, stat.grid);
      node.appendChild(canvas);
      const label = el("span", "node-label", inp.label);
      node.appendChild(label);
      node.title = inp.key ? `${inp.label}: click to switch ${inp.on ? "off" : "on"}` : inp.label;
      if (inp.key) node.addEventListener("click", () => this.handlers.toggleFeature(inp.key));
      place(node, 0, j);
    });
    this.maps = config.hidden.map((units, l) => Array.from({ length: units }, (_, j) => {
      const node = el("div", "node hidden-node");
      const canvas = el("canvas"); canvas.width = NODE; canvas.height = NODE;
      node.appendChild(canvas);
      node.addEventListener("mouseenter", () => this.handlers.hover(l, j));
      node.addEventListener("mouseleave", () => this.handlers.hover(null));
      place(node, l + 1, j);
      return canvas;
    }));
    outputs.forEach((name, j) => {
      const node = el("div", "node out-node", name);
      if (stat.problem !== "regression") node.style.background = rgb(CLASS_COLOURS[j % 10]);
      place(node, columns.length - 1, j);
    });
    config.hidden.forEach((units, l) => {
      const head = el("div", "layer-head");
      head.style.left = `${xs[l + 1] - 30}px`;
      const plus = el("button", "add-neuron", "+"); plus.dataset.layer = l;
      const minus = el("button", "remove-neuron", "−"); minus.dataset.layer = l;
      plus.addEventListener("click", () => this.handlers.neurons(l, 1));
      minus.addEventListener("click", () => this.handlers.neurons(l, -1));
      head.append(plus, minus, el("span", "small", `${units}`));
      this.root.appendChild(head);
    });

    // Weight lines, one per entry of each Dense layer's W (in, out).
    const rows = [active.map(([, i]) => i), ...columns.slice(1).map((n) => [...Array(n).keys()])];
    this.links = columns.slice(1).map((n, k) => rows[k].map((from) => ys(n).map((yTo) => {
      const yFrom = ys(columns[k])[from];
      const x0 = xs[k] + NODE / 2, x1 = xs[k + 1] - NODE / 2, mid = (x0 + x1) / 2;
      const path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", `M${x0},${yFrom} C${mid},${yFrom} ${mid},${yTo} ${x1},${yTo}`);
      svg.appendChild(path);
      return path;
    })));
  }

  update(frame) {
    frame.neurons.forEach((layer, l) => layer.forEach((b64, j) => {
      if (this.maps[l] && this.maps[l][j]) drawMap(this.maps[l][j], b64, this.stat.grid);
    }));
    frame.weights.forEach((dense, k) => dense.W.forEach((row, i) => row.forEach((w, j) => {
      const path = this.links[k] && this.links[k][i] && this.links[k][i][j];
      if (!path) return;
      path.setAttribute("stroke", w >= 0 ? "#0877bd" : "#f59322");
      path.setAttribute("stroke-width", (0.4 + Math.min(Math.abs(w), 4) * 1.6).toFixed(2));
      path.setAttribute("data-weight", w);
    })));
  }
}
