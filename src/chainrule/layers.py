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

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import numpy as np

from . import initializers
from .backend import Array, dtype_name, from_numpy, namespace, to_numpy
from .initializers import RandomSource

LAYER_TYPES: dict[str, type[Layer]] = {}
"""Every layer class by name, so a model file can rebuild an architecture without pickle."""


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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        LAYER_TYPES[cls.__name__] = cls

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.params: dict[str, Array] = {}
        self.grads: dict[str, Array] = {}
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

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


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
        if int(in_features) < 1 or int(out_features) < 1:
            raise ValueError("Dense needs in_features >= 1 and out_features >= 1.")
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
            if type(grad) is np.ndarray:  # np.sum's own reduction, minus its dispatch
                self.grads["b"] = np.add.reduce(grad, axis=0)  # ∂L/∂b = Σₙ δₙ   (out,)
            else:
                self.grads["b"] = namespace(grad).sum(grad, axis=0)
        if not need_input_grad:
            return None  # the first layer's ∂L/∂x is never used: skip its product
        return grad @ W.T  # ∂L/∂x = δ·Wᵀ     (N, in)

    def output_dim(self, input_dim: int) -> int:
        return self.out_features

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
        Source of the masks.
    """

    def __init__(
        self, rate: float = 0.5, *, rng: RandomSource | int | None = None, name: str | None = None
    ) -> None:
        super().__init__(name)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate!r}.")
        self.rate = float(rate)
        self.rng = initializers.as_generator(rng)
        self._scaled_mask: Array | None = None

    def forward(self, x: Array, training: bool = False) -> Array:
        self._forwarded = True
        if not training or self.rate == 0.0:
            self._scaled_mask = None
            return x
        keep = 1.0 - self.rate
        dtype = np.float32 if dtype_name(x.dtype) == "float32" else np.float64
        mask = (self.rng.random(tuple(x.shape), dtype=dtype) < keep).astype(dtype)
        mask *= dtype(1.0 / keep)  # m / (1 - p)
        self._scaled_mask = from_numpy(mask, namespace(x), like=x)
        return x * self._scaled_mask

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array | None:
        self._check_forwarded()
        if self._scaled_mask is None:
            return grad
        return grad * self._scaled_mask  # ∂L/∂x = g ⊙ m / (1 - p)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "rate": self.rate}


class Sequential(Layer):
    """A stack of layers applied in order; parameters named ``"<layer>.<param>"`` (``"dense1.W"``).

    Forward is :math:`y = f_L(\\cdots f_2(f_1(x)))`; backward walks the layers in reverse, each
    turning :math:`\\partial L/\\partial(\\text{its output})` into
    :math:`\\partial L/\\partial(\\text{its input})`.

    Parameters
    ----------
    layers : iterable of Layer
        The layers. Unnamed ones are named by type and position among their type, so the
        lecture's network has parameters ``dense1.W``, ``dense1.b``, ``dense2.W``, ``dense2.b`` —
        the lecture's ``W1, b1, W2, b2``.
    """

    def __init__(self, layers: Iterable[Layer] = (), name: str | None = None) -> None:
        # Not Layer.__init__: params, grads and frozen are views of the layers' own, below.
        self.name = name
        self._forwarded = False
        self.layers: list[Layer] = list(layers)
        counts: dict[str, int] = {}
        seen: set[str] = set()
        for layer in self.layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential takes Layer objects, got {type(layer).__name__}.")
            kind = type(layer).__name__.lower()
            counts[kind] = counts.get(kind, 0) + 1
            if layer.name is None:
                layer.name = f"{kind}{counts[kind]}"
            if layer.name in seen:
                raise ValueError(f"Two layers are named {layer.name!r}; give them distinct names.")
            seen.add(layer.name)
        self._index: list[tuple[str, Layer, str]] = [
            (f"{layer.name}.{p}", layer, p) for layer in self.layers for p in layer.params
        ]

    # -- forward and backward -------------------------------------------------------------------
    def forward(self, x: Array, training: bool = False) -> Array:
        self._forwarded = True
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array | None:
        self._check_forwarded()
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            grad = self.layers[i].backward(grad, need_input_grad or i > 0)
        return grad

    __call__ = forward

    def predict(self, X: Array, batch_size: int | None = 8192) -> Array:
        """Network output for ``X`` at inference (dropout off), in chunks to bound memory."""
        n = X.shape[0]
        if batch_size is None or n <= batch_size:
            return self.forward(X, training=False)
        xp = namespace(X)
        parts = [
            self.forward(X[i : min(i + batch_size, n)], False) for i in range(0, n, batch_size)
        ]
        return xp.concat(parts, axis=0)

    # -- parameters by name --------------------------------------------------------------------
    @property
    def params(self) -> dict[str, Array]:  # type: ignore[override]
        """Every parameter by full name (the arrays themselves, not copies)."""
        return {full: layer.params[p] for full, layer, p in self._index}

    @property
    def grads(self) -> dict[str, Array]:  # type: ignore[override]
        """:math:`\\partial L/\\partial\\theta` by full name, for every trainable parameter."""
        return {full: layer.grads[p] for full, layer, p in self._index if p not in layer.frozen}

    @property
    def frozen(self) -> set[str]:  # type: ignore[override]
        """Full names of frozen parameters."""
        return {full for full, layer, p in self._index if p in layer.frozen}

    def trainable_names(self) -> list[str]:
        """Full names of the parameters an optimizer updates."""
        return [full for full, layer, p in self._index if p not in layer.frozen]

    def set_params(self, values: dict[str, Array], copy: bool = True) -> None:
        """Overwrite parameters by full name (shapes must match)."""
        lookup = {full: (layer, p) for full, layer, p in self._index}
        for full, value in values.items():
            if full not in lookup:
                raise KeyError(f"The network has no parameter {full!r}.")
            layer, p = lookup[full]
            old = layer.params[p]
            if tuple(value.shape) != tuple(old.shape):
                raise ValueError(
                    f"Parameter {full!r} has shape {tuple(old.shape)}, not {tuple(value.shape)}."
                )
            if copy:
                old[...] = value
            else:
                layer.params[p] = value

    def _split(self, full: str) -> tuple[Layer, tuple[str, ...]]:
        for layer in self.layers:
            if full == layer.name:
                return layer, ()
            if full.startswith(f"{layer.name}.") and full[len(layer.name) + 1 :] in layer.params:
                return layer, (full[len(layer.name) + 1 :],)
        raise KeyError(f"The network has no layer or parameter {full!r}.")

    def freeze(self, *names: str) -> None:
        """Freeze parameters or whole layers by name (``"dense1.W"`` or ``"dense1"``); all if none."""
        if not names:
            for layer in self.layers:
                layer.freeze()
        for full in names:
            layer, p = self._split(full)
            layer.freeze(*p)

    def unfreeze(self, *names: str) -> None:
        """Undo :meth:`freeze` for the named parameters or layers (all if none)."""
        if not names:
            for layer in self.layers:
                layer.unfreeze()
        for full in names:
            layer, p = self._split(full)
            layer.unfreeze(*p)

    @property
    def n_params(self) -> int:
        """Total number of learnable scalars."""
        return int(sum(int(np.prod(v.shape)) for v in self.params.values()))

    @property
    def dtype(self) -> str:
        """``'float32'`` or ``'float64'``: the dtype of the parameters."""
        for v in self.params.values():
            return dtype_name(v.dtype)
        return "float64"

    def astype(self, dtype: str) -> Sequential:
        """Cast every parameter to ``dtype`` in place of the old arrays; returns ``self``."""
        for _full, layer, p in self._index:
            v = layer.params[p]
            if dtype_name(v.dtype) != dtype:
                xp = namespace(v)
                layer.params[p] = xp.astype(v, getattr(xp, dtype))
            layer.grads.pop(p, None)
        return self

    def to_namespace(self, like: Array) -> Sequential:
        """Move every parameter into the namespace (and device) of the array ``like``."""
        xp = namespace(like)
        for _full, layer, p in self._index:
            v = layer.params[p]
            if namespace(v) is not xp:
                layer.params[p] = from_numpy(np.array(to_numpy(v)), xp, like=like)
            layer.grads.pop(p, None)
        return self

    def output_dim(self, input_dim: int) -> int:
        for layer in self.layers:
            input_dim = layer.output_dim(input_dim)
        return input_dim

    @property
    def in_features(self) -> int | None:
        """Input width, from the first layer that has weights."""
        for layer in self.layers:
            if isinstance(layer, Dense):
                return layer.in_features
            if isinstance(layer, Sequential):
                return layer.in_features
        return None

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "layers": [{"type": type(layer).__name__, **layer.config()} for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        layers = []
        for spec in config["layers"]:
            spec = dict(spec)
            kind = spec.pop("type")
            if kind not in LAYER_TYPES:
                raise ValueError(f"Unknown layer type {kind!r} in the architecture.")
            layers.append(LAYER_TYPES[kind].from_config(spec))
        return cls(layers, name=config.get("name"))

    def save(self, path: str) -> Any:
        """Save the architecture and weights to one safetensors file (see :func:`chainrule.save`)."""
        from .io import save

        return save(self, path)

    def summary(self) -> str:
        """A table of layers, output widths and parameter counts."""
        rows = [("layer", "type", "output", "params")]
        width = self.in_features
        for layer in self.layers:
            width = layer.output_dim(width) if width is not None else None
            count = sum(int(np.prod(v.shape)) for v in layer.params.values())
            rows.append((layer.name or "", type(layer).__name__, f"(N, {width})", str(count)))
        rows.append(("total", "", "", str(self.n_params)))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows
        )

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, key: int | str) -> Layer:
        if isinstance(key, str):
            for layer in self.layers:
                if layer.name == key:
                    return layer
            raise KeyError(f"No layer named {key!r}.")
        return self.layers[key]

    def __repr__(self) -> str:
        inner = ",\n    ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n    {inner},\n])"
