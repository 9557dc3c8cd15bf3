"""``chainrule gradcheck``: check backprop's gradients against finite differences, as a table."""

from __future__ import annotations

import argparse

import numpy as np

from chainrule.commands import _shared
from chainrule.commands._shared import UsageError
from chainrule.network import activations, losses
from chainrule.network.activations import ACTIVATIONS
from chainrule.network.containers import Sequential
from chainrule.network.gradcheck import check_network
from chainrule.network.layers import Dense
from chainrule.network.losses import BinaryCrossEntropy, CrossEntropy, Loss, PoissonNLL
from chainrule.persist import load
from chainrule.training.protocol import trained_model

NAME = "gradcheck"
HELP = "compare backprop's gradients with central finite differences, for a model file or an architecture"
EXAMPLE = (
    "chainrule gradcheck --layers 2,4,1 --activation sigmoid --output-activation sigmoid "
    "--loss mse   (the lecture's network)"
)
REQUIRES: tuple[str, ...] = ()  # a MODEL argument needs safetensors: load() checks
"""Optional packages (keys of chainrule.extras.EXTRAS) checked before the command runs."""

LOSS_CHOICES = ("mse", "mae", "huber", "bce", "crossentropy", "poisson")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chainrule gradcheck``."""

    parser.add_argument(
        "model",
        metavar="MODEL",
        nargs="?",
        default=None,
        help="model file to check (or describe an architecture with --layers)",
    )
    parser.add_argument(
        "--layers",
        type=_shared.int_list,
        default=None,
        metavar="D,H,...,K",
        help="widths from input to output, e.g. 2,4,1 (the lecture's network)",
    )
    parser.add_argument(
        "--activation",
        choices=sorted(ACTIVATIONS),
        default="sigmoid",
        help="hidden activation for --layers (default: sigmoid)",
    )
    parser.add_argument(
        "--output-activation",
        choices=sorted(ACTIVATIONS),
        default="identity",
        help="activation after the last layer for --layers (default: identity)",
    )
    parser.add_argument(
        "--loss",
        choices=LOSS_CHOICES,
        default=None,
        help="loss to differentiate (default: the model's, or mse)",
    )
    parser.add_argument(
        "--samples",
        type=_shared.positive_int,
        default=4,
        help="rows in the random batch (default: 4)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--tol",
        type=_shared.positive_float,
        default=1e-6,
        help="largest relative error that passes (default: 1e-6)",
    )


def _loss(name: str) -> Loss:

    if name == "bce":
        return losses.BinaryCrossEntropy(from_logits=True)
    return losses.get(name)


def _loss_name(loss: Loss | None) -> str:
    """The ``--loss`` choice that matches a model's own loss (the targets it needs)."""
    if isinstance(loss, CrossEntropy):
        return "crossentropy"
    # the estimators' multilabel loss wraps BCE (SummedOverOutputs.base)
    if isinstance(getattr(loss, "base", loss), BinaryCrossEntropy):
        return "bce"
    if isinstance(loss, PoissonNLL):
        return "poisson"
    return "mse"


def _targets(loss_name: str, n: int, k: int, gen: np.random.Generator) -> np.ndarray:
    """A random target batch that suits the loss: indices, 0/1, counts or real numbers."""
    if loss_name == "crossentropy":
        return gen.integers(0, k, size=n)
    if loss_name == "bce":
        return gen.integers(0, 2, size=(n, k)).astype(np.float64)
    if loss_name == "poisson":
        return gen.poisson(2.0, size=(n, k)).astype(np.float64)
    return gen.standard_normal((n, k))


def run(args: argparse.Namespace) -> int:
    """Print one row per parameter; exit 1 if any relative error reaches ``--tol``."""

    gen = np.random.default_rng(args.seed)
    if (args.model is None) == (args.layers is None):
        raise UsageError("Give either a MODEL file or an architecture with --layers (e.g. 2,4,1).")
    if args.model is not None:
        try:
            trained = trained_model(load(args.model))
        except TypeError as exc:
            raise UsageError(f"'{args.model}': {exc}") from None
        net = trained.network
        loss_name = args.loss or _loss_name(trained.loss)
        net.astype("float64")  # float32 round-off would swamp the differences
        what = f"the network in {args.model}"
    else:
        if len(args.layers) < 2:
            raise UsageError("--layers needs at least an input and an output width, e.g. 2,1.")
        layers: list = []
        for i, (a, b) in enumerate(zip(args.layers[:-1], args.layers[1:], strict=True)):
            last = i == len(args.layers) - 2
            layers.append(Dense(a, b, weight_init="glorot_normal", rng=gen))
            layers.append(activations.get(args.output_activation if last else args.activation))
        net = Sequential(layers)
        loss_name = args.loss or "mse"
        what = "a " + "-".join(map(str, args.layers)) + f" {args.activation} network"
    n_in = net.in_features
    k = net.output_dim(n_in)
    if loss_name == "crossentropy" and k < 2:
        raise UsageError("--loss crossentropy needs at least two outputs (classes).")
    X = gen.standard_normal((args.samples, n_in))
    y = _targets(loss_name, args.samples, k, gen)
    loss = _loss(loss_name)
    report = check_network(net, loss, X, y, check_input=True)
    print(
        f"Gradient check of {what} with {type(loss).__name__} on {args.samples} random rows "
        f"(central differences, eps 1e-6):"
    )
    print("\n".join("  " + line for line in report.table(args.tol).splitlines()))
    if report.passed(args.tol):
        print(f"All gradients agree: largest relative error {report.max_error:.2e} < {args.tol:g}.")
        return 0
    print(f"Mismatch: largest relative error {report.max_error:.2e} >= {args.tol:g}.")
    return 1
