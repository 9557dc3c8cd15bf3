"""``chainrule explain``: every quantity of one training step, in the lecture's notation."""

from __future__ import annotations

import argparse
import copy
from typing import Any

import numpy as np

from chainrule.commands._shared import UsageError, load_model, read_data
from chainrule.explain import HalfSumSquaredError, explain_step, lecture_example, mazur_example
from chainrule.network import losses
from chainrule.network.optimizers import GradientTransformation
from chainrule.report import explain_sample, model_optimizer
from chainrule.training.protocol import trained_model

NAME = "explain"
HELP = "show every value of one training step (forward, backward, update) in the lecture's notation"
EXAMPLE = "chainrule explain --rows 2 --format markdown"
REQUIRES: tuple[str, ...] = ()  # a MODEL argument needs safetensors: load() checks
"""Optional packages (keys of chainrule.extras.EXTRAS) checked before the command runs."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """A model file or a built-in example, the sample, the loss and the learning rate."""
    parser.add_argument(
        "model", metavar="MODEL", nargs="?", help="a model file (default: the --example network)"
    )
    parser.add_argument(
        "--example",
        choices=("lecture", "mazur"),
        default="lecture",
        help="without MODEL: the lecture's 2-4-1 network at its initial weights (default) or "
        "Matt Mazur's 2-2-2 worked example",
    )
    parser.add_argument(
        "--input", metavar="X", help="the input: numbers separated by commas, samples by ';'"
    )
    parser.add_argument("--target", metavar="Y", help="the target, written like --input")
    parser.add_argument(
        "--rows", type=int, default=1, help="use the first N rows of the example's or --data's data"
    )
    parser.add_argument(
        "--data", metavar="FILE", help="with MODEL: take the sample from this table"
    )
    parser.add_argument(
        "--loss",
        help="the loss (default: the model's, else half_sse = ½ Σ (ŷ − y)², the lecture's); "
        "e.g. mse, mse_sum, bce, crossentropy",
    )
    parser.add_argument("--lr", type=float, help="learning rate η (lecture 0.1, Mazur 0.5)")
    parser.add_argument(
        "--format",
        choices=("table", "markdown"),
        default="table",
        help="plain-text tables for a terminal, or Markdown for notes (default: table)",
    )
    parser.add_argument("--precision", type=int, default=6, help="significant digits (default 6)")


def parse_numbers(text: str, what: str) -> np.ndarray:
    """``"0.05,0.10;0.2,0.3"`` -> ``[[0.05, 0.1], [0.2, 0.3]]``."""

    rows = [r for r in text.replace(" ", "").split(";") if r]
    try:
        values = [[float(v) for v in row.split(",") if v] for row in rows]
    except ValueError:
        raise UsageError(
            f"{what} must be numbers separated by commas (samples by ';'), e.g. 0.05,0.10; "
            f"got {text!r}."
        ) from None
    if not values or any(len(r) != len(values[0]) or not r for r in values):
        raise UsageError(f"{what} needs the same count of numbers in every sample; got {text!r}.")
    return np.array(values)


def _loss(name: str | None, default: Any) -> Any:

    if name is None:
        return default
    key = name.lower()
    if key in ("half_sse", "lecture"):
        return HalfSumSquaredError()
    if key.endswith("_sum"):
        base, reduction = key[: -len("_sum")], "sum"
    else:
        base, reduction = key, "mean"
    try:
        return losses.get(base, reduction=reduction)
    except (ValueError, TypeError):
        known = ", ".join(["half_sse", *sorted(losses.LOSSES)])
        raise UsageError(
            f"Unknown loss {name!r}; choose one of {known} (add _sum for the summed form)."
        ) from None


def run(args: argparse.Namespace) -> int:

    if args.rows < 1:
        raise UsageError("--rows must be at least 1.")
    if args.precision < 1 or args.precision > 17:
        raise UsageError("--precision must be between 1 and 17 significant digits.")
    if (args.input is None) != (args.target is None):
        raise UsageError("Give --input and --target together (or neither, to use example data).")

    loss_default: Any = None
    lr_default = 0.1
    optimizer, opt_state, which = None, None, ""
    if args.model is None:
        if args.data is not None:
            raise UsageError("--data goes with a MODEL file; the examples bring their own data.")
        if args.example == "mazur":
            network, X, Y = mazur_example()
            lr_default = 0.5
        else:
            network, X, Y = lecture_example()
        x, y = X[: args.rows], Y[: args.rows]
    else:
        model = load_model(args.model)
        trained = trained_model(model)
        network, loss_default = trained.network, trained.loss
        recorded = trained.settings.get("learning_rate")
        if isinstance(recorded, int | float):
            lr_default = float(recorded)
        optimizer, opt_state, which = model_update_rule(trained, args.lr)
        x = y = None
        if args.data is not None:
            features, labels = read_data(model, args.data, None)
            x, y, _, _ = explain_sample(trained, features, labels, rows=args.rows)
        elif args.input is None:
            raise UsageError("With a MODEL, give --input and --target, or --data FILE.")
    if args.input is not None:
        x = parse_numbers(args.input, "--input")
        y = parse_numbers(args.target, "--target")
        if y.shape[1] == 1:
            y = y.reshape(-1)  # one number per sample: a value, or a class index
    loss = _loss(args.loss, loss_default)
    trace = explain_step(
        network, x, y, loss, optimizer, learning_rate=args.lr or lr_default, opt_state=opt_state
    )
    if optimizer is not None and not trace.optimizer_description.startswith("Adam"):
        trace.optimizer_description = f"the model's own optimizer, {which}: W⁺ = W + Δ"
    if args.format == "markdown":
        print(trace.markdown(args.precision), end="")
    else:
        print(trace.table(args.precision), end="")
    return 0


def model_update_rule(trained: Any, learning_rate: float | None) -> tuple[Any, Any, str]:
    """The update rule the model was trained with, the optimizer state its file carries, a name.

    A saved Trainer or estimator carries its rule and its state (Adam's moments, SGD's
    velocity: ``trained.optimizer`` / ``trained.optimizer_state``); a table model records its
    optimizer's name and rate (its first step is explained from a fresh state).
    ``learning_rate`` (``--lr``) replaces the recorded rate, and then the saved state is not
    used. ``(None, None, reason)`` when the model records no one-step rule (L-BFGS).
    """
    own, state = trained.optimizer, trained.optimizer_state
    if isinstance(own, GradientTransformation) and learning_rate is None:
        return own, state, "the model's own"
    optimizer, which = model_optimizer(trained, learning_rate)
    state = None if learning_rate is not None else state
    if optimizer is not None and state is not None:
        try:  # the file's state must fit the rebuilt rule (same chain, same parameters)
            optimizer.update(
                {k: np.zeros_like(v) for k, v in trained.network.params.items()},
                copy.deepcopy(state),
                {k: np.array(v) for k, v in trained.network.params.items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            state = None
    return optimizer, state, which
