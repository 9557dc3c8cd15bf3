"""``chainrule plot``: draw a model's loss curves, decision boundary, gradient norms or weights."""

from __future__ import annotations

import argparse

from chainrule import plots
from chainrule.commands import _shared
from chainrule.commands._shared import UsageError, add_data_arguments, load_model, read_data
from chainrule.plots import KINDS
from chainrule.training.protocol import trained_model

NAME = "plot"
HELP = "draw a model's loss curves, decision boundary, gradient norms or weight histograms"
EXAMPLE = (
    "chainrule plot model.crm --kind boundary --data train.csv --target label --out boundary.png"
)
REQUIRES: tuple[str, ...] = ("safetensors", "matplotlib")
"""Optional packages (keys of chainrule.extras.EXTRAS) checked before the command runs."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``MODEL --kind KIND --out FILE.png`` plus data for the decision boundary."""

    parser.add_argument("model", metavar="MODEL", help="a model file written by chainrule")
    parser.add_argument(
        "--kind", choices=KINDS, default="loss", help="what to draw (default: loss)"
    )
    parser.add_argument("--out", required=True, metavar="FILE.png", help="the PNG file to write")
    add_data_arguments(parser)
    parser.add_argument(
        "--x",
        metavar="COL",
        help="boundary: the numeric input column on the x axis (default: the first numeric one)",
    )
    parser.add_argument(
        "--y",
        metavar="COL",
        help="boundary: the numeric input column on the y axis (default: the second numeric "
        "one); the model's other inputs are held at their mean or most frequent value",
    )
    parser.add_argument("--width", type=float, default=6.4, help="inches (default 6.4)")
    parser.add_argument("--height", type=float, default=4.0, help="inches (default 4.0)")
    parser.add_argument("--dpi", type=int, default=100, help="pixels per inch (default 100)")


def run(args: argparse.Namespace) -> int:

    if args.width <= 0 or args.height <= 0 or args.dpi <= 0:
        raise UsageError("--width, --height and --dpi must be positive.")
    if not args.out.lower().endswith(".png"):
        raise UsageError(f"--out must name a .png file, not '{args.out}'.")
    _shared.require("matplotlib", "plot", "Plotting")
    _shared.check_writable(
        args.out, "--out file", inputs=[args.model, *([args.data] if args.data else [])]
    )
    if (args.x or args.y) and args.kind != "boundary":
        raise UsageError("--x and --y choose the axes of --kind boundary.")
    if bool(args.x) != bool(args.y):
        raise UsageError("Give both --x COL and --y COL (or neither: the first two numeric).")
    model = load_model(args.model)
    X, y = read_data(model, args.data, args.target)
    size = (args.width, args.height)
    if args.kind == "loss":
        fig = plots.plot_loss(model, figsize=size)
    elif args.kind == "gradients":
        fig = plots.plot_gradient_norms(model, figsize=size)
    elif args.kind == "weights":
        fig = plots.plot_weight_histograms(model, include_bias=True, figsize=size)
    else:
        if X is None:
            raise UsageError(
                "--kind boundary draws the data points: give --data FILE (and --target COL)."
            )
        if args.x and trained_model(model).preprocessing is None:
            raise UsageError("--x and --y name table columns; this model takes a plain matrix.")
        columns = (args.x, args.y) if args.x else None
        fig = plots.plot_decision_boundary(model, X, y, columns=columns, figsize=size)
    path = plots.save(fig, args.out, dpi=args.dpi)
    print(f"wrote {path} ({round(args.width * args.dpi)}×{round(args.height * args.dpi)} pixels)")
    return 0
