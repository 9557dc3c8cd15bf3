"""The ``chainrule`` command line.

Each sub-command lives in its own module under :mod:`chainrule.commands`. Any mistake a user
can make ends in one line on standard error saying what is wrong and how to fix it, and a
non-zero exit status — never a traceback (set ``CHAINRULE_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from chainrule._version import __version__
from chainrule.commands import (
    demo,
    evaluate,
    explain,
    export,
    gradcheck,
    info,
    playground,
    plot,
    predict,
    report,
    train,
)
from chainrule.commands._shared import UsageError, in_flags, printable
from chainrule.extras import MissingExtraError, require

COMMANDS = [
    train,
    predict,
    evaluate,
    info,
    export,
    gradcheck,
    explain,
    plot,
    report,
    demo,
    playground,
]
"""Sub-command modules in :mod:`chainrule.commands`, in the order ``--help`` lists them."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit status 2
        self.exit(2, f"chainrule: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""

    parser = _Parser(
        prog="chainrule",
        description="Train feedforward neural networks by backpropagation.",
        epilog="Run 'chainrule COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in COMMANDS:
        sub = subparsers.add_parser(
            module.NAME,
            help=module.HELP,
            description=module.HELP[0].upper() + module.HELP[1:] + ".",
            epilog=f"example:\n  {module.EXAMPLE}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run, _requires=module.REQUIRES)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chainrule`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        # Optional packages first, before any work: one line naming the extra to install.
        needs = args._requires + (("pandas",) if getattr(args, "data", None) else ())
        require(*needs, purpose=f"chainrule {args.command}")
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # one line, never a traceback, for every failure
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        message = (
            in_flags(str(exc))  # the library names arguments; the user typed flags
            if isinstance(exc, UsageError | ValueError | OSError | MissingExtraError)
            else (f"{type(exc).__name__}: {exc}")
        )
        print(f"chainrule: error: {printable(message)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
