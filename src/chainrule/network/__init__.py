"""The network as data: layers, activations, containers, losses, optimizers, schedules.

Nothing here knows about files, training loops or tables. Each module holds one concept; the
layer registry (:data:`chainrule.network.layers.LAYER_TYPES`) lets a network be rebuilt from
its JSON architecture.
"""

from chainrule.network.activations import (
    ELU,
    GELU,
    Activation,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from chainrule.network.containers import Container, Sequential, StateError
from chainrule.network.layers import LAYER_TYPES, Dense, Dropout, Layer
from chainrule.network.residual import Residual

__all__ = [
    "ELU",
    "GELU",
    "LAYER_TYPES",
    "Activation",
    "Container",
    "Dense",
    "Dropout",
    "Identity",
    "Layer",
    "LeakyReLU",
    "ReLU",
    "Residual",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "StateError",
    "Tanh",
]
