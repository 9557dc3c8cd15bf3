"""The network, loss, optimizer and trainer a playground set-up stands for — plain chainrule.

Classification ends in one logit per class trained with :class:`~chainrule.losses.CrossEntropy`
(the softmax is fused into the loss); regression ends in one linear output trained with
:class:`~chainrule.losses.MSE`. L2 is the optimizers' ``weight_decay`` (:math:`g + \\lambda_2 W`).
L1 has no optimizer transform in chainrule yet, so :class:`L1Penalty` adds its gradient
:math:`\\lambda_1 \\operatorname{sign}(W)` in the Trainer's ``on_gradients`` hook.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.network import activations
from chainrule.network.containers import Sequential
from chainrule.network.layers import Dense, Dropout, Layer
from chainrule.network.losses import MSE, CrossEntropy, Loss
from chainrule.network.optimizers import (
    EmptyState,
    GradientTransformation,
    adam,
    chain,
    rmsprop,
    sgd,
)
from chainrule.playground.config import Config
from chainrule.training.callbacks import Callback
from chainrule.training.trainer import Trainer


class L1Penalty(Callback):
    """Adds :math:`\\lambda_1\\,\\operatorname{sign}(W)`, the gradient of :math:`\\lambda_1\\sum|W|`, to every weight gradient.

    Biases are not penalised. The callback keeps its own reference to the network (it does not
    read it from the trainer).

    Parameters
    ----------
    network : Sequential
        The network whose weights are penalised.
    strength : float
        :math:`\\lambda_1`.
    """

    def __init__(self, network: Sequential, strength: float) -> None:
        self.network = network
        self.strength = float(strength)

    def on_gradients(self, trainer: Trainer, grads: dict[str, Any]) -> None:
        params = self.network.params
        for name, grad in grads.items():
            if name.endswith(".W"):
                grad += self.strength * np.sign(params[name])  # in place: the trainer's dict


def l1_transform(strength: float) -> GradientTransformation:
    """The same L1 term as an optimizer transform, so an explained step matches training's."""

    def init(params: dict[str, Any]) -> EmptyState:
        return EmptyState()

    def update(updates: dict[str, Any], state: EmptyState, params: Any) -> tuple[Any, Any]:
        out = {
            k: (g + strength * np.sign(params[k]) if k.endswith(".W") else g)
            for k, g in updates.items()
        }
        return out, state

    return GradientTransformation(init, update)


def build_network(config: Config, n_in: int, n_out: int) -> tuple[Sequential, np.random.Generator]:
    """The network for ``config`` and the generator its training draws from.

    Weights come from ``default_rng(config.init)``; batch order and dropout masks from
    ``default_rng([config.init, 1])`` — the exported snippet builds the same two.
    """
    init = np.random.default_rng(config.init)
    train_gen = np.random.default_rng([config.init, 1])
    layers: list[Layer] = []
    width = n_in
    for units in config.hidden:
        layers += [Dense(width, units, rng=init), activations.get(config.activation)]
        if config.dropout:
            layers.append(Dropout(config.dropout, rng=train_gen))
        width = units
    layers.append(Dense(width, n_out, rng=init))
    return Sequential(layers), train_gen


def make_loss(config: Config) -> Loss:
    """Cross-entropy on logits for classification, mean squared error for regression."""
    return CrossEntropy() if config.problem == "classification" else MSE()


def make_optimizer(config: Config) -> GradientTransformation:
    """The configured optimizer, with L2 as its weight decay."""
    factory = {"sgd": sgd, "adam": adam, "rmsprop": rmsprop}[config.optimizer]
    return factory(config.learning_rate, weight_decay=config.l2)


def describe_optimizer(config: Config) -> str:
    """One line for the explain panel: the update rule training uses."""
    name = {"sgd": "plain SGD", "adam": "Adam", "rmsprop": "RMSprop"}[config.optimizer]
    parts = [f"{name}, η = {config.learning_rate:g}", f"batches of {config.batch_size}"]
    if config.l2:
        parts.append(f"L2: g + {config.l2:g}·W")
    if config.l1:
        parts.append(f"L1: g + {config.l1:g}·sign(W)")
    if config.dropout:
        parts.append(f"dropout {config.dropout:g} (off when explaining)")
    return "; ".join(parts)


def make_trainer(config: Config, network: Sequential) -> Trainer:
    """A chainrule :class:`~chainrule.training.Trainer` for ``network`` and ``config``."""
    callbacks = [L1Penalty(network, config.l1)] if config.l1 else []
    metrics = ["accuracy"] if config.problem == "classification" else []
    return Trainer(
        network, make_loss(config), make_optimizer(config), metrics=metrics, callbacks=callbacks
    )


def explain_optimizer(config: Config, opt_state: Any) -> tuple[GradientTransformation, Any]:
    """The optimizer (with the L1 term in front when used) and a state to continue from."""
    optimizer = make_optimizer(config)
    if not config.l1:
        return optimizer, opt_state
    state = None if opt_state is None else (EmptyState(), opt_state)
    return chain(l1_transform(config.l1), optimizer), state
