// Drawing: maps into canvases, the surface with its points, the network, the loss curves.

const NEG = [245, 147, 34];   // orange: negative values, class 0
const POS = [8, 119, 189];    // blue: positive values, class 1
const WHITE = [232, 234, 235];
export const CLASS_COLOURS = [NEG, POS, [60, 160, 80], [200, 60, 120], [130, 90, 200],
  [150, 110, 60], [230, 200, 40], [90, 90, 90], [40, 190, 190], [220, 70, 50]];

function mix(a, b, t) { return [0, 1, 2].map((i) => a[i] + (b[i] - a[i]) * t); }
export function rgb(c) { return `rgb(${c.map(Math.round).join(",")})`; }

// A byte in 0…255 with 128 meaning zero: orange below, blue above, pale at zero.
export function diverging(byte) {
  const t = byte / 127.5 - 1;
  return t < 0 ? mix(WHITE, NEG, -t) : mix(WHITE, POS, t);
}

// The surface is paler than the points drawn on it, so that they stand out.
function pale(c) { return mix(WHITE, c, 0.6); }

export function decode(b64) {
  const raw = atob(b64);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

const scratch = document.createElement("canvas");

// Paint a size×size grid of colours, scaled smoothly onto the canvas.
function paint(canvas, size, colourAt) {
  scratch.width = size; scratch.height = size;
  const sctx = scratch.getContext("2d");
  const image = sctx.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const c = colourAt(i);
    image.data.set([c[0], c[1], c[2], 255], i * 4);
  }
  sctx.putImageData(image, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(scratch, 0, 0, canvas.width, canvas.height);
}

export function drawMap(canvas, b64, size) {
  if (!b64) {
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#ddd"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    return;
  }
  const bytes = decode(b64);
  paint(canvas, size, (i) => diverging(bytes[i]));
}

export function drawSurface(canvas, surface, size) {
  const data = decode(surface.data);
  if (surface.kind === "multi") {
    const conf = decode(surface.conf);
    paint(canvas, size, (i) => mix(WHITE, CLASS_COLOURS[data[i] % 10], 0.1 + 0.5 * conf[i] / 255));
  } else {
    paint(canvas, size, (i) => pale(diverging(data[i])));
  }
}

// Where a data point lands on the canvas.
export function toPixel(canvas, domain, x, y) {
  const [[x0, x1], [y0, y1]] = domain;
  return [(x - x0) / (x1 - x0) * canvas.width, (1 - (y - y0) / (y1 - y0)) * canvas.height];
}

export function pointColour(stat, value) {
  if (stat.problem === "regression") {
    return diverging(Math.max(0, Math.min(255, 127.5 + 127.5 * value / stat.y_range)));
  }
  return CLASS_COLOURS[value % 10];
}

export function drawPoints(canvas, stat, showTest, selected) {
  const ctx = canvas.getContext("2d");
  const sets = showTest ? [["train", "#fff"], ["test", "#000"]] : [["train", "#fff"]];
  for (const [part, stroke] of sets) {
    ctx.strokeStyle = stroke;
    ctx.lineWidth = 1;
    for (const [x, y, v] of stat[part]) {
      const [px, py] = toPixel(canvas, stat.domain, x, y);
      ctx.beginPath(); ctx.arc(px, py, 3.2, 0, 2 * Math.PI);
      ctx.fillStyle = rgb(pointColour(stat, v)); ctx.fill(); ctx.stroke();
    }
  }
  if (selected) {
    const [x, y] = stat[selected.part][selected.index];
    const [px, py] = toPixel(canvas, stat.domain, x, y);
    ctx.strokeStyle = "#d0021b"; ctx.lineWidth = 2.5;
    ctx.beginPath(); ctx.arc(px, py, 8, 0, 2 * Math.PI); ctx.stroke();
  }
}

export function drawChart(canvas, curves) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const all = curves.train.concat(curves.test).filter((v) => v !== null);
  if (!all.length) return;
  const top = Math.max(...all) || 1;
  const n = Math.max(curves.train.length - 1, 1);
  for (const [part, colour, width] of [["train", "#999", 1.5], ["test", "#222", 2]]) {
    ctx.strokeStyle = colour; ctx.lineWidth = width; ctx.beginPath();
    curves[part].forEach((v, i) => {
      if (v === null) return;
      const x = i / n * (canvas.width - 2) + 1;
      const y = canvas.height - 2 - v / top * (canvas.height - 6);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
}
