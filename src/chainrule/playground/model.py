"""The network, loss, optimizer and trainer a playground set-up stands for — plain chainrule.

Classification ends in one logit per class trained with :class:`~chainrule.losses.CrossEntropy`
(the softmax is fused into the loss); regression ends in one linear output trained with
:class:`~chainrule.losses.MSE`. L2 is the optimizers' ``weight_decay`` (:math:`g + \\lambda_2 W`); L1 is
``weights_only(add_l1(λ₁))`` in front of the optimizer (:math:`g + \\lambda_1 \\operatorname{sign}(W)`
on the weights, not the biases), so training and an explained step run the same transformation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.network import activations
from chainrule.network.containers import Sequential
from chainrule.network.layers import Dense, Dropout, Layer
from chainrule.network.losses import MSE, CrossEntropy, Loss
from chainrule.network.optimizers import GradientTransformation, adam, chain, rmsprop, sgd
from chainrule.network.regularization import add_l1, weights_only
from chainrule.playground.config import Config
from chainrule.training.trainer import Trainer


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
    """The configured optimizer: L2 as its weight decay, L1 on the weights in front of it."""
    factory = {"sgd": sgd, "adam": adam, "rmsprop": rmsprop}[config.optimizer]
    optimizer = factory(config.learning_rate, weight_decay=config.l2)
    if config.l1:  # λ₁·sign(W) added to the weights' gradients before the rule sees them
        return chain(weights_only(add_l1(config.l1)), optimizer)
    return optimizer


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
    metrics = ["accuracy"] if config.problem == "classification" else []
    return Trainer(network, make_loss(config), make_optimizer(config), metrics=metrics)


def explain_optimizer(config: Config, opt_state: Any) -> tuple[GradientTransformation, Any]:
    """The optimizer training uses (L1 included) and the state to continue an explained step from."""
    return make_optimizer(config), opt_state
