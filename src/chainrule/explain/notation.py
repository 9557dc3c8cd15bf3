"""Symbols in the lecture's notation, handed out as a network is walked.

The lecture's 2-4-1 network names its quantities ``x, z1, h, z2, ŷ`` forward and
``∂L/∂ŷ, d_output, d_hidden`` backward. Deeper networks use the numbered generalisation:
Dense layer ``k`` computes ``zk = a(k−1)·Wk + bk``, its activation ``ak = f(zk)`` (``h`` when
there are exactly two Dense layers, ``ŷ`` for the network's output), and the backward pass
carries ``δk = ∂L/∂zk`` (``d_output`` for the last Dense layer, ``d_hidden`` for the first of
two). Any other layer is written by its own symbol or name: ``drop(h)``, ``batchnorm1(z1)``.

The formula text itself is each type's own fact — :attr:`Activation.formula`,
:meth:`Activation.derivative`, :meth:`Loss.formula`, and ``formula``/``derivative`` on any
other :class:`~chainrule.network.layers.Layer` — so this module only decides the names.
"""

from __future__ import annotations

from chainrule.network.activations import Activation
from chainrule.network.containers import Container
from chainrule.network.layers import Dense, Layer
from chainrule.network.losses import Loss
from chainrule.network.residual import Residual


def describe_loss(loss: Loss) -> tuple[str, str]:
    """``(L formula, ∂L/∂ŷ formula)`` of a loss, in the lecture's notation (the loss's own text)."""
    value, gradient = loss.formula()
    if not value:
        return f"{type(loss).__name__}(ŷ, y)", f"∂{type(loss).__name__}/∂ŷ"
    return value, gradient


def describe_layer(layer: Layer) -> str:
    """One line of the architecture: ``dense1 Dense(2→4)``, ``residual1 Residual(…)``."""
    if isinstance(layer, Dense):
        return f"{layer.name} Dense({layer.in_features}→{layer.out_features})"
    if isinstance(layer, Residual):
        inner = ", ".join(describe_layer(child) for child in layer.layers)
        return f"{layer.name} Residual(x + f(x); {inner})"
    if isinstance(layer, Container):
        return (
            f"{layer.name} {type(layer).__name__}("
            + ", ".join(describe_layer(child) for child in layer.layers)
            + ")"
        )
    return f"{layer.name} {type(layer).__name__}"


def layer_symbol(layer: Layer) -> str:
    """The name a layer goes by in formulas: its ``symbol`` (``σ``, ``drop``), else its name."""
    return layer.symbol or layer.name or type(layer).__name__


def derivative_text(layer: Layer, z: str, a: str) -> str:
    """:math:`f'(z)` of an activation, written with what it caches (``a(1 − a)`` for σ)."""
    if isinstance(layer, Activation):
        return layer.derivative(z, a)
    return f"{layer_symbol(layer)}′({z})"


class Notation:
    """Unique symbols for one network: Dense numbering, ``h``/``ŷ``, ``d_output``/``d_hidden``.

    Parameters
    ----------
    leaves : list of (str, Layer)
        The network's non-container layers with their full names, in forward order.
    """

    def __init__(self, leaves: list[tuple[str, Layer]]) -> None:
        dense = [layer for _, layer in leaves if isinstance(layer, Dense)]
        self.dense_index = {id(layer): k for k, layer in enumerate(dense, 1)}
        self.n_dense = len(dense)
        self.two_layer = self.n_dense == 2
        self.used: set[str] = set()

    def take(self, symbol: str) -> str:
        """``symbol``, or ``symbol′`` (``′′``…) when it is already taken."""
        while symbol in self.used:
            symbol += "′"
        self.used.add(symbol)
        return symbol

    def k(self, layer: Dense) -> int:
        """The number of a Dense layer, 1-based in forward order."""
        return self.dense_index[id(layer)]

    def param(self, layer: Layer, full: str, p: str) -> str:
        """A parameter's symbol: ``W1``/``b1`` of a Dense layer, else its full name."""
        if isinstance(layer, Dense):
            return f"{p}{self.k(layer)}"
        return f"{full}.{p}"

    def delta(self, k: int) -> tuple[str, tuple[str, ...]]:
        """``δk = ∂L/∂zk`` and its aliases: ``d_output`` for the last Dense layer, ``d_hidden``."""
        if k == self.n_dense:
            return "d_output", (f"δ{k}",)
        if self.two_layer and k == 1:
            return "d_hidden", ("δ1",)
        return f"δ{k}", ()

    def activation(self, k: int, is_output: bool) -> tuple[str, tuple[str, ...]]:
        """The symbol of ``f(zk)``: ``ŷ`` at the output, ``h`` in the 2-layer net, else ``ak``."""
        if is_output:
            return "ŷ", (f"a{k}", "output")
        if self.two_layer and k == 1:
            return "h", ("a1", "hidden")
        return f"a{k}", ()
