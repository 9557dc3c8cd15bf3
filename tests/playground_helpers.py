"""Shared pieces of the playground tests: a real server in a thread, HTTP calls, oracles."""

from __future__ import annotations

import csv
import http.client
import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

FEATURES = {  # written out again here, independently of chainrule.playground.config
    "x1": lambda a, b: a,
    "x2": lambda a, b: b,
    "x1sq": lambda a, b: a**2,
    "x2sq": lambda a, b: b**2,
    "x1x2": lambda a, b: a * b,
    "sinx1": lambda a, b: np.sin(a),
    "sinx2": lambda a, b: np.sin(b),
}


@contextmanager
def running_server(**app_options: Any) -> Iterator[int]:
    """A playground server on a free port of 127.0.0.1, in a thread; yields the port."""
    import uvicorn

    from chainrule.playground.launch import bind
    from chainrule.playground.server import create_app

    sock = bind(0, False)
    app = create_app(**app_options)
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def request(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, dict[str, str]]:
    """One HTTP request; JSON-encodes dict and list bodies. Returns status, body and headers.

    A POST is sent as the playground's own page sends it — with its ``Origin`` and a JSON
    (``text/csv`` for uploads) content type — unless ``headers`` names those itself; a
    header given as ``None`` is left out.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    data = json.dumps(body).encode() if isinstance(body, dict | list) else body
    sent: dict[str, str | None] = {}
    if method == "POST":
        media = "text/csv" if path.split("?")[0].endswith("/upload") else "application/json"
        sent = {"Origin": f"http://127.0.0.1:{port}", "Content-Type": media}
    sent.update(headers or {})
    conn.request(method, path, body=data, headers={k: v for k, v in sent.items() if v is not None})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, payload, {k.lower(): v for k, v in response.getheaders()}


def api(port: int, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """A JSON API call that must succeed."""
    status, payload, _ = request(port, method, path, body)
    assert status == 200, payload
    return json.loads(payload)


def new_session(port: int, config: dict | None = None) -> str:
    """Create a session on the server at ``port`` and return its id."""
    return api(port, "POST", "/api/session", config or {})["id"]


def first_events(port: int, sid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stream's first ``static`` event and first frame."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request("GET", f"/api/session/{sid}/stream")
    response = conn.getresponse()
    static = frame = None
    event = "message"
    while static is None or frame is None:
        line = response.readline().decode().rstrip("\n")
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data = json.loads(line.split(":", 1)[1])
            if event == "static":
                static = data
            else:
                frame = data
            event = "message"
    conn.close()
    return static, frame


def read_points(text: str) -> dict[str, Any]:
    """The exported data CSV as arrays: the plane, other columns, target, part."""
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    values = np.array([[float(c) for c in r[:-2]] for r in body])
    return {
        "header": header,
        "x1": values[:, 0],
        "x2": values[:, 1],
        "extra": values[:, 2:],
        "y": np.array([r[-2] for r in body]),
        "part": np.array([r[-1] for r in body]),
    }


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy of softmax(logits), written out independently of chainrule's losses."""
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(labels)), labels].mean())


def inputs(points: dict[str, Any], features: list[str], mask: np.ndarray) -> np.ndarray:
    """The network's input rows for the points in ``mask``."""
    a, b = points["x1"][mask], points["x2"][mask]
    cols = [FEATURES[f](a, b) for f in features]
    return np.column_stack([*cols, points["extra"][mask]])
