"""``chainrule predict MODEL DATA``: predictions for a table, as CSV."""

from __future__ import annotations

import argparse
import sys

from chainrule.commands import _shared
from chainrule.commands._shared import UsageError
from chainrule.io import atomic_write_text
from chainrule.tabular.data import read_table
from chainrule.tabular.preprocessing import value_key

NAME = "predict"
HELP = "predict the target for every row of a CSV or Parquet table, writing CSV"
EXAMPLE = "chainrule predict iris.safetensors new_flowers.csv --proba --out predictions.csv"
REQUIRES: tuple[str, ...] = ("pandas", "safetensors")
"""Optional packages (keys of chainrule.extras.EXTRAS) checked before the command runs."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chainrule predict``."""
    parser.add_argument("model", metavar="MODEL", help="model file written by 'chainrule train'")
    parser.add_argument("data", metavar="DATA", help="table with the training feature columns")
    parser.add_argument(
        "--out", metavar="FILE", default=None, help="CSV file to write (default: standard output)"
    )
    parser.add_argument(
        "--proba",
        action="store_true",
        help="also write one probability column per class, proba_<class> (classifiers only)",
    )
    parser.add_argument(
        "--keep",
        type=_shared.name_list,
        default=[],
        metavar="COL[,COL...]",
        help="copy these columns of DATA (an ID, say) into the output, before the predictions, "
        "so the rows can be joined back",
    )
    _shared.add_na_values(parser)
    _shared.add_sep(parser)
    parser.epilog = (
        (parser.epilog or "")
        + "\n\n"
        + (
            "A row with an infinite number is refused (exit status 1, naming the column and the "
            "row); no prediction is ever written for it."
        )
    )
    _shared.add_device(parser, "predict")


def run(args: argparse.Namespace) -> int:
    """Write a ``prediction`` column (and ``proba_<class>`` columns with ``--proba``)."""

    if args.out:
        _shared.check_writable(args.out, "output file", inputs=[args.model, args.data])
    device = _shared.device(args.device)
    model = _shared.load_table_model(args.model)
    if args.proba and model.task != "classification":
        raise UsageError(
            f"--proba needs a classifier, but '{args.model}' is a regression model; drop --proba."
        )
    frame = read_table(args.data, args.na_values, args.sep)
    missing = [c for c in args.keep if c not in frame.columns]
    if missing:
        raise UsageError(
            f"--keep names {', '.join(map(repr, missing))}, which '{args.data}' does not have; "
            f"its columns are {', '.join(map(str, frame.columns))}."
        )
    X = model.transform(frame, args.data)
    if not device.is_host:  # the weights move once; predictions come back as NumPy
        model.network.to_namespace(device.put(X[:1]))
    result = frame[args.keep].reset_index(drop=True).copy()
    taken = set(args.keep)
    result[_unique("prediction", taken)] = model.predict_matrix(X)
    if args.proba:
        proba = model.predict_proba_matrix(X)
        for k, c in enumerate(model.classes):
            result[_unique(f"proba_{value_key(c)}", taken)] = proba[:, k]
    text = result.to_csv(index=False, float_format="%.10g")
    if args.out:
        atomic_write_text(args.out, text)
        print(f"Wrote {len(result)} predictions to {args.out}.", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``… when a kept column already has it (nothing is overwritten)."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    taken.add(candidate)
    return candidate
