"""Every option of every command says what it does: ``chainrule CMD --help`` has no bare flags."""

from __future__ import annotations

import argparse

from chainrule.cli import build_parser


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def test_every_option_of_every_command_has_help_text():
    commands = _subparsers(build_parser())
    assert {"train", "predict", "report", "plot", "export", "info"} <= set(commands)
    missing = [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, sub in commands.items()
        for action in sub._actions
        if not isinstance(action, argparse._HelpAction)
        and (not action.help or action.help == argparse.SUPPRESS)
    ]
    assert missing == []
