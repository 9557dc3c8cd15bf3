"""Start the playground: bind the port, print the address, open the browser, serve until Ctrl-C."""

from __future__ import annotations

import os
import secrets
import socket
import threading
import webbrowser
from collections.abc import Sequence
from pathlib import Path

from chainrule.playground.datasource import MAX_UPLOAD_BYTES, Table, read_csv_bytes

DEFAULT_PORT = 8765


def load_table(path: str | os.PathLike[str]) -> Table:
    """Read a CSV for ``--data`` with the same checks (and limits) as an upload in the page."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"Data file '{p}' does not exist or is not a file; check the path.")
    if p.stat().st_size > MAX_UPLOAD_BYTES:
        raise ValueError(f"'{p}' is larger than the {MAX_UPLOAD_BYTES // 1_000_000} MB limit.")
    try:
        return read_csv_bytes(p.read_bytes(), p.name)
    except ValueError as exc:
        raise ValueError(f"'{p}': {exc}") from None


def bind(port: int, allow_remote: bool) -> socket.socket:
    """A listening socket on 127.0.0.1 (all interfaces with ``allow_remote``); ``0`` picks a port."""
    host = "0.0.0.0" if allow_remote else "127.0.0.1"
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            f"Cannot listen on {host}:{port} ({exc.strerror}); pick another --port."
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(
    port: int = DEFAULT_PORT,
    *,
    open_browser: bool = True,
    table: Table | None = None,
    allow_remote: bool = False,
    hosts: Sequence[str] = (),
) -> None:
    """Run the playground server in this process until interrupted.

    A fresh token is made for every launch and printed in the address (as Jupyter does): with
    ``allow_remote`` no request is answered without it; locally it is optional.

    Parameters
    ----------
    port : int
        TCP port (``0``: any free one).
    open_browser : bool
        Open the page in the default browser once the server listens.
    table : Table, optional
        A table to start every session with.
    allow_remote : bool
        Listen on every interface and answer other machines that present the token.
    hosts : sequence of str
        Names other than local ones and IP addresses that the ``Host`` header may carry.
    """
    import uvicorn

    from chainrule.playground.server import create_app

    sock = bind(port, allow_remote)
    token = secrets.token_urlsafe(32)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/?token={token}"
    app = create_app(allow_remote=allow_remote, table=table, token=token, hosts=hosts)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    print(f"chainrule playground: {url}  (Ctrl-C to stop)", flush=True)
    if allow_remote:
        print(
            "warning: --allow-remote: anyone on the network who has this address (with its "
            "token) can use the playground and download its data",
            flush=True,
        )
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server.run(sockets=[sock])
