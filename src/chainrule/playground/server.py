"""The playground's web server: a Starlette app of a page, a JSON API and a server-sent stream.

Why Starlette (served by uvicorn): a small, well-kept ASGI toolkit whose streaming responses
make server-sent events a plain async generator, whose static-file serving is safe against
path tricks, and whose requests can be read chunk by chunk (so an upload limit is enforced
while reading, not after). The standard library's ``http.server`` would need all of that
written by hand, and its threading server holds one thread per open stream.

Every request passes :class:`Gate` first, which does what Jupyter's server does for a local
web tool (docs/security.md):

- **client and Host**: unless started with ``allow_remote`` only loopback clients are
  answered, and the ``Host`` header must name this machine (a local name, or with
  ``allow_remote`` an IP address) or one of the ``hosts`` given — which stops DNS-rebinding
  pages, whose requests carry their own domain name;
- **token**: with ``allow_remote`` every request must carry the per-launch token printed at
  start (``?token=`` once, then a cookie; or an ``Authorization: token ...`` header);
- **cross-site requests**: a request that changes state (``POST``) must come from this
  server's own page — an ``Origin`` equal to the server's own — or carry the token, and must
  declare ``application/json`` (``text/csv`` for an upload). A plain HTML form or a "simple"
  cross-site fetch can send neither, so no other site can create, evict or drive a session.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from chainrule.playground.config import UPLOAD, parse
from chainrule.playground.datasource import MAX_UPLOAD_BYTES, Table, read_csv_bytes
from chainrule.playground.session import Session

MAX_SESSIONS = 16
"""Sessions kept at once; an unwatched one (no open stream) is dropped to make room."""
WATCH_GRACE = 30.0
"""Seconds after its stream closes that a session still counts as shown in a tab."""
IDLE_SECONDS = 3600.0
"""A session nobody has touched for this long is dropped."""
MAX_JSON_BYTES = 64_000
STREAM_POLL = 0.008
"""Seconds between the stream's looks for a newer frame (well above 60 looks a second)."""
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
"""Content security policy of the page: nothing from anywhere but this server."""
LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")

log = logging.getLogger(__name__)


class RequestError(Exception):
    """A request the server refuses; ``status`` is its HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Gate:
    """ASGI middleware: the client, ``Host``, token and cross-site checks of the module docstring.

    Parameters
    ----------
    app : ASGI application
    allow_remote : bool
        Answer other machines (then ``token`` is required on every request).
    token : str, optional
        The per-launch secret; ``None`` only for a local server that needs none.
    hosts : sequence of str
        Extra names the ``Host`` header may carry; ``"*"`` switches the Host check off.
    """

    def __init__(
        self, app: Any, allow_remote: bool, token: str | None, hosts: Sequence[str] = ()
    ) -> None:
        if allow_remote and not token:
            raise ValueError("A server that answers other machines needs a token.")
        self.app, self.allow_remote, self.token = app, allow_remote, token
        self.hosts = {h.lower() for h in hosts}

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is not None:
            status, text = refusal
            response = Response(text + "\n", status_code=status, media_type="text/plain")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: dict) -> tuple[int, str] | None:
        """``(status, sentence)`` when the request is refused, else ``None``."""
        headers = _headers(scope)
        if not self.allow_remote and not _loopback_client(scope):
            return 403, (
                "This playground only answers the machine it runs on; start it with "
                "--allow-remote to share it."
            )
        if not self._host_allowed(headers.get("host")):
            return 403, (
                "This playground does not answer to that Host name (a DNS-rebinding guard); "
                "open it by IP address or localhost, or start it with --allowed-host NAME."
            )
        has_token = self._has_token(scope, headers)
        if self.allow_remote and not has_token:
            return 403, (
                "This playground needs the token printed when it was started; open the full "
                "address it printed (…/?token=…)."
            )
        if scope["method"] not in SAFE_METHODS:
            origin = headers.get("origin")
            if not has_token and (origin is None or not _same_origin(origin, headers)):
                return 403, (
                    "Cross-site request refused: changes must come from the playground's own "
                    "page (same Origin) or carry the token."
                )
            media = headers.get("content-type", "").split(";")[0].strip().lower()
            if media not in STATE_MEDIA_TYPES:
                return 415, (
                    "Send Content-Type: application/json (text/csv for an upload); other "
                    "content types are refused so that no plain form can post here."
                )
        return None

    def _host_allowed(self, host: str | None) -> bool:
        if host is None:
            return False
        if "*" in self.hosts:
            return True
        name = _host_name(host)
        if name in LOCAL_NAMES or name in self.hosts:
            return True
        if self.allow_remote:  # an address, not a name: no DNS, so no rebinding
            try:
                ipaddress.ip_address(name.strip("[]"))
                return True
            except ValueError:
                return False
        return False

    def _has_token(self, scope: dict, headers: dict[str, str]) -> bool:
        if not self.token:
            return False
        given = [
            headers.get("authorization", "").removeprefix("token ").strip(),
            _cookie(headers.get("cookie", ""), cookie_name(scope)),
            _query_token(scope),
        ]
        return any(g and secrets.compare_digest(g, self.token) for g in given)


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
STATE_MEDIA_TYPES = ("application/json", "text/csv")
"""Content types a state-changing request must declare: neither is one a plain HTML form or
a CORS "simple request" can send, so a cross-site page would need a preflight we never grant."""


def cookie_name(scope: dict) -> str:
    """The token cookie's name; it carries the port, since cookies are shared across ports."""
    server = scope.get("server") or ("", 0)
    return f"chainrule-playground-{server[1]}"


def _headers(scope: dict) -> dict[str, str]:
    """The request's headers by lower-case name; a header given twice counts as missing."""
    seen: dict[str, str] = {}
    twice: set[str] = set()
    for k, v in scope.get("headers", []):
        key = k.decode("latin-1").lower()
        if key in seen:
            twice.add(key)
        seen[key] = v.decode("latin-1")
    for key in twice - {"cookie"}:
        del seen[key]
    return seen


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8765
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _same_origin(origin: str, headers: dict[str, str]) -> bool:
    """Whether ``Origin`` names the scheme-less host the request was sent to (``Host``)."""
    host = headers.get("host", "").strip().lower()
    return bool(host) and origin.strip().lower() in (f"http://{host}", f"https://{host}")


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def _query_token(scope: dict) -> str:
    from urllib.parse import parse_qs

    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])
    return values[0]


def _loopback_client(scope: dict) -> bool:
    client = scope.get("client")
    try:
        return client is not None and ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


class Sessions:
    """The open sessions, one per browser tab, bounded in number and idle time.

    When :data:`MAX_SESSIONS` are open a new one may replace only a session nobody watches —
    no open stream for :data:`WATCH_GRACE` seconds (a tab's stream reconnects within that) —
    the least recently used first. A session some tab still shows is never dropped for
    another client: with every slot watched, a new session is refused (503).
    """

    def __init__(self, table: Table | None) -> None:
        self.table = table
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self) -> Session:
        """A new session (dropping idle and unwatched least recently used ones as needed)."""
        now = time.monotonic()
        with self._lock:
            stale = [s for s in self._sessions.values() if now - s.last_used > IDLE_SECONDS]
            unwatched = sorted(
                (s for s in self._sessions.values() if s not in stale and not _watched(s, now)),
                key=lambda s: s.last_used,
            )
            excess = len(self._sessions) - len(stale) - MAX_SESSIONS + 1
            if excess > len(unwatched):
                raise RequestError(
                    f"{MAX_SESSIONS} playground tabs are open; close one and reload.", 503
                )
            for s in stale + unwatched[: max(0, excess)]:
                self._sessions.pop(s.id, None)
                s.close()
            session = Session(secrets.token_urlsafe(16), self.table)
            self._sessions[session.id] = session
        return session

    def get(self, sid: str) -> Session:
        """The session ``sid``; a 404 error when it does not exist (any more)."""
        session = self._sessions.get(sid)
        if session is None:
            raise RequestError("This session has ended; reload the page to start a new one.", 404)
        session.last_used = time.monotonic()
        return session

    def __contains__(self, sid: str) -> bool:
        return sid in self._sessions

    def close(self, sid: str | None = None) -> None:
        """Close one session, or all of them."""
        with self._lock:
            ids = list(self._sessions) if sid is None else [sid]
            for i in ids:
                session = self._sessions.pop(i, None)
                if session is not None:
                    session.close()


def _watched(session: Session, now: float) -> bool:
    """Whether a tab shows ``session``: a stream open now or within :data:`WATCH_GRACE`."""
    return session.streams > 0 or now - session.last_streamed < WATCH_GRACE


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    length = request.headers.get("content-length")
    too_big = RequestError(f"The upload is larger than the {limit // 1000} kB limit.", 413)
    if length is not None and length.isdigit() and int(length) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request) -> dict[str, Any]:
    """The JSON object of the body (at most :data:`MAX_JSON_BYTES`)."""
    try:
        value = json.loads(await read_body(request, MAX_JSON_BYTES))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise RequestError("The request body is not JSON.") from None
    if not isinstance(value, dict):
        raise RequestError(
            f"The request body must be a JSON object ({{...}}), not {type(value).__name__}."
        )
    return value


Handler = Callable[[Request], Awaitable[Response]]


def endpoint(fn: Handler) -> Handler:
    """Turn :class:`RequestError` and ``ValueError`` into a JSON ``{"error": ...}`` response."""

    async def wrapped(request: Request) -> Response:
        try:
            return await fn(request)
        except RequestError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except Exception as exc:  # a bug: still one sentence for the page, and a log line
            log.exception("playground request failed")
            return JSONResponse(
                {"error": f"The server failed on this request ({type(exc).__name__}: {exc})."},
                status_code=500,
            )

    return wrapped


def create_app(
    *,
    allow_remote: bool = False,
    table: Table | None = None,
    token: str | None = None,
    hosts: Sequence[str] = (),
) -> Any:
    """The playground as an ASGI application.

    Parameters
    ----------
    allow_remote : bool
        Answer other machines too (otherwise they get 403); needs ``token``.
    table : Table, optional
        A table every new session starts with (``--data``).
    token : str, optional
        The per-launch secret: required on every request with ``allow_remote``; locally it
        lets scripts post without an ``Origin``. ``/?token=...`` sets it as a cookie.
    hosts : sequence of str
        Names the ``Host`` header may carry besides local names (``"*"``: any).
    """
    sessions = Sessions(table)
    static_dir = resources.files("chainrule.playground") / "static"
    headers = {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}

    async def index(request: Request) -> Response:
        given = request.query_params.get("token")
        if token and given and secrets.compare_digest(given, token):
            # Jupyter's way: the token from the printed address becomes a cookie, and the
            # address bar (and history) lose it. HttpOnly: no script reads it; Lax: no
            # other site's form or fetch sends it.
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(
                cookie_name(request.scope), token, httponly=True, samesite="lax", path="/"
            )
            return response
        return FileResponse(str(static_dir / "index.html"), headers=headers)

    @endpoint
    async def new_session(request: Request) -> Response:
        raw = await read_json(request)
        session = sessions.create()
        describe = table.describe() if table is not None else None
        if table is not None and raw.get("dataset") in (None, UPLOAD) and not raw.get("target"):
            # --data: start on the table, its last column the target, the first two the plane
            numeric = [c for c in describe["numeric"] if c != describe["target"]]
            raw = {**raw, "dataset": UPLOAD, "target": describe["target"]}
            raw.update(columns=numeric, axes=numeric[:2], features=["x1", "x2"])
        try:
            config = parse(raw)
            await run_in_threadpool(session.configure, config)
        except ValueError as exc:  # a bad link: say so, and start from the defaults
            await run_in_threadpool(session.configure, parse({}))
            return JSONResponse(
                {"id": session.id, "config": session.config.to_dict(), "table": describe,
                 "warning": f"The link's set-up was not used: {exc}"}
            )  # fmt: skip
        return JSONResponse({"id": session.id, "config": config.to_dict(), "table": describe})

    @endpoint
    async def configure(request: Request) -> Response:
        session = sessions.get(request.path_params["sid"])
        config = parse(await read_json(request))
        await run_in_threadpool(session.configure, config)
        return JSONResponse({"config": config.to_dict()})

    @endpoint
    async def control(request: Request) -> Response:
        session = sessions.get(request.path_params["sid"])
        body = await read_json(request)
        await run_in_threadpool(session.control, str(body.get("action")))
        return JSONResponse({"config": session.config.to_dict(), "playing": session.playing})

    @endpoint
    async def upload(request: Request) -> Response:
        session = sessions.get(request.path_params["sid"])
        blob = await read_body(request, MAX_UPLOAD_BYTES)
        name = request.query_params.get("name", "data.csv")[:200]
        new_table = await run_in_threadpool(read_csv_bytes, blob, name)
        session.table = new_table  # this tab's table only
        return JSONResponse({"table": new_table.describe()})

    @endpoint
    async def explain(request: Request) -> Response:
        session = sessions.get(request.path_params["sid"])
        body = await read_json(request)
        index = body.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            raise RequestError("index must be a whole number.")
        result = await run_in_threadpool(session.explain, str(body.get("part")), index)
        return JSONResponse(result)

    @endpoint
    async def export(request: Request) -> Response:
        session = sessions.get(request.path_params["sid"])
        blob, name, media = await run_in_threadpool(session.export, request.path_params["kind"])
        disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(blob, media_type=media, headers=disposition)

    @endpoint
    async def close(request: Request) -> Response:
        sessions.close(request.path_params["sid"])
        return JSONResponse({"closed": True})

    @endpoint
    async def stream(request: Request) -> Response:
        session = sessions.get(request.path_params["sid"])
        return StreamingResponse(
            _events(request, session),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    api = "/api/session/{sid}"
    routes = [
        Route("/", index),
        Route("/api/session", new_session, methods=["POST"]),
        Route(api + "/config", configure, methods=["POST"]),
        Route(api + "/control", control, methods=["POST"]),
        Route(api + "/upload", upload, methods=["POST"]),
        Route(api + "/explain", explain, methods=["POST"]),
        Route(api + "/export/{kind}", export),
        Route(api + "/close", close, methods=["POST"]),
        Route(api + "/stream", stream),
        Mount("/static", StaticFiles(directory=str(static_dir)), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        sessions.close()  # stop every training thread when the server stops

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sessions = sessions
    return Gate(app, allow_remote, token, hosts)


async def _events(request: Request, session: Session) -> AsyncIterator[str]:
    """Server-sent events: the set-up (``static``) when it changes, then every newer frame."""
    sent_frame = sent_static = 0
    beat = time.monotonic()
    session.streams += 1  # a tab shows it: never dropped to make room (Sessions.create)
    try:
        while session.id in request.app.state.sessions:
            frame_seq, frame = session.frame  # the frame first: its static part is never older
            static_seq, static = session.static
            if static_seq != sent_static:
                yield f"event: static\ndata: {static}\n\n"
                sent_static = static_seq
            if frame_seq != sent_frame:
                yield f"data: {frame}\n\n"
                sent_frame, beat = frame_seq, time.monotonic()
            elif time.monotonic() - beat > 15:
                yield ": still here\n\n"  # keeps proxies and the browser from timing out
                beat = time.monotonic()
            await asyncio.sleep(STREAM_POLL)
    finally:
        session.streams -= 1
        session.last_streamed = time.monotonic()
