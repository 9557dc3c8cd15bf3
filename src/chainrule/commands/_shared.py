"""What the commands share: :class:`UsageError`, argument types, loading models and data.

Commands never import each other; what two of them need lives here.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chainrule import devices
from chainrule.persist import load
from chainrule.tabular.data import read_table, require_columns
from chainrule.tabular.model import TabularModel
from chainrule.training.protocol import trained_model


class UsageError(Exception):
    """A mistake by the user: the message says what is wrong and how to fix it."""


# The library's errors name Python arguments (``task='regression'``, ``drop=['id']``); on the
# command line the user typed flags, so the CLI says those instead.
_FLAG_WORDS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"\b(task|impute)='([\w-]+)'"), r"--\1 \2"),
    (re.compile(r"\bdrop=\[(['\"])(.*?)\1\]"), r"--drop \2"),
    (re.compile(r"\bhidden=\(([\d, ]+)\)"), lambda m: "--hidden " + m[1].replace(" ", "")),
    (re.compile(r"\b(target|drop)=(?=[\s),.;]|$)"), r"--\1"),
    (re.compile(r"\bna_values=\[(['\"])(.*?)\1\]"), r"--na-values \2"),
    (
        re.compile(r"plot_loss, plot_gradient_norms or plot_weight_histograms"),
        "--kind loss, gradients or weights",
    ),
]


def in_flags(message: str) -> str:
    """``message`` with the library's argument names (``task='regression'``) as CLI flags."""
    for pattern, replacement in _FLAG_WORDS:
        message = pattern.sub(replacement, message)
    return message


def ensemble_text(ensemble: dict) -> str:
    """A table model's ensemble record in words: members and the epoch each one kept."""
    kept = ", ".join("?" if k is None else str(k) for k in ensemble["epochs_kept"])
    return (
        f"{ensemble['members']} networks, each stopped by its own validation rows; "
        f"epochs kept {kept}"
    )


def int_list(text: str) -> list[int]:
    """``"64,32"`` → ``[64, 32]`` (an argparse type; errors become one-line usage messages)."""
    parts = text.replace(" ", "").split(",")
    if text.strip() and "" in parts:  # "64,,32" or "64,": a width left out, not a typo to skip
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers such as 64,32, got {text!r} "
            "(an empty width between commas)"
        )
    try:
        values = [int(part) for part in parts if part]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers such as 64,32, got {text!r}"
        ) from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"widths must be positive integers, got {text!r}")
    return values


def name_list(text: str) -> list[str]:
    """``"id, name"`` → ``["id", "name"]``."""
    return [part.strip() for part in text.split(",") if part.strip()]


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def seed(text: str) -> int:
    """A random seed: an integer >= 0 (NumPy's generators take no negative seeds)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed must be a whole number >= 0, got {text!r}")
    return value


_CONTROL = dict.fromkeys([*range(0, 9), *range(11, 32), 127, *range(128, 160)])


def printable(text: str) -> str:
    """``text`` without control characters (terminal escapes) other than tab and newline.

    Text read from a model file — column names, classes, layer names — is printed to a
    terminal; an escape sequence hidden in it must not recolour or rewrite the screen.
    """
    return text.translate(_CONTROL)


def positive_float(text: str) -> float:
    """A finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """A finite float >= 0 (a penalty's strength)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def fraction(text: str) -> float:
    """A float in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def batch_size(text: str) -> int | None:
    """A positive integer, or ``full`` for full-batch gradient descent (the lecture's)."""
    if text.lower() == "full":
        return None
    return positive_int(text)


def check_writable(
    path: str | os.PathLike[str], what: str, inputs: Sequence[str | os.PathLike[str]] = ()
) -> None:
    """Fail before any work is done if ``path`` cannot be written, or is one of ``inputs``.

    Checks that ``path`` is not a folder, that its folder exists and is writable (the file is
    written beside itself and renamed, so the folder's permission is what counts), and that
    writing it would not overwrite an input of the same command.
    """

    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise UsageError(f"{what} '{p}' is a folder; give a file name.")
    if not folder.is_dir():
        raise UsageError(f"Cannot write {what} '{p}': folder '{folder}' does not exist; create it.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(
            f"Cannot write {what} '{p}': folder '{folder}' is not writable; choose another place."
        )
    for source in inputs:
        if p.exists() and Path(source).exists() and os.path.samefile(p, source):
            raise UsageError(
                f"{what} '{p}' is also an input of this command; writing it would destroy that "
                "input, so give another file name."
            )


def require(module: str, extra: str, why: str) -> None:
    """Fail up front when an optional dependency is missing, naming the extra to install."""
    try:
        if module == "pandas":
            import pandas  # noqa: F401
        elif module == "safetensors":
            import safetensors  # noqa: F401
        elif module == "onnx":
            import onnx  # noqa: F401
        elif module == "matplotlib":
            import matplotlib  # noqa: F401
        else:  # pragma: no cover - a programming error
            raise ValueError(f"unknown optional dependency {module!r}")
    except ImportError:
        raise UsageError(
            f"{why} needs {module}, which is not installed; install it with: "
            f"pip install 'chainrule[{extra}]'."
        ) from None


def add_na_values(parser: argparse.ArgumentParser) -> None:
    """``--na-values TOKENS``: extra text that means "missing" in the data table."""
    parser.add_argument(
        "--na-values",
        type=name_list,
        default=[],
        metavar="TOK,TOK",
        help="extra tokens that mean a missing value in DATA, e.g. '?,n/a' (then fill them "
        "with --impute or remove the rows)",
    )


def separator(text: str) -> str:
    """A one-character field separator; ``tab`` and ``\\t`` name the tab."""
    sep = "\t" if text in ("tab", "\\t", "\t") else text
    if len(sep) != 1:
        raise argparse.ArgumentTypeError(
            f"expected one character such as ';' or 'tab', got {text!r}"
        )
    return sep


def add_sep(parser: argparse.ArgumentParser) -> None:
    """``--sep CHAR``: the field separator of a CSV file (detected when not given)."""
    parser.add_argument(
        "--sep",
        type=separator,
        default=None,
        metavar="CHAR",
        help="field separator of a .csv or .txt DATA file: ',', ';', 'tab', '|'… "
        "(default: detected from the file's first lines)",
    )


def add_device(parser: argparse.ArgumentParser, what: str) -> None:
    """``--device NAME``: where to compute (:mod:`chainrule.devices`)."""
    parser.add_argument(
        "--device",
        choices=devices.DEVICES,
        default="cpu",
        help=f"where to {what}: cpu (NumPy, default), torch (CUDA if present), torch:cuda, "
        "torch:cpu, cupy",
    )


def device(name: str) -> devices.Device:
    """The device ``--device`` names, checked before any work (missing library, no CUDA)."""
    try:
        return devices.get(name)
    except ImportError as exc:
        raise UsageError(f"--device {name} {str(exc).split(' ', 1)[1]}") from None
    except ValueError as exc:
        raise UsageError(str(exc).replace(f"device={name!r}", f"--device {name}")) from None


def load_table_model(path: str) -> Any:
    """Load a model file trained by ``chainrule train`` (a :class:`TabularModel`)."""

    model = load(path)
    if not isinstance(model, TabularModel):
        raise UsageError(
            f"'{path}' holds {with_article(type(model).__name__)}, not a model trained by "
            "'chainrule train'; "
            "this command needs one."
        )
    return model


def table(rows: Sequence[Sequence[Any]], indent: str = "", right: Sequence[int] = ()) -> str:
    """Rows of cells as aligned plain text (columns listed in ``right`` aligned right)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells if i < len(r)) for i in range(max(map(len, cells)))]
    lines = []
    for row in cells:
        parts = [
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(row)
        ]
        lines.append(indent + "  ".join(parts).rstrip())
    return "\n".join(lines)


def human_size(n_bytes: int) -> str:
    """``1234`` → ``"1.2 kB"``."""
    size = float(n_bytes)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def with_article(kind: str) -> str:
    """``"a TabularModel"``, ``"an MLPClassifier"``."""
    return ("an " if kind.startswith(("MLP", "A", "E", "I", "O", "U")) else "a ") + kind


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """``--data FILE`` and ``--target COL``, shared with ``chainrule report``."""
    parser.add_argument("--data", metavar="FILE", help="a CSV/Parquet table of points to draw")
    parser.add_argument(
        "--target", metavar="COL", help="the label column of --data (default: the model's target)"
    )


def load_model(path: str) -> Any:
    """The object a model file holds (a model bundle, an estimator or a network)."""
    return load(path)


def read_data(model: Any, data: str | None, target: str | None) -> tuple[Any, Any]:
    """``(features, labels)`` from ``--data``/``--target``, or ``(None, None)`` without data."""

    if data is None:
        if target is not None:
            raise UsageError("--target names a column of --data; give --data FILE as well.")
        return None, None

    frame = read_table(data)
    codec = trained_model(model).preprocessing
    target = target or (codec.target if codec is not None else None)
    if not isinstance(target, str):
        raise UsageError("Name the label column of --data with --target COL.")
    require_columns(frame, [target], data, "the --target")
    features = frame.drop(columns=[target])
    if codec is None:  # a bare network or estimator takes numbers
        numeric = features.select_dtypes("number")
        if numeric.shape[1] != features.shape[1]:
            raise UsageError(
                f"The feature columns of '{data}' must all be numeric for this model; "
                "drop or encode the others."
            )
        return numeric.to_numpy(dtype=float), frame[target].to_numpy()
    return features, frame[target].to_numpy()


STREAMED_DEFAULTS = {"impute": "error", "early_stopping": False}
"""Where a ``chainrule train`` option left unset means something else when streaming or on
Dask: the median has no one-pass form, so missing values are refused there as before."""


def fit_options(args: argparse.Namespace) -> dict[str, Any]:
    """The training options every ``chainrule train`` path passes on (in memory, streamed, Dask).

    Options left unset (``None``) take :data:`STREAMED_DEFAULTS`; the in-memory path drops
    them instead so :meth:`TabularModel.fit`'s defaults apply.
    """
    options = {
        "task": None if args.task == "auto" else args.task,
        "hidden": args.hidden,
        "activation": args.activation,
        "optimizer": args.optimizer,
        "learning_rate": args.lr,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "validation_split": args.validation_split,
        "early_stopping": args.early_stopping,
        "patience": args.patience,
        "seed": args.seed,
        "impute": args.impute,
        "drop": args.drop,
    }
    for key, value in STREAMED_DEFAULTS.items():
        if options[key] is None:
            options[key] = value
    return options
