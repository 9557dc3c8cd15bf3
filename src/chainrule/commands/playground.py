"""``chainrule playground``: train networks in the browser, on chainrule's own engine."""

from __future__ import annotations

import argparse

from chainrule.commands._shared import UsageError
from chainrule.playground.launch import load_table, serve

NAME = "playground"
HELP = "open the browser playground: watch a network train live, explain a step, export it"
EXAMPLE = "chainrule playground --data iris.csv"
REQUIRES: tuple[str, ...] = ("starlette", "uvicorn", "pandas", "safetensors")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is between 0 and 65535, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chainrule playground``."""
    parser.add_argument(
        "--port", type=_port, default=8765, help="port on 127.0.0.1 (default: 8765; 0: any free)"
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="print the address but do not open a browser"
    )
    parser.add_argument("--data", metavar="FILE.csv", help="a CSV table to start with")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="listen on all interfaces and answer other machines that present the token "
        "printed at start (default: this machine only)",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name the browser may use besides localhost and IP addresses (repeatable; "
        "'*' turns the Host check off, e.g. behind a proxy)",
    )


def run(args: argparse.Namespace) -> int:
    """Check the options and the data, then serve until Ctrl-C."""
    table = None
    if args.data is not None:
        try:
            table = load_table(args.data)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    serve(
        args.port,
        open_browser=not args.no_browser,
        table=table,
        allow_remote=args.allow_remote,
        hosts=args.allowed_host,
    )
    return 0
