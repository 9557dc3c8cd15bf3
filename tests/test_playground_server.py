"""The playground server over real HTTP: limits, bad input, isolation, locality, and oracles.

Every number the server reports is checked against one computed here from what it lets a user
download (the data and the model file), with the loss written out independently.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from playground_helpers import (
    api,
    cross_entropy,
    first_events,
    inputs,
    new_session,
    read_points,
    request,
    running_server,
)

import chainrule as cr
from chainrule.cli import main
from chainrule.playground.datasource import MAX_UPLOAD_BYTES
from chainrule.playground.server import create_app


@pytest.fixture(scope="module")
def port() -> int:
    with running_server() as p:
        yield p


def test_page_is_served_with_a_strict_content_policy(port: int) -> None:
    status, body, headers = request(port, "GET", "/")
    assert status == 200 and b'src="/static/app.js"' in body
    assert "default-src 'self'" in headers["content-security-policy"]
    for name in ("app.js", "api.js", "draw.js", "network.js", "style.css"):
        assert request(port, "GET", f"/static/{name}")[0] == 200
    assert b"http" not in request(port, "GET", "/static/app.js")[1]  # nothing from elsewhere


def test_other_hosts_are_refused(port: int) -> None:
    status, body, _ = request(port, "GET", "/", headers={"Host": "evil.example:80"})
    assert status == 403 and b"Host" in body
    assert request(port, "GET", "/", headers={"Host": f"localhost:{port}"})[0] == 200

    async def call(app, client: str, extra: tuple = ()) -> int:  # from another machine's address
        scope = {
            "type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": b"",
            "headers": [(b"host", b"127.0.0.1"), *extra], "client": (client, 5000),
            "server": ("127.0.0.1", 80), "scheme": "http", "root_path": "", "http_version": "1.1",
        }  # fmt: skip
        sent: list[dict] = []
        done = asyncio.Event()
        requests = [{"type": "http.request", "body": b""}]

        async def receive() -> dict:
            if requests:
                return requests.pop()
            await done.wait()  # the client hangs up once the response is complete
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        await app(scope, receive, send)
        return sent[0]["status"]

    assert asyncio.run(call(create_app(), "192.168.1.20")) == 403
    remote = create_app(allow_remote=True, token="secret")
    assert asyncio.run(call(remote, "192.168.1.20")) == 403  # no token
    assert asyncio.run(call(remote, "192.168.1.20", ((b"authorization", b"token secret"),))) == 200


def test_uploads_too_large_or_malformed_get_a_message(port: int) -> None:
    sid = new_session(port)
    upload = f"/api/session/{sid}/upload?name=t.csv"
    big = b"a,b,c\n" + b"1,2,3\n" * (MAX_UPLOAD_BYTES // 6 + 10)
    status, body, _ = request(port, "POST", upload, big)
    assert status == 413 and "limit" in json.loads(body)["error"]
    bad = {
        b"\xff\xfe\x00garbage": "UTF-8",
        b"": "empty",
        b"a,b\n1,2\n3,4\n5,6\n7,8\n": "columns",
        b'a,b,c\n1,2,3\n4,"5\n': "parse",
        b"a,b,c\nx,y,z\nu,v,w\nq,r,s\nt,u,v\n": "numeric",
    }
    for blob, word in bad.items():
        status, body, _ = request(port, "POST", upload, blob)
        assert status == 400 and word in json.loads(body)["error"], (blob, body)
    good = b"p,q,label\n" + b"".join(f"{i},{i % 7},{'ab'[i % 2]}\n".encode() for i in range(40))
    table = api(port, "POST", upload, good)["table"]
    assert table["rows"] == 40 and table["numeric"] == ["p", "q"]
    config = {"dataset": "upload", "target": "label", "columns": ["p", "q"], "axes": ["p", "q"]}
    assert api(port, "POST", f"/api/session/{sid}/config", config)["config"]["target"] == "label"
    status, body, _ = request(
        port, "POST", f"/api/session/{sid}/config", {**config, "hidden": [99]}
    )
    assert status == 400 and "hidden" in json.loads(body)["error"]
    status, body, _ = request(port, "POST", f"/api/session/{sid}/config", b"{not json")
    assert status == 400 and "JSON" in json.loads(body)["error"]
    assert request(port, "GET", "/api/session/nope/export/model")[0] == 404


def test_two_sessions_are_isolated(port: int) -> None:
    a, b = new_session(port), new_session(port, {"dataset": "xor", "hidden": [3]})
    api(port, "POST", f"/api/session/{a}/config", {"dataset": "spiral", "hidden": [5, 5]})
    for _ in range(3):
        api(port, "POST", f"/api/session/{a}/control", {"action": "step"})
    static_a, frame_a = first_events(port, a)
    static_b, frame_b = first_events(port, b)
    assert (frame_a["epoch"], frame_b["epoch"]) == (3, 0)
    assert static_a["config"]["dataset"] == "spiral" and static_b["config"]["dataset"] == "xor"
    assert [len(w["b"]) for w in frame_b["weights"]] == [3, 2]


def test_reported_losses_and_exports_agree_with_independent_computation(
    port: int, tmp_path: Path
) -> None:
    features = ["x1", "x2", "x1sq", "sinx2"]
    sid = new_session(port, {"dataset": "moons", "features": features, "hidden": [5, 3]})
    for _ in range(4):
        api(port, "POST", f"/api/session/{sid}/control", {"action": "step"})
    _, frame = first_events(port, sid)
    points = read_points(request(port, "GET", f"/api/session/{sid}/export/data")[1].decode())
    model_file = tmp_path / "net.safetensors"
    model_file.write_bytes(request(port, "GET", f"/api/session/{sid}/export/model")[1])
    net = cr.load(model_file)
    for part in ("train", "test"):
        mask = points["part"] == part
        logits = net.predict(inputs(points, features, mask))
        loss = cross_entropy(logits, points["y"][mask].astype(int))
        assert frame[f"{part}_loss"] == pytest.approx(loss, abs=2e-6)
    # ONNX: the same logits from onnxruntime
    ort = pytest.importorskip("onnxruntime")
    onnx_bytes = request(port, "GET", f"/api/session/{sid}/export/onnx")[1]
    run = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    X = inputs(points, features, points["part"] == "test")
    (out,) = run.run(None, {"input": X.astype(np.float32)})
    np.testing.assert_allclose(out, net.predict(X), rtol=1e-4, atol=1e-4)
    # explain: the trace is of that point, with its loss at the current weights
    result = api(port, "POST", f"/api/session/{sid}/explain", {"part": "test", "index": 2})
    row = np.flatnonzero(points["part"] == "test")[2]
    x = inputs(points, features, np.arange(len(points["y"])) == row)
    np.testing.assert_allclose(result["inputs"], x[0])
    label = points["y"][row : row + 1].astype(int)
    assert result["loss"] == pytest.approx(cross_entropy(net.predict(x), label), rel=1e-9)
    assert "d_output" in result["html"] and "plain SGD" in result["optimizer"]
    status, body, _ = request(
        port, "POST", f"/api/session/{sid}/explain", {"part": "test", "index": 10**6}
    )
    assert status == 400 and "no test point" in json.loads(body)["error"]


def test_cli_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["playground", "--data", str(tmp_path / "missing.csv"), "--no-browser"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chainrule: error: Data file") and err.count("\n") == 1
    bad = tmp_path / "one.csv"
    bad.write_text("a\n1\n2\n3\n4\n5\n")
    assert main(["playground", "--data", str(bad), "--no-browser"]) == 1
    assert "columns" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = taken.getsockname()[1]
        assert main(["playground", "--port", str(busy), "--no-browser"]) == 1
    err = capsys.readouterr().err
    assert "pick another --port" in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as stop:
        main(["playground", "--port", "70000"])
    assert stop.value.code == 2
