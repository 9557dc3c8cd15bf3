// Talking to the playground server: the session, the set-up in the URL, the live stream.

const LIST_KEYS = ["features", "hidden", "columns", "axes"];
const NUMBER_KEYS = ["noise", "train_fraction", "seed", "init", "learning_rate", "l1", "l2",
  "dropout", "batch_size"];

// The set-up as a URL fragment: "#dataset=circle&hidden=4,2&…" (a link reproduces it).
export function toHash(config) {
  const parts = [];
  for (const [key, value] of Object.entries(config)) {
    if (Array.isArray(value)) {
      if (LIST_KEYS.includes(key)) parts.push(`${key}=${value.map(encodeURIComponent).join(",")}`);
    } else if (value !== "" && value !== null && value !== undefined) {
      parts.push(`${key}=${encodeURIComponent(value)}`);
    }
  }
  return "#" + parts.join("&");
}

export function fromHash(hash) {
  const config = {};
  for (const part of hash.replace(/^#/, "").split("&")) {
    if (!part.includes("=")) continue;
    const [key, raw] = part.split("=", 2);
    if (LIST_KEYS.includes(key)) {
      const items = raw === "" ? [] : raw.split(",").map(decodeURIComponent);
      config[key] = key === "hidden" ? items.map(Number) : items;
    } else if (NUMBER_KEYS.includes(key)) {
      config[key] = Number(raw);
    } else {
      config[key] = decodeURIComponent(raw);
    }
  }
  return config;
}

async function call(url, options) {
  const response = await fetch(url, options);
  let body = {};
  try { body = await response.json(); } catch (_) { body = { error: `HTTP ${response.status}` }; }
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

// Every change is a JSON (or CSV) POST from this page: the server refuses other content types
// and other origins, so no other site's form or fetch can drive a session (docs/security.md).
function post(url, data) {
  return call(url, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(data) });
}

export class Session {
  constructor() { this.id = null; this.source = null; }

  async open(config) {
    const body = await post("/api/session", config);
    this.id = body.id;
    window.addEventListener("pagehide", () => fetch(this.url("close"), {
      method: "POST", keepalive: true, headers: { "Content-Type": "application/json" }, body: "{}",
    }).catch(() => {}));
    return body;
  }

  url(path) { return `/api/session/${this.id}/${path}`; }
  configure(config) { return post(this.url("config"), config); }
  control(action) { return post(this.url("control"), { action }); }
  explain(part, index) { return post(this.url("explain"), { part, index }); }
  upload(file) {
    return call(this.url(`upload?name=${encodeURIComponent(file.name)}`),
      { method: "POST", headers: { "Content-Type": "text/csv" }, body: file });
  }

  // Server-sent events: "static" when the set-up changes, a plain message per screen update.
  stream(onStatic, onFrame, onError) {
    this.source = new EventSource(this.url("stream"));
    this.source.addEventListener("static", (e) => onStatic(JSON.parse(e.data)));
    this.source.onmessage = (e) => onFrame(JSON.parse(e.data));
    this.source.onerror = () => onError();
  }
}
