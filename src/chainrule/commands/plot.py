"""``chainrule plot``: draw a model's loss curves, decision boundary, gradient norms or weights."""

from __future__ import annotations

import argparse
from typing import Any

NAME = "plot"
HELP = "draw a model's loss curves, decision boundary, gradient norms or weight histograms"
EXAMPLE = (
    "chainrule plot model.crm --kind boundary --data train.csv --target label --out boundary.png"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``MODEL --kind KIND --out FILE.png`` plus data for the decision boundary."""
    from ..plots import KINDS

    parser.add_argument("model", metavar="MODEL", help="a model file written by chainrule")
    parser.add_argument(
        "--kind", choices=KINDS, default="loss", help="what to draw (default: loss)"
    )
    parser.add_argument("--out", required=True, metavar="FILE.png", help="the PNG file to write")
    add_data_arguments(parser)
    parser.add_argument("--width", type=float, default=6.4, help="inches (default 6.4)")
    parser.add_argument("--height", type=float, default=4.0, help="inches (default 4.0)")
    parser.add_argument("--dpi", type=int, default=100, help="pixels per inch (default 100)")


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """``--data FILE`` and ``--target COL``, shared with ``chainrule report``."""
    parser.add_argument("--data", metavar="FILE", help="a CSV/Parquet table of points to draw")
    parser.add_argument(
        "--target", metavar="COL", help="the label column of --data (default: the model's target)"
    )


def load_model(path: str) -> Any:
    """The object a model file holds (a model bundle, an estimator or a network)."""
    from ..cli import UsageError

    try:
        from ..io import load
    except ImportError:  # pragma: no cover - io ships with chainrule
        raise UsageError(
            "This chainrule cannot read model files (chainrule.io is missing)."
        ) from None
    return load(path)


def read_data(model: Any, data: str | None, target: str | None) -> tuple[Any, Any]:
    """``(features, labels)`` from ``--data``/``--target``, or ``(None, None)`` without data."""
    from ..cli import UsageError

    if data is None:
        if target is not None:
            raise UsageError("--target names a column of --data; give --data FILE as well.")
        return None, None
    from ..data import read_table, require_columns

    frame = read_table(data)
    target = target or getattr(model, "target", None)
    if not isinstance(target, str):
        raise UsageError("Name the label column of --data with --target COL.")
    require_columns(frame, [target], data, "the --target")
    features = frame.drop(columns=[target])
    if not hasattr(model, "preprocessor"):  # a bare network or estimator takes numbers
        numeric = features.select_dtypes("number")
        if numeric.shape[1] != features.shape[1]:
            raise UsageError(
                f"The feature columns of '{data}' must all be numeric for this model; "
                "drop or encode the others."
            )
        return numeric.to_numpy(dtype=float), frame[target].to_numpy()
    return features, frame[target].to_numpy()


def run(args: argparse.Namespace) -> int:
    from .. import plots
    from ..cli import UsageError

    if args.width <= 0 or args.height <= 0 or args.dpi <= 0:
        raise UsageError("--width, --height and --dpi must be positive.")
    if not args.out.lower().endswith(".png"):
        raise UsageError(f"--out must name a .png file, not '{args.out}'.")
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
        columns = getattr(getattr(model, "preprocessor", None), "input_columns", None)
        if columns is not None:
            X = X[list(columns)].to_numpy(dtype=float)
        fig = plots.plot_decision_boundary(model, X, y, figsize=size)
    path = plots.save(fig, args.out, dpi=args.dpi)
    print(f"wrote {path} ({round(args.width * args.dpi)}×{round(args.height * args.dpi)} pixels)")
    return 0
