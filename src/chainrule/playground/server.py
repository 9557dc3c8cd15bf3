"""The playground's web server: a Starlette app of a page, a JSON API and a server-sent stream.

Why Starlette (served by uvicorn): a small, well-kept ASGI toolkit whose streaming responses
make server-sent events a plain async generator, whose static-file serving is safe against
path tricks, and whose requests can be read chunk by chunk (so an upload limit is enforced
while reading, not after). The standard library's ``http.server`` would need all of that
written by hand, and its threading server holds one thread per open stream.

Every request is checked by :class:`LocalOnly`: unless started with ``allow_remote``, the
server answers only the machine it runs on (its client address must be a loopback address and
the ``Host`` header must name this machine, which also stops DNS-rebinding pages).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from chainrule.playground.config import UPLOAD, parse
from chainrule.playground.datasource import MAX_UPLOAD_BYTES, Table, read_csv_bytes
from chainrule.playground.session import Session

MAX_SESSIONS = 16
"""Sessions kept at once; the least recently used one is dropped to make room."""
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


class RequestError(Exception):
    """A request the server refuses; ``status`` is its HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class LocalOnly:
    """ASGI middleware: refuse other machines (403) unless remote access was asked for."""

    def __init__(self, app: Any, allow_remote: bool) -> None:
        self.app, self.allow_remote = app, allow_remote

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] in ("http", "websocket") and not self.allow_remote:
            if not (_loopback_client(scope) and _local_host_header(scope)):
                response = Response(
                    "This playground only answers the machine it runs on; start it with "
                    "--allow-remote to share it.\n",
                    status_code=403,
                    media_type="text/plain",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _loopback_client(scope: dict) -> bool:
    client = scope.get("client")
    try:
        return client is not None and ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


def _local_host_header(scope: dict) -> bool:
    hosts = [v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"]
    if len(hosts) != 1:
        return False
    host = hosts[0].lower()
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name in LOCAL_NAMES


class Sessions:
    """The open sessions, one per browser tab, bounded in number and idle time."""

    def __init__(self, table: Table | None) -> None:
        self.table = table
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self) -> Session:
        """A new session (dropping idle and least recently used ones as needed)."""
        now = time.monotonic()
        with self._lock:
            stale = [s for s in self._sessions.values() if now - s.last_used > IDLE_SECONDS]
            by_age = sorted(self._sessions.values(), key=lambda s: s.last_used)
            stale += by_age[: max(0, len(self._sessions) - MAX_SESSIONS + 1)]
            for s in stale:
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

    def close(self, sid: str | None = None) -> None:
        """Close one session, or all of them."""
        with self._lock:
            ids = list(self._sessions) if sid is None else [sid]
            for i in ids:
                session = self._sessions.pop(i, None)
                if session is not None:
                    session.close()


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


async def read_json(request: Request) -> Any:
    """The JSON body (at most :data:`MAX_JSON_BYTES`)."""
    try:
        return json.loads(await read_body(request, MAX_JSON_BYTES))
    except (ValueError, UnicodeDecodeError):
        raise RequestError("The request body is not JSON.") from None


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

    return wrapped


def create_app(*, allow_remote: bool = False, table: Table | None = None) -> Any:
    """The playground as an ASGI application.

    Parameters
    ----------
    allow_remote : bool
        Answer other machines too (otherwise they get 403).
    table : Table, optional
        A table every new session starts with (``--data``).
    """
    sessions = Sessions(table)
    static_dir = resources.files("chainrule.playground") / "static"
    headers = {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}

    async def index(request: Request) -> Response:
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
        if not isinstance(index, int):
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
    return LocalOnly(app, allow_remote)


async def _events(request: Request, session: Session) -> AsyncIterator[str]:
    """Server-sent events: the set-up (``static``) when it changes, then every newer frame."""
    sent_frame = sent_static = 0
    beat = time.monotonic()
    while session.id in request.app.state.sessions._sessions:
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
