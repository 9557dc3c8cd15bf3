"""``chainrule report``: one self-contained HTML page about a model."""

from __future__ import annotations

import argparse

from chainrule.commands import _shared
from chainrule.commands._shared import UsageError, add_data_arguments, load_model, read_data
from chainrule.report import write_report

NAME = "report"
HELP = "write a self-contained HTML report: architecture, training plots, metrics, an explain trace"
EXAMPLE = "chainrule report model.crm --data train.csv --target label --out report.html"
REQUIRES: tuple[str, ...] = ("safetensors", "matplotlib")
"""Optional packages (keys of chainrule.extras.EXTRAS) checked before the command runs."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``MODEL --out FILE.html`` plus optional data."""

    parser.add_argument("model", metavar="MODEL", help="a model file written by chainrule")
    parser.add_argument("--out", required=True, metavar="FILE.html", help="the page to write")
    add_data_arguments(parser)
    parser.add_argument("--title", help="the page's title")
    parser.add_argument(
        "--lr", type=float, help="learning rate of the explained step (default: the model's)"
    )


def run(args: argparse.Namespace) -> int:

    if not args.out.lower().endswith((".html", ".htm")):
        raise UsageError(f"--out must name an .html file, not '{args.out}'.")
    _shared.check_writable(
        args.out, "--out file", inputs=[args.model, *([args.data] if args.data else [])]
    )
    model = load_model(args.model)
    X, y = read_data(model, args.data, args.target)
    path = write_report(model, args.out, X, y, title=args.title, learning_rate=args.lr)
    print(f"wrote {path}")
    return 0
