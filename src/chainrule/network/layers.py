"""Layers: each owns its forward formula and, right under it, its hand-derived backward formula.

A layer maps a batch ``x`` of shape ``(N, d_in)`` to ``y`` of shape ``(N, d_out)``.
``forward(x, training)`` caches exactly what the backward pass needs; ``backward(g)`` takes
:math:`g = \\partial L / \\partial y` (shape ``(N, d_out)``), stores
:math:`\\partial L / \\partial \\theta` for each parameter in ``grads`` and returns
:math:`\\partial L / \\partial x` (shape ``(N, d_in)``) — the chain rule, one link at a time.

In the lecture's notation, for ``Sequential([Dense(2, 4), Sigmoid(), Dense(4, 1), Sigmoid()])``::

    z1 = x·W1 + b1        Dense.forward          h  = σ(z1)           Sigmoid.forward
    z2 = h·W2 + b2        Dense.forward          ŷ  = σ(z2)           Sigmoid.forward
    d_output = ∂L/∂ŷ · σ'(ŷ)                     Sigmoid.backward
    ∂L/∂W2 = hᵀ·d_output, ∂L/∂h = d_output·W2ᵀ   Dense.backward
    d_hidden = ∂L/∂h · σ'(h)                     Sigmoid.backward
    ∂L/∂W1 = xᵀ·d_hidden                         Dense.backward
"""

from __future__ import annotations

import inspect
import numbers
from typing import Any, ClassVar

import numpy as np

from chainrule import devices
from chainrule.backend import Array, array_sum, dtype_name, from_numpy, namespace, to_numpy
from chainrule.network import initializers
from chainrule.network.initializers import RandomSource

LAYER_TYPES: dict[str, type[Layer]] = {}
"""Every layer class by name, so a model file can rebuild an architecture without pickle.

A subclass of :class:`Layer` registers itself here when its class statement runs, so a
user-defined layer saves and loads like a built-in one once its module is imported.
"""


class Layer:
    """Base class: named parameters, their gradients, freezing and the forward/backward contract.

    Attributes
    ----------
    params : dict of str to array
        Learnable arrays by short name (``"W"``, ``"b"``).
    grads : dict of str to array
        :math:`\\partial L / \\partial \\theta` for each unfrozen parameter, after ``backward``.
    frozen : set of str
        Names of parameters the optimizer must leave alone (no gradient is computed for them).
    name : str or None
        Set by :class:`Sequential` (``"dense1"``, ``"sigmoid1"``…) unless given.
    """

    has_params: ClassVar[bool] = False
    symbol: ClassVar[str] = ""
    """Its short name in formulas (``σ``, ``drop``); ``explain`` uses the layer's name if empty."""
    formula: ClassVar[str] = ""
    """Its forward formula as text, for ``explain`` (empty: unknown)."""
    derivative: ClassVar[str] = ""
    """Its backward formula as text, for ``explain`` (empty: unknown). Activations refine this
    into a method ``derivative(z, a)`` that writes :math:`f'(z)` with the given symbols."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        LAYER_TYPES[cls.__name__] = cls

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.params: dict[str, Array] = {}
        self.grads: dict[str, Array] = {}
        self.buffers: dict[str, Array] = {}
        self.frozen: set[str] = set()
        self._forwarded = False

    # -- the contract -------------------------------------------------------------------------
    def forward(self, x: Array, training: bool = False) -> Array:
        """Compute the layer's output for a batch ``x`` of shape ``(N, d_in)``."""
        raise NotImplementedError

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array | None:
        """Given :math:`\\partial L/\\partial y`, fill ``grads`` and return :math:`\\partial L/\\partial x`."""
        raise NotImplementedError

    def _check_forwarded(self) -> None:
        if not self._forwarded:
            raise RuntimeError(
                f"{type(self).__name__}.backward was called before forward; run forward(x) on "
                "the same batch first so the layer has the values its gradient needs."
            )

    # -- parameters ---------------------------------------------------------------------------
    def freeze(self, *names: str) -> None:
        """Freeze the named parameters (all of this layer's when none are named)."""
        for n in names or tuple(self.params):
            if n not in self.params:
                raise KeyError(f"{type(self).__name__} has no parameter {n!r}.")
            self.frozen.add(n)
            self.grads.pop(n, None)

    def unfreeze(self, *names: str) -> None:
        """Let the named parameters (all when none are named) be trained again."""
        for n in names or tuple(self.params):
            self.frozen.discard(n)

    def output_dim(self, input_dim: int) -> int:
        """Width of the output for an input of width ``input_dim`` (element-wise: unchanged)."""
        return input_dim

    def config(self) -> dict[str, Any]:
        """Constructor arguments as JSON-able values, for model files."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Rebuild a layer from :meth:`config` (parameters are set afterwards)."""
        return cls(**config)

    def onnx(self, graph: Any, x: str) -> str:
        """Append this layer's ONNX nodes to ``graph`` for the input named ``x``; return the output's name.

        ``graph`` offers ``op(op_type, inputs, hint, **attributes) -> name`` and
        ``const(hint, array) -> name``; a layer never imports ``onnx`` itself.
        """
        raise NotImplementedError(
            f"Layer {type(self).__name__} has no ONNX translation; give it an "
            "onnx(graph, x) method (see chainrule.Layer.onnx) to export it."
        )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


def check_saveable(layer: Layer) -> None:
    """Raise a clear ``TypeError`` when ``layer`` could not be rebuilt from its saved config.

    A user-defined layer saves by its class name and :meth:`Layer.config`; if ``config()``
    omits a constructor argument without a default, loading could not call the constructor.
    """
    cls = type(layer)
    if LAYER_TYPES.get(cls.__name__) is not cls:
        raise TypeError(
            f"Layer class {cls.__qualname__} is not the one registered under its name "
            f"{cls.__name__!r}; give your layer classes distinct names."
        )
    if cls.from_config.__func__ is not Layer.from_config.__func__:  # type: ignore[attr-defined]
        return  # the class rebuilds itself its own way
    config = layer.config()
    signature = inspect.signature(cls.__init__)
    missing = [
        name
        for name, param in list(signature.parameters.items())[1:]
        if param.default is param.empty
        and param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)
        and name not in config
    ]
    if missing:
        raise TypeError(
            f"Layer {cls.__name__} cannot be saved: its constructor needs "
            f"{', '.join(repr(m) for m in missing)}, which {cls.__name__}.config() does not "
            "return; override config() to return every constructor argument."
        )


def layer_size(value: Any, name: str) -> int:
    """``value`` as a width >= 1; a float such as 2.7 is refused rather than truncated."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}; layer sizes count units.")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}.")
    return int(value)


class Dense(Layer):
    """Fully connected layer, :math:`z = x W + b`, with weights shaped ``(in, out)`` as in the lecture.

    Forward (shapes ``x: (N, in)``, ``W: (in, out)``, ``b: (out,)``):

    .. math:: z = x\\,W + b \\quad (N, out)

    Backward, given :math:`\\delta = \\partial L / \\partial z` of shape ``(N, out)``:

    .. math::
        \\frac{\\partial L}{\\partial W} = x^\\top \\delta \\;(in, out), \\qquad
        \\frac{\\partial L}{\\partial b} = \\sum_{n} \\delta_n \\;(out,), \\qquad
        \\frac{\\partial L}{\\partial x} = \\delta\\, W^\\top \\;(N, in)

    Parameters
    ----------
    in_features, out_features : int
        Widths of the input and the output.
    weight_init, bias_init : str or callable
        Initializers (see :mod:`chainrule.initializers`); ``"normal"`` is the lecture's
        ``np.random.randn``.
    rng : Generator, RandomState, int or None
        Where the initial weights come from. Pass the lecture's ``RandomState`` to reproduce it.
    use_bias : bool
        Whether to add :math:`b`.
    dtype : str
        ``"float64"`` (default) or ``"float32"``.
    """

    has_params = True
    formula: ClassVar[str] = "z = x·W + b"
    derivative: ClassVar[str] = "∂L/∂W = xᵀ·g,  ∂L/∂b = Σₙ g,  ∂L/∂x = g·Wᵀ"

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        weight_init: str | initializers.Initializer = "glorot_uniform",
        bias_init: str | initializers.Initializer = "zeros",
        rng: RandomSource | int | None = None,
        use_bias: bool = True,
        dtype: str = "float64",
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        in_features, out_features = (
            layer_size(in_features, "in_features"),
            layer_size(out_features, "out_features"),
        )
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight_init, self.bias_init = weight_init, bias_init
        self.use_bias = use_bias
        gen = initializers.as_generator(rng)
        self.params["W"] = initializers.get(weight_init)((self.in_features, self.out_features), gen)
        if use_bias:
            self.params["b"] = initializers.get(bias_init)((self.out_features,), gen)
        if dtype != "float64":
            for k, v in self.params.items():
                self.params[k] = v.astype(dtype)
        self._x: Array | None = None

    def forward(self, x: Array, training: bool = False) -> Array:
        self._x = x  # ∂L/∂W = xᵀ·δ needs the input
        self._forwarded = True
        z = x @ self.params["W"]  # z = x·W        (N, out)
        if self.use_bias:
            z += self.params["b"]  # z = x·W + b   (in place: z is ours)
        return z

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array | None:
        self._check_forwarded()
        x, W = self._x, self.params["W"]
        if "W" not in self.frozen:
            self.grads["W"] = x.T @ grad  # ∂L/∂W = xᵀ·δ     (in, out)
        if self.use_bias and "b" not in self.frozen:
            self.grads["b"] = array_sum(grad, axis=0)  # ∂L/∂b = Σₙ δₙ   (out,)
        if not need_input_grad:
            return None  # the first layer's ∂L/∂x is never used: skip its product
        return grad @ W.T  # ∂L/∂x = δ·Wᵀ     (N, in)

    def output_dim(self, input_dim: int) -> int:
        return self.out_features

    def onnx(self, graph: Any, x: str) -> str:
        W = np.asarray(to_numpy(self.params["W"]), dtype=np.float32)
        z = graph.op("MatMul", [x, graph.const(f"{self.name}.W", W)], f"{self.name}_xW")  # x·W
        if self.use_bias:
            b = np.asarray(to_numpy(self.params["b"]), dtype=np.float32)
            z = graph.op("Add", [z, graph.const(f"{self.name}.b", b)], f"{self.name}_z")  # + b
        return z

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "in_features": self.in_features,
            "out_features": self.out_features,
            "use_bias": self.use_bias,
            "weight_init": initializers.name_of(self.weight_init),
            "bias_init": initializers.name_of(self.bias_init),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Dense:
        # Parameters are overwritten by the caller; draw nothing costly meanwhile.
        cfg = dict(config)
        cfg["weight_init"] = cfg["bias_init"] = "zeros"
        layer = cls(**cfg)
        layer.weight_init = config.get("weight_init", "glorot_uniform")
        layer.bias_init = config.get("bias_init", "zeros")
        return layer


class Dropout(Layer):
    """Inverted dropout: zero each input with probability ``rate``, scale the rest by :math:`1/(1-p)`.

    Forward in training, with a fresh mask :math:`m_{ij} \\sim \\text{Bernoulli}(1-p)`:

    .. math:: y = x \\odot m / (1 - p) \\quad (N, d)

    and :math:`y = x` at inference, so no rescaling is needed after training.
    Backward: :math:`\\partial L/\\partial x = g \\odot m / (1-p)` (``g`` itself at inference).

    Parameters
    ----------
    rate : float
        Drop probability :math:`p \\in [0, 1)`.
    rng : Generator, int or None
        Source of the masks. On a device (:mod:`chainrule.devices`) the masks are drawn there
        by the device's own generator, seeded once from ``rng``.
    """

    symbol: ClassVar[str] = "drop"
    formula: ClassVar[str] = "y = x ⊙ m/(1 − p) in training, y = x at inference"
    derivative: ClassVar[str] = "∂L/∂x = g ⊙ m/(1 − p) in training, g at inference"

    def __init__(
        self, rate: float = 0.5, *, rng: RandomSource | int | None = None, name: str | None = None
    ) -> None:
        super().__init__(name)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate!r}.")
        self.rate = float(rate)
        self.rng = initializers.as_generator(rng)
        self._scaled_mask: Array | None = None
        self._device_rng: tuple[str, Any] | None = None  # (device name, its generator)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_device_rng"] = None  # device generators do not copy; the next one is reseeded
        return state

    def _uniform(self, x: Array) -> Array:
        """:math:`U[0,1)` of ``x``'s shape and dtype, drawn where ``x`` lives."""
        if not devices.own_generator(x):
            dtype = np.float32 if dtype_name(x.dtype) == "float32" else np.float64
            shape = tuple(x.shape)
            if isinstance(self.rng, np.random.Generator):  # float32 draws: half the bits to make
                draws = self.rng.random(shape, dtype=dtype)
            else:  # a legacy RandomState draws float64 only
                draws = self.rng.random_sample(shape)
            return from_numpy(draws, namespace(x), like=x)
        where = str(devices.of(x))
        if self._device_rng is None or self._device_rng[0] != where:
            self._device_rng = (where, devices.generator(x, devices.seed_from(self.rng)))
        return devices.uniform(self._device_rng[1], tuple(x.shape), like=x)

    def forward(self, x: Array, training: bool = False) -> Array:
        self._forwarded = True
        if not training or self.rate == 0.0:
            self._scaled_mask = None
            return x
        keep = 1.0 - self.rate
        xp = namespace(x)
        mask = xp.astype(self._uniform(x) < keep, x.dtype)  # m ~ Bernoulli(1 - p)
        mask *= 1.0 / keep  # m / (1 - p)
        self._scaled_mask = mask
        return x * self._scaled_mask

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array | None:
        self._check_forwarded()
        if self._scaled_mask is None:
            return grad
        return grad * self._scaled_mask  # ∂L/∂x = g ⊙ m / (1 - p)

    def onnx(self, graph: Any, x: str) -> str:
        return x  # y = x at inference

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "rate": self.rate}
