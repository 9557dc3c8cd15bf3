"""Activation functions as layers: element-wise (and Softmax, row-wise) with hand-derived derivatives.

Each ``forward`` caches what its derivative needs — usually its own output, as the lecture does
with ``sigmoid_derivative(output) = output * (1 - output)`` — and ``backward`` multiplies the
incoming gradient :math:`g = \\partial L/\\partial y` by :math:`f'(z)`, giving
:math:`\\partial L/\\partial z = g \\odot f'(z)`. Shapes are ``(N, d)`` throughout.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from chainrule.backend import Array, namespace
from chainrule.network.layers import Layer

__all__ = [
    "ACTIVATIONS",
    "ELU",
    "GELU",
    "Activation",
    "Identity",
    "LeakyReLU",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "get",
    "sigmoid",
]


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
    _y: Array | None = None
    """The output ``forward`` cached for ``backward`` (none before the first forward)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for alias in cls.__dict__.get("names", ()):
            ACTIVATIONS[alias] = cls

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


_EXP_LIMITS: dict[Any, float] = {}


def exp_limit(xp: Any, dtype: Any) -> float:
    """Largest ``t`` with ``exp(t)`` finite in ``dtype`` (709 for float64, 88 for float32)."""
    # Keyed by the namespace's name first, so a dtype is only ever compared with dtypes of its
    # own namespace (array_api_strict warns when its dtypes meet NumPy's).
    key = (xp.__name__, dtype)
    if key not in _EXP_LIMITS:
        _EXP_LIMITS[key] = math.floor(math.log(float(xp.finfo(dtype).max)))
    return _EXP_LIMITS[key]


def sigmoid(x: Array) -> Array:
    """:math:`\\sigma(z) = 1 / (1 + e^{-z})` for any array, without overflow, as a new array.

    ``z`` is floored at :math:`-\\log(\\text{max float})` before the exponential, which changes
    nothing above the floor, where this is the lecture's ``1 / (1 + np.exp(-z))`` operation for
    operation; below it the result is the correctly tiny :math:`\\sigma` of the floor. The
    losses on logits use it too.
    """
    xp = namespace(x)
    z = xp.maximum(x, -exp_limit(xp, x.dtype))
    return 1 / (1 + xp.exp(-z))


def _f32(value: float) -> np.ndarray:
    return np.array(value, dtype=np.float32)


class Sigmoid(Activation):
    """Logistic sigmoid, the lecture's activation.

    .. math::
        y = \\sigma(z) = \\frac{1}{1 + e^{-z}}, \\qquad
        \\frac{\\partial y}{\\partial z} = \\sigma(z)\\,(1 - \\sigma(z)) = y\\,(1 - y)

    ``z`` is floored at :math:`-\\log(\\text{max float})` (about −709 in float64, −88 in float32)
    before the exponential, so :math:`e^{-z}` never overflows; this changes nothing above that
    floor, where the lecture's formula is evaluated operation for operation.
    """

    names = ("sigmoid", "logistic")
    symbol = "σ"
    formula = "σ(z) = 1 / (1 + e^−z)"
    sklearn_name = "logistic"
    torch_oracle = "torch.sigmoid(z)"
    onnx_op = "Sigmoid"

    def derivative(self, z: str, a: str) -> str:
        return f"{a}(1 − {a})"

    def forward(self, x: Array, training: bool = False) -> Array:
        y = sigmoid(x)  # σ(z) = 1 / (1 + e^{-z})
        self._y, self._forwarded = y, True
        return y

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array:
        self._check_forwarded()
        y = self._y
        return grad * (y * (1 - y))  # ∂L/∂z = g ⊙ y(1 − y), the lecture's sigmoid_derivative


class Tanh(Activation):
    """Hyperbolic tangent, :math:`y = \\tanh z`, :math:`\\partial y/\\partial z = 1 - y^2`."""

    names = ("tanh",)
    symbol = "tanh"
    formula = "tanh(z)"
    sklearn_name = "tanh"
    torch_oracle = "torch.tanh(z)"
    onnx_op = "Tanh"

    def derivative(self, z: str, a: str) -> str:
        return f"1 − {a}²"

    def forward(self, x: Array, training: bool = False) -> Array:
        y = namespace(x).tanh(x)  # y = tanh(z)
        self._y, self._forwarded = y, True
        return y

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array:
        self._check_forwarded()
        y = self._y
        return grad * (1 - y * y)  # ∂L/∂z = g ⊙ (1 − y²)


class ReLU(Activation):
    """Rectified linear unit, :math:`y = \\max(z, 0)`, :math:`\\partial y/\\partial z = [z > 0]`.

    The derivative at exactly 0 is taken as 0, as in PyTorch.
    """

    names = ("relu",)
    symbol = "ReLU"
    formula = "max(z, 0)"
    sklearn_name = "relu"
    torch_oracle = "torch.relu(z)"
    onnx_op = "Relu"

    def derivative(self, z: str, a: str) -> str:
        return f"[{z} > 0]"

    def forward(self, x: Array, training: bool = False) -> Array:
        xp = namespace(x)
        y = xp.maximum(x, xp.zeros((), dtype=x.dtype))  # y = max(z, 0)
        self._y, self._forwarded = y, True
        return y

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array:
        self._check_forwarded()
        xp = namespace(grad)
        return xp.where(self._y > 0, grad, xp.zeros((), dtype=grad.dtype))  # g ⊙ [z > 0]


class LeakyReLU(Activation):
    """Leaky ReLU, :math:`y = z` for :math:`z > 0` else :math:`\\alpha z`; derivative 1 or :math:`\\alpha`.

    Parameters
    ----------
    negative_slope : float
        :math:`\\alpha`, the slope for negative inputs (0.01 as in PyTorch).
    """

    names = ("leaky_relu",)
    symbol = "LeakyReLU"
    formula = "z if z > 0 else α·z"
    sklearn_name = "leaky_relu"
    torch_oracle = "torch.nn.functional.leaky_relu(z, layer.negative_slope)"
    onnx_op = "LeakyRelu"

    def derivative(self, z: str, a: str) -> str:
        return f"1 if {z} > 0 else {self.negative_slope:g}"

    def __init__(self, negative_slope: float = 0.01, name: str | None = None) -> None:
        super().__init__(name)
        self.negative_slope = float(negative_slope)

    def forward(self, x: Array, training: bool = False) -> Array:
        xp = namespace(x)
        self._positive = x > 0  # all the derivative needs: 1 or α
        self._forwarded = True
        return xp.where(self._positive, x, self.negative_slope * x)  # y = z or αz

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array:
        self._check_forwarded()
        xp = namespace(grad)
        return xp.where(self._positive, grad, self.negative_slope * grad)  # g ⊙ (1 or α)

    def onnx_attributes(self) -> dict[str, Any]:
        return {"alpha": float(self.negative_slope)}

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "negative_slope": self.negative_slope}


class ELU(Activation):
    """Exponential linear unit.

    .. math::
        y = \\begin{cases} z & z > 0 \\\\ \\alpha (e^{z} - 1) & z \\le 0 \\end{cases}, \\qquad
        \\frac{\\partial y}{\\partial z} = \\begin{cases} 1 & z > 0 \\\\ y + \\alpha & z \\le 0 \\end{cases}

    The exponential is taken of :math:`\\min(z, 0)` so large positive inputs cannot overflow.
    """

    names = ("elu",)
    symbol = "ELU"
    formula = "z if z > 0 else α(e^z − 1)"
    sklearn_name = "elu"
    torch_oracle = "torch.nn.functional.elu(z, layer.alpha)"
    onnx_op = "Elu"

    def derivative(self, z: str, a: str) -> str:
        return f"1 if {z} > 0 else {a} + {self.alpha:g}"

    def __init__(self, alpha: float = 1.0, name: str | None = None) -> None:
        super().__init__(name)
        self.alpha = float(alpha)

    def forward(self, x: Array, training: bool = False) -> Array:
        xp = namespace(x)
        self._positive = x > 0
        negative_part = self.alpha * xp.expm1(xp.minimum(x, xp.zeros((), dtype=x.dtype)))
        y = xp.where(self._positive, x, negative_part)  # y = z or α(eᶻ − 1)
        self._y, self._forwarded = y, True
        return y

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array:
        self._check_forwarded()
        xp = namespace(grad)
        return xp.where(self._positive, grad, grad * (self._y + self.alpha))  # g ⊙ (1 or y + α)

    def onnx_attributes(self) -> dict[str, Any]:
        return {"alpha": float(self.alpha)}

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "alpha": self.alpha}


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class GELU(Activation):
    """Gaussian error linear unit, tanh form (PyTorch's ``approximate='tanh'``).

    With :math:`u = \\sqrt{2/\\pi}\\,(z + 0.044715 z^3)` and :math:`t = \\tanh u`:

    .. math::
        y = \\tfrac12 z (1 + t), \\qquad
        \\frac{\\partial y}{\\partial z} = \\tfrac12 (1 + t)
            + \\tfrac12 z (1 - t^2) \\sqrt{2/\\pi}\\,(1 + 3 \\cdot 0.044715\\, z^2)

    The tanh form is used because the exact form needs ``erf``, which the array API standard
    does not have; the two differ by less than 5e-4.
    """

    names = ("gelu",)
    symbol = "GELU"
    formula = "½ z (1 + tanh(√(2/π) (z + 0.044715 z³)))"
    sklearn_name = "gelu"
    torch_oracle = "torch.nn.functional.gelu(z, approximate='tanh')"

    def forward(self, x: Array, training: bool = False) -> Array:
        xp = namespace(x)
        t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))  # t = tanh(u)
        self._z, self._t, self._forwarded = x, t, True
        return 0.5 * x * (1 + t)  # y = ½ z (1 + t)

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array:
        self._check_forwarded()
        z, t = self._z, self._t
        du_dz = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * z * z)
        return grad * (0.5 * (1 + t) + 0.5 * z * (1 - t * t) * du_dz)

    def derivative(self, z: str, a: str) -> str:
        return f"½(1 + t) + ½ {z} (1 − t²) √(2/π)(1 + 3·0.044715 {z}²), t = tanh(u)"

    def onnx(self, graph: Any, x: str) -> str:
        # y = ½ z (1 + tanh(√(2/π) (z + 0.044715 z³))), composed from Mul, Add and Tanh
        n = self.name or "gelu"
        c = graph.const
        cube = graph.op("Mul", [graph.op("Mul", [x, x], f"{n}_z2"), x], f"{n}_z3")
        inner = graph.op("Add", [x, graph.op("Mul", [cube, c("c", _f32(0.044715))], "m")], "s")
        u = graph.op("Mul", [inner, c("c", _f32(_SQRT_2_OVER_PI))], f"{n}_u")
        t1 = graph.op("Add", [graph.op("Tanh", [u], f"{n}_t"), c("one", _f32(1.0))], "t1")
        half_z = graph.op("Mul", [x, c("half", _f32(0.5))], f"{n}_halfz")
        return graph.op("Mul", [half_z, t1], n)


class Softmax(Activation):
    """Softmax over the last axis, shifted by the row maximum so ``exp`` never overflows.

    .. math::
        y_{k} = \\frac{e^{z_k - m}}{\\sum_j e^{z_j - m}},\\; m = \\max_j z_j, \\qquad
        \\frac{\\partial L}{\\partial z_k} = y_k \\Big(g_k - \\sum_j g_j y_j\\Big)

    For classification prefer :class:`chainrule.losses.CrossEntropy` on logits, which fuses
    softmax with the loss (its gradient is simply :math:`y - t`).
    """

    names = ("softmax",)
    symbol = "softmax"
    formula = "e^(z_k − max z) / Σⱼ e^(z_j − max z)"
    sklearn_name = None
    torch_oracle = "torch.softmax(z, dim=-1)"
    onnx_op = "Softmax"

    def derivative(self, z: str, a: str) -> str:
        return f"{a}ₖ([k = j] − {a}ⱼ)"

    def forward(self, x: Array, training: bool = False) -> Array:
        xp = namespace(x)
        e = xp.exp(x - xp.max(x, axis=-1, keepdims=True))
        y = e / xp.sum(e, axis=-1, keepdims=True)
        self._y, self._forwarded = y, True
        return y

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array:
        self._check_forwarded()
        xp = namespace(grad)
        y = self._y
        return y * (grad - xp.sum(grad * y, axis=-1, keepdims=True))  # y ⊙ (g − ⟨g, y⟩)

    def onnx_attributes(self) -> dict[str, Any]:
        return {"axis": -1}


class Identity(Activation):
    """:math:`y = z`, derivative 1: the linear output of a regression network."""

    names = ("identity", "linear")
    symbol = "id"
    formula = "z"
    sklearn_name = "identity"
    torch_oracle = "z"

    def derivative(self, z: str, a: str) -> str:
        return "1"

    def forward(self, x: Array, training: bool = False) -> Array:
        self._forwarded = True
        return x

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array:
        self._check_forwarded()
        return grad

    def onnx(self, graph: Any, x: str) -> str:
        return x  # y = z


HIDDEN = ("relu", "leaky_relu", "elu", "gelu", "tanh", "logistic", "identity")
"""Names an activation between layers may have (every registered one but softmax)."""


def get(name: str) -> Activation:
    """A new activation layer by name (``"relu"``, ``"sigmoid"``/``"logistic"``, ``"tanh"``…)."""
    try:
        return ACTIVATIONS[name.lower()]()
    except (KeyError, AttributeError):
        raise ValueError(
            f"Unknown activation {name!r}; choose one of {', '.join(sorted(ACTIVATIONS))}."
        ) from None
