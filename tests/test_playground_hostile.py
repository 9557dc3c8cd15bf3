"""The playground against hostile and faulty input, over real HTTP (issue 21).

Cross-site pages, other machines, DNS-rebinding Host names, upload bombs, JSON of the wrong
shape, tables with infinities, a training thread that dies, and fuzzed uploads and set-ups.
Each test names the case of docs/reliability.md it holds.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playground_helpers import api, first_events, new_session, request, running_server

from chainrule.cli import main
from chainrule.playground import session as session_module
from chainrule.playground.datasource import MAX_COLUMNS, MAX_UPLOAD_BYTES
from chainrule.playground.server import MAX_SESSIONS

WIDE_HEADER = b"ab," * 600_000 + b"ab\n" + b"1\n" * 4  # one 1.8 MB header line of one name
GOOD_TABLE = b"p,q,label\n" + b"".join(f"{i},{i % 7},{'ab'[i % 2]}\n".encode() for i in range(40))
TOKEN = "t0k3n-for-the-tests"


@pytest.fixture(scope="module")
def port() -> int:
    with running_server() as p:
        yield p


def error_of(payload: bytes) -> str:
    message = json.loads(payload)["error"]
    assert isinstance(message, str) and message.endswith((".", ")")), message
    return message


# -- 1. upload bombs ----------------------------------------------------------------------------
def test_a_header_of_600000_columns_is_refused_before_parsing(port: int) -> None:
    """Today's main parses the header first (quadratic in its names): it never answers."""
    assert len(WIDE_HEADER) < MAX_UPLOAD_BYTES
    sid = new_session(port)
    start = time.perf_counter()
    status, body, _ = request(port, "POST", f"/api/session/{sid}/upload?name=w.csv", WIDE_HEADER)
    assert status == 400 and "600001 columns" in error_of(body)
    assert time.perf_counter() - start < 10.0
    # a header naming one column twice is refused by name, not renamed to "a.1"
    twice = b"a,b,a\n" + b"1,2,3\n" * 5
    status, body, _ = request(port, "POST", f"/api/session/{sid}/upload", twice)
    assert status == 400 and "'a' more than once" in error_of(body)


def test_data_file_goes_through_the_same_bounded_reader(tmp_path: Path, capsys) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_bytes(WIDE_HEADER)
    start = time.perf_counter()
    assert main(["playground", "--data", str(wide), "--no-browser"]) == 1
    assert time.perf_counter() - start < 10.0
    err = capsys.readouterr().err
    assert "600001 columns" in err and f"at most {MAX_COLUMNS}" in err and err.count("\n") == 1


def test_sigterm_stops_the_server_right_after_an_upload_bomb(tmp_path: Path) -> None:
    """A real ``chainrule playground`` process: the bomb is refused and SIGTERM ends it."""
    proc, url, token = _launch(tmp_path)
    try:
        port = int(re.search(r":(\d+)/", url).group(1))
        status, body, _ = request(
            port, "POST", "/api/session", {}, headers={"Authorization": f"token {token}"}
        )
        sid = json.loads(body)["id"]
        headers = {"Authorization": f"token {token}", "Content-Type": "text/csv"}
        status, _, _ = request(port, "POST", f"/api/session/{sid}/upload", WIDE_HEADER, headers)
        assert status == 400
    finally:
        proc.send_signal(signal.SIGTERM)
        start = time.perf_counter()
        proc.wait(timeout=15)
        proc.stdout.close()
        assert time.perf_counter() - start < 10.0


def _launch(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, str, str]:
    """``chainrule playground --port 0 --no-browser`` in its own process: (process, url, token)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "chainrule", "playground", "--port", "0", "--no-browser", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    line = proc.stdout.readline()
    match = re.search(r"(http://\S+/\?token=(\S+))", line)
    assert match, line
    return proc, match.group(1), match.group(2)


# -- 2. --allow-remote: a token, and the Host check kept -----------------------------------------
def test_allow_remote_requires_the_printed_token_and_keeps_the_host_check(tmp_path: Path) -> None:
    proc, url, token = _launch(tmp_path, "--allow-remote")
    try:
        port = int(re.search(r":(\d+)/", url).group(1))
        assert request(port, "GET", "/")[0] == 403
        status, _, headers = request(port, "GET", f"/?token={token}")
        assert status == 303 and headers["location"] == "/"
        cookie = headers["set-cookie"].split(";")[0]
        assert "httponly" in headers["set-cookie"].lower()
        assert request(port, "GET", "/", headers={"Cookie": cookie})[0] == 200
        assert request(port, "GET", "/", headers={"Cookie": cookie + "x"})[0] == 403
        auth = {"Authorization": f"token {token}"}
        status, body, _ = request(port, "POST", "/api/session", {}, auth)
        sid = json.loads(body)["id"]
        assert status == 200
        # the data cannot be downloaded without the token, even knowing the session
        for kind in ("data", "python"):
            assert request(port, "GET", f"/api/session/{sid}/export/{kind}")[0] == 403
            assert request(port, "GET", f"/api/session/{sid}/export/{kind}", None, auth)[0] == 200
        # a DNS-rebinding page's requests carry its own name: refused even with a token
        status, body, _ = request(port, "GET", "/", None, {**auth, "Host": f"evil.example:{port}"})
        assert status == 403 and b"Host" in body
        ip_host = {**auth, "Host": f"192.168.1.5:{port}"}  # an address has no DNS to rebind
        assert request(port, "GET", "/", None, ip_host)[0] == 200
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        proc.stdout.close()


def test_an_explicit_host_list_is_the_only_way_past_the_host_check() -> None:
    with running_server(hosts=["lab.example"]) as port:
        assert request(port, "GET", "/", headers={"Host": f"lab.example:{port}"})[0] == 200
        assert request(port, "GET", "/", headers={"Host": f"other.example:{port}"})[0] == 403
        assert request(port, "GET", "/", headers={"Host": f"10.0.0.7:{port}"})[0] == 403  # local


# -- 3. cross-site requests and the session cap --------------------------------------------------
@pytest.mark.parametrize(
    ("origin", "media", "status"),
    [
        ("http://evil.example", "text/plain", 403),  # a plain HTML form, or a "simple" fetch
        (None, "text/plain", 403),  # no Origin and no token
        ("http://evil.example", "application/json", 403),  # would need a preflight anyway
        ("null", "application/json", 403),  # a sandboxed frame or a file:// page
        ("same", "application/x-www-form-urlencoded", 415),
        ("same", "text/plain", 415),
        ("same", "multipart/form-data; boundary=x", 415),
    ],
)
def test_cross_site_posts_cannot_create_or_drive_a_session(
    port: int, origin: str | None, media: str, status: int
) -> None:
    sid = new_session(port)
    headers = {
        "Origin": f"http://127.0.0.1:{port}" if origin == "same" else origin,
        "Content-Type": media,
    }
    for path in ("/api/session", f"/api/session/{sid}/control", f"/api/session/{sid}/close"):
        got, body, _ = request(port, "POST", path, b'{"action": "play"}', headers)
        assert got == status, (path, body)
    assert request(port, "GET", f"/api/session/{sid}/export/model")[0] == 200  # still there


def test_no_client_can_evict_a_session_a_tab_is_showing() -> None:
    with running_server() as port:
        watched = new_session(port)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        conn.request("GET", f"/api/session/{watched}/stream")
        stream = conn.getresponse()
        assert stream.status == 200 and stream.readline().startswith(b"event: static")
        try:
            for _ in range(MAX_SESSIONS + 8):  # today's main drops the watched one after 16
                new_session(port)
            assert request(port, "GET", f"/api/session/{watched}/export/model")[0] == 200
        finally:
            conn.close()


# -- 4. training failures reach the page ---------------------------------------------------------
def test_infinite_values_are_refused_at_upload_with_the_column(port: int) -> None:
    sid = new_session(port)
    rows = [f"{i},{i % 5},{'ab'[i % 2]}" for i in range(30)]
    rows[6] = "6,inf,a"
    rows[9] = "9,-inf,b"
    blob = ("p,q,label\n" + "\n".join(rows) + "\n").encode()
    status, body, _ = request(port, "POST", f"/api/session/{sid}/upload", blob)
    message = error_of(body)
    assert status == 400 and "'q'" in message and "2 infinite" in message and "line 8" in message
    huge = ("p,q,t\n" + "".join(f"{i},{(-1) ** i * 1e200},{i}\n" for i in range(20))).encode()
    api(port, "POST", f"/api/session/{sid}/upload", huge)  # finite, but its spread overflows
    config = {"dataset": "upload", "problem": "regression", "target": "t"}
    config.update(columns=["p", "q"], axes=["p", "q"])
    status, body, _ = request(port, "POST", f"/api/session/{sid}/config", config)
    assert status == 400 and "'q'" in error_of(body) and "too large" in error_of(body)


def test_a_training_thread_that_dies_becomes_a_status_on_the_page(port: int, monkeypatch) -> None:
    sid = new_session(port)

    def broken_tick(self) -> None:
        raise RuntimeError("the disk caught fire.")

    monkeypatch.setattr(session_module.Session, "_tick", broken_tick)
    api(port, "POST", f"/api/session/{sid}/control", {"action": "play"})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        _, frame = first_events(port, sid)
        if frame["status"]:
            break
        time.sleep(0.05)
    assert frame["playing"] is False and "disk caught fire" in frame["status"]
    assert "Training stopped" in frame["status"]


# -- 5. JSON of the wrong shape ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body", "word"),
    [
        ("/api/session", [], "JSON object"),
        ("/api/session", {"hidden": [True, True]}, "hidden"),
        ("/api/session", "x", "JSON object"),
        ("config", {"hidden": [True, True]}, "hidden"),
        ("config", [], "JSON object"),
        ("config", {"dataset": []}, "dataset"),
        ("config", {"learning_rate": True}, "learning_rate"),
        ("config", {"target": ["a"]}, "target"),
        ("control", [], "JSON object"),
        ("control", {"action": ["play"]}, "action"),
        ("explain", {"part": "test", "index": True}, "index"),
        ("explain", [1, 2], "JSON object"),
    ],
)
def test_json_of_the_wrong_shape_gets_400_and_a_sentence(
    port: int, path: str, body: object, word: str
) -> None:
    if not path.startswith("/"):
        path = f"/api/session/{new_session(port)}/{path}"
    raw = json.dumps(body).encode()
    status, payload, _ = request(port, "POST", path, raw)
    if path == "/api/session" and status == 200:  # a bad link starts from the defaults
        assert word in json.loads(payload)["warning"]
        return
    assert status == 400 and word in error_of(payload), payload


# -- fuzzing: no input makes the server fail or stall --------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
config_keys = st.sampled_from(
    ["dataset", "hidden", "features", "learning_rate", "batch_size", "problem", "target",
     "columns", "axes", "seed", "optimizer", "activation", "noise", "train_fraction"]
)  # fmt: skip
configs = st.dictionaries(config_keys, json_values, max_size=5) | json_values


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=configs, action=json_values)
def test_fuzzed_setups_get_200_or_400_never_500(port: int, body: object, action: object) -> None:
    status, payload, _ = request(port, "POST", "/api/session", json.dumps(body).encode())
    assert status in (200, 400), payload
    sid = json.loads(payload)["id"] if status == 200 else new_session(port)
    status, payload, _ = request(port, "POST", f"/api/session/{sid}/config", json.dumps(body))
    assert status in (200, 400), payload
    if status == 400:
        error_of(payload)
    control = json.dumps({"action": action}).encode()
    status, payload, _ = request(port, "POST", f"/api/session/{sid}/control", control)
    assert status in (200, 400), payload
    request(port, "POST", f"/api/session/{sid}/close", b"{}")


cells = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats().map(repr),
    st.sampled_from(["", "inf", "-inf", "nan", "NA", "a", '"x,y"', '"', "1e309", "0x1F", "true"]),
    st.text(alphabet=",;\"'\n\r\t ab1.-", max_size=6),
)
csv_files = st.lists(st.lists(cells, min_size=1, max_size=8), min_size=1, max_size=30).map(
    lambda rows: "\n".join(",".join(r) for r in rows).encode()
)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(blob=csv_files | st.binary(max_size=300))
def test_fuzzed_uploads_are_answered_quickly_with_200_or_a_sentence(port: int, blob: bytes) -> None:
    sid = new_session(port)
    start = time.perf_counter()
    status, payload, _ = request(port, "POST", f"/api/session/{sid}/upload", blob)
    assert time.perf_counter() - start < 5.0
    assert status in (200, 400), payload
    if status == 400:
        error_of(payload)
        return
    table = json.loads(payload)["table"]
    numeric = [c for c in table["numeric"] if c != table["target"]][:2]
    if len(numeric) < 2:
        return
    config = {"dataset": "upload", "problem": "regression", "target": table["target"]}
    config.update(columns=numeric, axes=numeric)
    status, payload, _ = request(port, "POST", f"/api/session/{sid}/config", config)
    assert status in (200, 400), payload
    if status == 200:
        status, payload, _ = request(
            port, "POST", f"/api/session/{sid}/control", {"action": "step"}
        )
        assert status == 200, payload
        _, frame = first_events(port, sid)
        assert frame["epoch"] == 1 or frame["status"]
