"""``chainrule demo``: the lecture's network, trained by chainrule, printing the lecture's lines."""

from __future__ import annotations

import argparse

from chainrule.lecture import run_demo

NAME = "demo"
HELP = "train the lecture's 2-4-1 sigmoid network and print the lecture's output"
EXAMPLE = "chainrule demo"
REQUIRES: tuple[str, ...] = ()
"""Optional packages (keys of chainrule.extras.EXTRAS) checked before the command runs."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The demo takes no options."""


def run(args: argparse.Namespace) -> int:

    run_demo()
    return 0
