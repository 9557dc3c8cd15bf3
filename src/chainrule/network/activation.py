"""The activation contract, and the overflow-free logistic function the layers and losses share.

An activation is a layer applied element-wise (Softmax: row-wise) that caches what its
derivative needs. The concrete activations live in :mod:`chainrule.network.activations`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from chainrule.backend import Array, namespace
from chainrule.network.fastpaths import exp_limit, numpy_constants
from chainrule.network.layers import Layer

ACTIVATIONS: dict[str, type[Activation]] = {}
"""Every activation by each of its names (``"sigmoid"`` and ``"logistic"``…), filled as the
classes are defined: an activation registers itself through its ``names``."""


class Activation(Layer):
    """An activation caches its output ``y`` (and whatever else its derivative needs).

    Each activation also carries every fact the rest of chainrule needs about it, so adding
    one is one class in this file:

    ``symbol``
        its name in formulas (``σ``);
    ``formula``
        :math:`f(z)` in the lecture's notation, for ``explain``.
    ``derivative(z, a)``
        :math:`f'(z)` written with what the layer caches (``a`` is its output), for ``explain``.
    ``onnx(graph, x)``
        its ONNX operators.
    ``sklearn_name``
        its name in the estimators' ``activation=`` (scikit-learn's name where it has one).
    ``torch_oracle``
        a PyTorch expression of ``z`` (and ``layer``) that the tests compare against.
    """

    names: ClassVar[tuple[str, ...]] = ()
    """The names ``activation="…"`` accepts for it (registered in :data:`ACTIVATIONS`)."""
    symbol: ClassVar[str] = ""
    """Its name in formulas (``σ`` for the sigmoid)."""
    formula: ClassVar[str] = ""
    sklearn_name: ClassVar[str | None] = None
    torch_oracle: ClassVar[str] = ""
    onnx_op: ClassVar[str | None] = None
    """A single ONNX operator that computes the activation, when one does."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for alias in cls.__dict__.get("names", ()):
            ACTIVATIONS[alias] = cls

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._y: Array | None = None

    def derivative(self, z: str, a: str) -> str:
        """:math:`f'(z)` as text, written with the quantity the layer caches."""
        return f"{type(self).__name__.lower()}′({z})"

    def onnx(self, graph: Any, x: str) -> str:
        if self.onnx_op is None:
            return super().onnx(graph, x)
        return graph.op(self.onnx_op, [x], self.name or self.onnx_op, **self.onnx_attributes())

    def onnx_attributes(self) -> dict[str, Any]:
        """Attributes of :attr:`onnx_op` (``alpha`` for LeakyRelu and Elu)."""
        return {}


def sigmoid(x: Array, limits: np.ndarray | None = None) -> Array:
    """:math:`\\sigma(z) = 1 / (1 + e^{-z})` for any array, without overflow, as a new array.

    ``z`` is floored at :math:`-\\log(\\text{max float})` before the exponential, which changes
    nothing above the floor, where this is the lecture's ``1 / (1 + np.exp(-z))`` operation for
    operation; below it the result is the correctly tiny :math:`\\sigma` of the floor. The
    losses on logits use it too. ``limits``, an array of ``x``'s shape holding the floor's
    negation, makes NumPy's ``minimum`` take its vectorised loop (against a 0-d limit it does
    not: 15 µs against 6 µs for a 128×256 batch); the values are the same.
    """
    if type(x) is np.ndarray and x.dtype.kind == "f":
        # The same operations in one buffer: −z, floored exponent, e^{−z}, 1 + e^{−z},
        # reciprocal. -max(z, -c) == min(-z, c) and 1 + t == t + 1 exactly, so this is the
        # lecture's 1 / (1 + np.exp(-z)) bit for bit above the floor.
        _, one, limit = numpy_constants(x.dtype)
        if limits is not None:
            limit = limits
        y = np.negative(x)
        np.minimum(y, limit, out=y)
        np.exp(y, out=y)
        np.add(y, one, out=y)
        np.divide(one, y, out=y)
        return y
    xp = namespace(x)
    z = xp.maximum(x, -exp_limit(xp, x.dtype))
    return 1 / (1 + xp.exp(-z))


def _f32(value: float) -> np.ndarray:
    return np.array(value, dtype=np.float32)
