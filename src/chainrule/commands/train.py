"""``chainrule train DATA --target COL``: train a network on a CSV or Parquet table and save it."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from chainrule.commands import _dask_train, _shared, _stream_train
from chainrule.network.layers import Dense
from chainrule.network.optimizers import OPTIMIZERS
from chainrule.persist import save
from chainrule.tabular.data import read_table
from chainrule.tabular.model import DEFAULTS, HIDDEN_ACTIVATIONS, TabularModel, describe_history
from chainrule.tabular.preprocessing import EMBED_AUTO_LEVELS, IMPUTE_CHOICES, SCALE_CHOICES
from chainrule.training.progress import ProgressBar

NAME = "train"
HELP = "train a network on a CSV or Parquet table and save it to one model file"
DIVERGED = 3
"""Exit status when training diverged or met non-finite values: the model is not saved."""
EXAMPLE = (
    "chainrule train iris.csv --target species --hidden 16,8 --epochs 200 --out iris.safetensors"
)
REQUIRES: tuple[str, ...] = ("pandas", "safetensors")
"""Optional packages (keys of chainrule.extras.EXTRAS) checked before the command runs."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chainrule train``."""

    parser.add_argument("data", metavar="DATA", help="training table (.csv, .tsv or .parquet)")
    parser.add_argument("--target", required=True, metavar="COL", help="column to predict")
    parser.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default="auto",
        help="what to predict; auto: text, booleans and at most 20 distinct integers are "
        "classes, other numbers regression (default: auto)",
    )
    parser.add_argument(
        "--hidden",
        type=_shared.int_list,
        default=list(DEFAULTS["hidden"]),
        metavar="W1,W2",
        help=f"widths of the hidden layers (default: {','.join(map(str, DEFAULTS['hidden']))})",
    )
    parser.add_argument(
        "--activation", choices=HIDDEN_ACTIVATIONS, default="relu", help="hidden activation"
    )
    parser.add_argument(
        "--optimizer",
        choices=sorted(OPTIMIZERS),
        default="adam",
        help="update rule: adam (default), adamw, rmsprop or sgd (the lecture's)",
    )
    parser.add_argument(
        "--lr",
        type=_shared.positive_float,
        default=None,
        help="learning rate (default: the optimizer's, 0.001 for adam)",
    )
    parser.add_argument(
        "--epochs",
        type=_shared.positive_int,
        default=DEFAULTS["epochs"],
        help=f"most epochs to train (default: {DEFAULTS['epochs']})",
    )
    parser.add_argument(
        "--batch-size",
        type=_shared.batch_size,
        default=DEFAULTS["batch_size"],
        metavar="N|full",
        help="rows per update, or 'full' for full-batch gradient descent "
        f"(default: {DEFAULTS['batch_size']})",
    )
    parser.add_argument(
        "--validation-split",
        type=_shared.fraction,
        default=0.2,
        metavar="F",
        help="fraction of rows held out to score each epoch (default: 0.2)",
    )
    parser.add_argument(
        "--early-stopping",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="stop when the validation loss has not improved for --patience epochs, "
        "keeping the weights of the best epoch (default: on; off with --dask or when "
        "streaming)",
    )
    parser.add_argument(
        "--patience",
        type=_shared.positive_int,
        default=DEFAULTS["patience"],
        help=f"(default: {DEFAULTS['patience']})",
    )
    parser.add_argument(
        "--ensemble",
        type=_shared.positive_int,
        default=None,
        metavar="K",
        help="train K networks, each with its own initial weights and validation rows, and "
        f"keep their average as one model; 1 is a single network (default: {DEFAULTS['ensemble']}; "
        "1 with --dask or when streaming)",
    )
    parser.add_argument("--seed", type=_shared.seed, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--dropout",
        type=_shared.fraction,
        default=0.0,
        metavar="P",
        help="drop each hidden unit with probability P during training (default: 0, none)",
    )
    parser.add_argument(
        "--l2",
        type=_shared.non_negative_float,
        default=None,
        metavar="LAMBDA",
        help="L2 penalty (weight decay) added to the gradient as LAMBDA * w (default: "
        f"{DEFAULTS['l2']:g}; 0 with --dask or when streaming)",
    )
    parser.add_argument(
        "--l1",
        type=_shared.non_negative_float,
        default=0.0,
        metavar="LAMBDA",
        help="L1 penalty added to the gradient as LAMBDA * sign(w) (default: 0)",
    )
    parser.add_argument(
        "--impute",
        choices=IMPUTE_CHOICES,
        default=None,
        help="missing numbers: refuse them (error), or fill with the training mean or median, "
        "adding a missing indicator; a missing category gets a level of its own (default: "
        "median; error with --dask or when streaming)",
    )
    parser.add_argument(
        "--missing-indicator",
        action=argparse.BooleanOptionalAction,
        default=DEFAULTS["missing_indicator"],
        help="with imputation, add a 0/1 column after each numeric column that had missing "
        "values, and a <missing> level to each such text column (default: on)",
    )
    parser.add_argument(
        "--scale",
        choices=SCALE_CHOICES,
        default=DEFAULTS["scale"],
        help="numeric columns: robust (median, interquartile range, smooth clip to ±3: "
        "skewed amounts and outliers tamed) or standard (mean, standard deviation) "
        f"(default: {DEFAULTS['scale']})",
    )
    parser.add_argument(
        "--keep-ids",
        action="store_true",
        help="keep columns that look like row identifiers (a different text in every row, or "
        "integers counting the rows), which are otherwise left out",
    )
    parser.add_argument(
        "--drop",
        type=_shared.name_list,
        default=[],
        metavar="COL,COL",
        help="columns to leave out of the features (identifiers, leaks)",
    )
    parser.add_argument(
        "--embed",
        type=_embed_choice,
        default=None,
        metavar="auto|none|COL,COL",
        help="encode these text columns as codes for a learned embedding instead of one-hot; "
        f"'auto' embeds every text column with more than {EMBED_AUTO_LEVELS} levels (a value "
        "unseen in training gets its own reserved code 0), 'none' one-hot encodes all "
        "(default: auto; none with --dask or when streaming)",
    )
    parser.add_argument(
        "--out",
        default="model.safetensors",
        metavar="MODEL",
        help="model file to write (default: model.safetensors)",
    )
    parser.add_argument(
        "--dask",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="train on a Dask cluster, the rows staying on its workers: the scheduler's address "
        "(tcp://host:8786), or none for a local cluster of --workers processes; DATA may then "
        "be a glob of Parquet files, e.g. 'data/*.parquet'",
    )
    parser.add_argument(
        "--workers",
        type=_shared.positive_int,
        default=2,
        help="processes of the local cluster of --dask without an address (default: 2)",
    )
    parser.add_argument(
        "--memory-limit",
        type=_stream_train.memory_size,
        default=None,
        metavar="SIZE",
        help="a Parquet file whose uncompressed data exceeds SIZE (500MB, 2GB) is streamed "
        "record batch by record batch instead of loaded: one pass for the statistics, then "
        "epochs through a shuffle buffer of SIZE/32; validation rows chosen by a hash of the "
        "row number (default: no limit, load the table)",
    )
    _shared.add_na_values(parser)
    _shared.add_sep(parser)
    _shared.add_device(parser, "train")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.epilog = (
        (parser.epilog or "")
        + "\n\n"
        + (
            "exit status: 0 trained and saved; 1 bad input (nothing trained or saved); 2 usage "
            f"error; {DIVERGED} training diverged (loss NaN or infinite): the model is NOT saved and "
            "any existing --out file is left untouched; 130 interrupted with Ctrl-C (the best "
            "weights so far are saved)."
        )
    )


def _embed_choice(text: str) -> str | list[str]:
    if text.strip() == "none":
        return []
    return "auto" if text.strip() == "auto" else _shared.name_list(text)


def run(args: argparse.Namespace) -> int:
    """Read, train, save, and print a summary; 130 if Ctrl-C stopped training (model saved)."""

    _shared.require("safetensors", "io", "Saving the model")
    _shared.require("pandas", "data", "Reading the table")
    _shared.check_writable(args.out, "model file", inputs=[args.data])
    _shared.device(args.device)
    callbacks = (
        []
        if args.quiet
        else [ProgressBar(epochs=args.epochs, stream=sys.stderr, every=max(1, args.epochs // 20))]
    )
    if args.dask is not None:  # the rows stay on the cluster: commands/_dask_train.py
        model, n_rows, elapsed = _dask_train.fit(args, callbacks)
    elif _stream_train.should_stream(args):  # larger than --memory-limit: commands/_stream_train.py
        model, n_rows, elapsed = _stream_train.fit(args, callbacks)
    else:
        model, n_rows, elapsed = _fit_local(args, callbacks)
    if model.history.stop_reason == "non_finite":  # a diverged run never replaces a model
        kept = "left untouched" if Path(args.out).exists() else "not written"
        print(
            f"chainrule: error: training diverged (the loss became infinite or NaN), so "
            f"'{args.out}' was {kept}; try a smaller --lr or standardize the data "
            f"(exit status {DIVERGED}).",
            file=sys.stderr,
        )
        return DIVERGED
    path = save(model, args.out)

    history = model.history
    stop = history.stop_reason
    outputs = f"{len(model.classes)} classes" if model.task == "classification" else "1 value"
    print(
        f"Trained a {model.task} model for {args.target!r} on {args.data}: {n_rows} rows, "
        f"{model.n_features} features -> {outputs}."
    )
    if model.training.get("unlabelled_rows"):
        print(
            f"Left out {model.training['unlabelled_rows']} rows whose {args.target!r} is missing "
            "(nothing to learn from them)."
        )
    for column, reason in model.training.get("left_out", {}).items():
        if reason == "it has no values":
            print(f"Left out {column!r}: it has no values.")
        else:
            print(
                f"Left out {column!r}: {reason}, so it looks like a row identifier "
                "(keep it with --keep-ids)."
            )
    widths: list[object] = [model.n_features]
    first = model.network.layers[0]
    if not isinstance(first, Dense):  # embeddings widen the coded columns before the first Dense
        members = (model.training.get("ensemble") or {}).get("members", 1)
        embedded = sum(first.embedding_dims) // members  # one member's share of the tables
        widths.append(f"{len(first.numeric) + embedded} embedded")
    widths += [*args.hidden, model.network.output_dim(model.n_features)]
    rows = [
        (
            "network",
            " -> ".join(map(str, widths))
            + f" ({args.activation}){_members(model.training.get('ensemble'))}, "
            f"{model.network.n_params} parameters",
        ),
        *_ensemble_rows(model.training.get("ensemble")),
        *describe_history(
            history, args.epochs, restored=bool(model.training.get("early_stopping"))
        ),
        ("time", f"{elapsed:.1f} s"),
        ("model file", f"{path} ({_shared.human_size(Path(path).stat().st_size)})"),
    ]
    print(_shared.table(rows, indent="  "))
    if stop == "interrupted":
        print(
            f"chainrule: training interrupted; the best weights so far were saved to {path}.",
            file=sys.stderr,
        )
        return 130
    return 0


def _members(ensemble: dict | None) -> str:
    """`` × K averaged`` after the network of one member, when the model is an ensemble."""
    return f" × {ensemble['members']} averaged" if ensemble else ""


def _ensemble_rows(ensemble: dict | None) -> list[tuple[str, str]]:
    """The summary's ``ensemble`` row: the epoch each member kept; the rows after it are member 1's."""
    if not ensemble:
        return []
    return [("ensemble", f"{_shared.ensemble_text(ensemble)} (below: the first network's run)")]


def _fit_local(args: argparse.Namespace, callbacks: list) -> tuple[TabularModel, int, float]:
    """Read the whole table into this process and train on it."""
    frame = read_table(args.data, args.na_values, args.sep)
    options = _shared.fit_options(args)
    for key in _shared.STREAMED_DEFAULTS:  # unset: the in-memory defaults (TabularModel.fit)
        if getattr(args, key) is None:
            options.pop(key)
    started = time.perf_counter()
    model, _ = TabularModel.fit(
        frame,
        args.target,
        **options,
        embed=DEFAULTS["embed"] if args.embed is None else args.embed or None,
        scale=args.scale,
        missing_indicator=args.missing_indicator,
        keep_ids=args.keep_ids,
        callbacks=callbacks,
        source=args.data,
        device=args.device,
        dropout=args.dropout,
        l2=DEFAULTS["l2"] if args.l2 is None else args.l2,
        l1=args.l1,
        ensemble=DEFAULTS["ensemble"] if args.ensemble is None else args.ensemble,
    )
    return model, int(model.training["rows"]), time.perf_counter() - started
