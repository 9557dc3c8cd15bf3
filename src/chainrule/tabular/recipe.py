"""What every way of fitting a table model shares: the objective, the network, the run record.

:meth:`TabularModel.fit <chainrule.tabular.model.TabularModel.fit>` (a table in memory) and
:func:`chainrule.tabular.stream.fit_parquet` (a table streamed from disk) differ only in how
rows reach the Trainer; the loss for the task, the network and its optimizer, the callbacks and
the ``training`` record in the model file come from here, so the two cannot drift apart.

Regularization: dropout after each hidden activation, L2 and L1 penalties.

* ``dropout`` :math:`p`: a :class:`~chainrule.network.layers.Dropout` after every hidden
  activation (inverted dropout: nothing to rescale at inference);
* ``l2`` :math:`\\lambda_2`: the optimizer's ``weight_decay``, :math:`g + \\lambda_2\\theta`
  (PyTorch's; decoupled for ``adamw``);
* ``l1`` :math:`\\lambda_1`: :func:`~chainrule.network.regularization.add_l1`,
  :math:`g + \\lambda_1 \\operatorname{sign}(\\theta)`, before the optimizer.

Text columns with many levels are embedded: :func:`with_embeddings` builds the first layer
of such a model.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.network import activations as activations_module
from chainrule.network import losses as losses_module
from chainrule.network import metrics as metrics_module
from chainrule.network import optimizers as optimizers_module
from chainrule.network.activations import Activation
from chainrule.network.containers import Sequential
from chainrule.network.embedding import ColumnEmbedding
from chainrule.network.layers import Dense, Dropout, Layer
from chainrule.network.optimizers import GradientTransformation
from chainrule.network.regularization import regularize
from chainrule.tabular.data import DataError
from chainrule.tabular.preprocessing import TablePreprocessor
from chainrule.training.callbacks import Callback, EarlyStopping, GradientNorms
from chainrule.training.trainer import Trainer

_HE_FAMILY = ("relu", "leaky_relu", "elu", "gelu")

DTYPE = "float32"
"""The precision a table model trains and predicts in: the preprocessed columns are a few units
wide, well inside single precision's 7 digits, and single precision halves the time of the
matrix products that are most of training (the network takes the dtype of its input)."""


def build_network(
    n_in: int, hidden: Sequence[int], n_out: int, activation: str, rng: np.random.Generator
) -> Sequential:
    """``Dense → activation`` for each hidden width, then a linear ``Dense`` output layer.

    ReLU-family layers start from He-uniform weights (variance :math:`2/n_{in}` keeps the
    activations' scale through a ReLU), tanh and sigmoid from Glorot-uniform.
    """
    init = "he_uniform" if activation in _HE_FAMILY else "glorot_uniform"
    layers: list[Any] = []
    width = n_in
    for h in hidden:
        layers += [
            Dense(width, int(h), weight_init=init, rng=rng),
            activations_module.get(activation),
        ]
        width = int(h)
    layers.append(Dense(width, n_out, weight_init="glorot_uniform", rng=rng))
    return Sequential(layers)


def rmse_in_target_units(scale: float) -> Any:
    """The ``rmse`` metric of a standardized target, in the target's own units."""

    def rmse(y_true: Any, y_pred: Any) -> float:
        return scale * metrics_module.rmse(y_true, y_pred)  # s_y · RMSE(t, t̂) = RMSE(y, ŷ)

    return rmse


def task_objective(
    task: str, classes: Sequence[Any] | None, scale: float, label_smoothing: float = 0.0
) -> tuple[int, losses_module.Loss, list[Any]]:
    """``(outputs, loss, metrics)``: K logits and cross-entropy, or one standardized output and MSE."""
    if task == "classification":
        loss = losses_module.CrossEntropy(label_smoothing=label_smoothing)
        return len(classes or ()), loss, ["accuracy"]
    return 1, losses_module.MSE(), [rmse_in_target_units(scale)]


def network_and_optimizer(
    pre: TablePreprocessor,
    n_in: int,
    hidden: Sequence[int],
    n_out: int,
    activation: str,
    dropout: float,
    optimizer: str,
    learning_rate: float | None,
    l2: float,
    l1: float,
    rng: np.random.Generator,
) -> tuple[Sequential, GradientTransformation]:
    """The network (embeddings first, dropout after each hidden activation) and its optimizer.

    The weights are drawn from ``rng`` in this order: embeddings, dense layers, dropout masks'
    generators — the same whichever way the rows then arrive.
    """
    front, width = with_embeddings(pre, n_in, rng)  # embed: ColumnEmbedding
    net = prepend(front, build_network(width, hidden, n_out, activation, rng))
    net = with_dropout(net, dropout, rng)
    return net, make_optimizer(optimizer, learning_rate, l2, l1)


def learning_rate_schedule(
    optimizer: str, learning_rate: float | None, schedule: str, total_steps: int
) -> float | Any | None:
    """The rate to hand the optimizer: ``learning_rate`` itself, or a cosine decay from it.

    ``"cosine"``: :math:`\\eta_t = \\eta_{min} + \\tfrac12(\\eta_0 - \\eta_{min})(1 + \\cos(\\pi t/T))`
    over all :math:`T` = ``total_steps`` planned steps, down to :math:`\\eta_{min} = \\eta_0/100`
    (:func:`~chainrule.network.optimizers.cosine_decay`); :math:`\\eta_0` is the optimizer's own
    default when ``learning_rate`` is ``None``.
    """
    if schedule == "constant":
        return learning_rate
    if schedule != "cosine":
        raise ValueError(f"Unknown learning-rate schedule {schedule!r}; choose constant or cosine.")
    import inspect

    start = learning_rate
    if start is None:
        factory = optimizers_module.OPTIMIZERS[optimizer.lower()]
        start = float(inspect.signature(factory).parameters["learning_rate"].default)
    return optimizers_module.cosine_decay(start, max(1, total_steps), start / 100)


def run_callbacks(
    callbacks: Sequence[Callback], early_stopping: bool, patience: int
) -> list[Callback]:
    """Gradient norms for the report, early stopping when asked, then the caller's callbacks."""
    run: list[Callback] = [GradientNorms(), *callbacks]
    if early_stopping:
        run.insert(0, EarlyStopping("val_loss", patience=patience))
    return run


def run_record(
    trainer: Trainer, started: float, *, source: str, rows: int, **options: Any
) -> dict[str, Any]:
    """The ``training`` entry of the model file: what was asked, what rate ran, how long.

    ``options`` are the fit's own (``hidden``, ``activation``, ``optimizer``, ``epochs``,
    ``batch_size``, ``validation_split``, ``early_stopping``, ``patience``, ``seed``,
    ``dropout``, ``l2``, ``l1``); regularization is recorded only when used.
    """
    dropout, l2, l1 = options["dropout"], options["l2"], options["l1"]
    return {
        "data": os.path.basename(source),
        "rows": int(rows),
        "hidden": [int(h) for h in options["hidden"]],
        "activation": options["activation"],
        "optimizer": options["optimizer"],
        "learning_rate": optimizers_module.current_learning_rate(trainer.opt_state),
        "epochs": int(options["epochs"]),
        "batch_size": options["batch_size"],
        "validation_split": float(options["validation_split"]),
        "early_stopping": bool(options["early_stopping"]),
        "patience": int(options["patience"]),
        "seed": options["seed"],
        **({"dropout": dropout, "l2": l2, "l1": l1} if dropout or l2 or l1 else {}),
        **options.get("extra", {}),
        "seconds": round(time.perf_counter() - started, 3),
    }


def with_embeddings(
    pre: TablePreprocessor, n_in: int, rng: np.random.Generator
) -> tuple[ColumnEmbedding | None, int]:
    """A :class:`~chainrule.network.embedding.ColumnEmbedding` over ``pre``'s code columns.

    Returns the layer (``None`` when nothing is embedded, so the network and its random draws
    are exactly those of a one-hot model) and the width the next ``Dense`` takes: the numeric
    and indicator columns plus :math:`k_c` = ``default_embedding_dim(m_c + 1)`` per embedded
    column (:math:`\\min(50, \\lceil (m_c+1)/2 \\rceil)`).
    """
    positions, sizes = pre.embedded()
    if not positions:
        return None, n_in
    front = ColumnEmbedding(n_in, positions, sizes, rng=rng)
    return front, front.output_dim(n_in)


def prepend(front: ColumnEmbedding | None, net: Sequential) -> Sequential:
    """``Sequential([front, *net])``, or ``net`` itself without a front layer."""
    return net if front is None else Sequential([front, *net.layers])


def with_dropout(net: Sequential, rate: float, rng: Any) -> Sequential:
    """``net`` with ``Dropout(rate)`` after every hidden activation (``net`` itself for 0)."""
    if not 0.0 <= rate < 1.0:
        raise DataError(f"dropout must be in [0, 1), got {rate!r}.")
    if rate == 0.0:
        return net
    layers: list[Layer] = []
    for i, layer in enumerate(net.layers):
        layers.append(layer)
        if isinstance(layer, Activation) and i < len(net.layers) - 1:
            layers.append(Dropout(rate, rng=rng))
    return Sequential(layers)


def make_optimizer(
    name: str, learning_rate: float | None, l2: float = 0.0, l1: float = 0.0
) -> GradientTransformation:
    """The optimizer ``name`` with its L2 ``weight_decay`` and an L1 term before it."""
    kwargs: dict[str, Any] = {} if learning_rate is None else {"learning_rate": learning_rate}
    if l2:
        kwargs["weight_decay"] = l2
    try:
        return regularize(optimizers_module.get(name, **kwargs), l1=l1)
    except (ValueError, TypeError) as exc:
        raise DataError(str(exc)) from None
