"""Containers: a network is a stack of layers, and a stack is itself a layer.

A container knows its layers, names their parameters (``"dense1.W"``), and turns itself into
plain data and back — :meth:`Sequential.state` gives arrays plus a JSON-able architecture,
:meth:`Sequential.from_state` rebuilds it — without knowing anything about files.

Summaries
---------
How a network looks to a person: a Keras-style summary table, as text and as HTML.

The summary reads only a network's ``layers``, ``in_features``, ``params`` and ``frozen``.
"""

from __future__ import annotations

import html
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

import numpy as np

from chainrule.backend import Array, dtype_name, from_numpy, namespace, to_numpy
from chainrule.network.layers import LAYER_TYPES, Layer, check_saveable

RULE, DOUBLE = "_", "="


def summary_rows(net: Any) -> list[tuple[str, str, str]]:
    """``(layer (type), output shape, parameter count)`` per layer, as Keras lists them.

    The output shape is ``(N, width)``: ``N`` rows in, the layer's width out (``?`` when the
    network's input width is not known, e.g. a network that starts with a dropout).
    """
    rows = []
    width = net.in_features
    for layer in net.layers:
        width = layer.output_dim(width) if width is not None else None
        count = sum(int(np.prod(v.shape)) for v in layer.params.values())
        label = f"{layer.name or ''} ({type(layer).__name__})".strip()
        rows.append((label, f"(N, {width if width is not None else '?'})", f"{count:,}"))
    return rows


def _counts(net: Any) -> tuple[int, int]:
    total = int(net.n_params)
    frozen = sum(int(np.prod(net.params[name].shape)) for name in net.frozen)
    return total, total - frozen


def summary_text(net: Any) -> str:
    """The summary table as plain text (what :meth:`Sequential.summary` prints).

    Example, for ``Sequential([Dense(2, 4), Sigmoid(), Dense(4, 1), Sigmoid()])``::

        Sequential: 4 layers
        ______________________________________
        Layer (type)        Output shape  Param #
        ======================================
        dense1 (Dense)      (N, 4)             12
        ...
    """
    header = ("Layer (type)", "Output shape", "Param #")
    rows = summary_rows(net)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    width = sum(widths) + 4

    def line(r: tuple[str, str, str]) -> str:
        return f"{r[0].ljust(widths[0])}  {r[1].ljust(widths[1])}  {r[2].rjust(widths[2])}"

    total, trainable = _counts(net)
    out = [f"{type(net).__name__}: {len(net.layers)} layers", RULE * width, line(header)]
    out.append(DOUBLE * width)
    out += [line(r) for r in rows]
    out.append(DOUBLE * width)
    out.append(f"Total params: {total:,}")
    out.append(f"Trainable params: {trainable:,}")
    out.append(f"Non-trainable params: {total - trainable:,}")
    out.append(RULE * width)
    return "\n".join(out)


def summary_html(net: Any) -> str:
    """The summary table as an HTML fragment (a network's ``_repr_html_`` in Jupyter)."""
    esc = html.escape
    body = "".join(
        f"<tr><td>{esc(a)}</td><td>{esc(b)}</td><td style='text-align:right'>{esc(c)}</td></tr>"
        for a, b, c in summary_rows(net)
    )
    total, trainable = _counts(net)
    return (
        f"<div><b>{esc(type(net).__name__)}</b>: {len(net.layers)} layers, "
        f"{total:,} parameters ({trainable:,} trainable)"
        "<table><thead><tr><th>Layer (type)</th><th>Output shape</th><th>Param #</th></tr>"
        f"</thead><tbody>{body}</tbody></table></div>"
    )


class StateError(ValueError):
    """Saved state (arrays + JSON) that does not describe a valid network."""


class Container(Layer):
    """A layer made of layers: names its children and exposes their parameters by full name.

    Parameters live in the leaf layers; a container's ``params``, ``grads``, ``buffers`` and
    ``frozen`` are views keyed ``"<child>.<param>"``, recursively (``"block.dense1.W"``), so
    nested containers train, save and cast like flat ones.
    """

    def __init__(self, layers: Iterable[Layer] = (), name: str | None = None) -> None:
        # Not Layer.__init__: params, grads and frozen are views of the children's, below.
        self.name = name
        self._forwarded = False
        self.layers: list[Layer] = list(layers)
        counts: dict[str, int] = {}
        seen: set[str] = set()
        for layer in self.layers:
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"{type(self).__name__} takes Layer objects, got {type(layer).__name__}."
                )
            kind = type(layer).__name__.lower()
            counts[kind] = counts.get(kind, 0) + 1
            if layer.name is None:
                layer.name = f"{kind}{counts[kind]}"
            if layer.name in seen:
                raise ValueError(f"Two layers are named {layer.name!r}; give them distinct names.")
            seen.add(layer.name)
        self._index: list[tuple[str, Layer, str]] = [
            (f"{full}.{p}", leaf, p) for full, leaf in self.leaves() for p in leaf.params
        ]

    def leaves(self, prefix: str = "") -> Iterator[tuple[str, Layer]]:
        """Every non-container layer below this one, with its full dotted name."""
        for layer in self.layers:
            full = f"{prefix}{layer.name}"
            if isinstance(layer, Container):
                yield from layer.leaves(full + ".")
            else:
                yield full, layer

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
    def buffers(self) -> dict[str, Array]:  # type: ignore[override]
        """Non-trainable state by full name (running statistics), saved with the weights."""
        return {f"{full}.{k}": v for full, leaf in self.leaves() for k, v in leaf.buffers.items()}

    @property
    def frozen(self) -> set[str]:  # type: ignore[override]
        """Full names of frozen parameters."""
        return {full for full, layer, p in self._index if p in layer.frozen}

    def param_slots(self) -> list[tuple[str, Layer, str]]:
        """``(full name, the layer holding it, its key in the layer)`` for every parameter."""
        return list(self._index)

    def trainable_names(self) -> list[str]:
        """Full names of the parameters an optimizer updates."""
        return [full for full, layer, p in self._index if p not in layer.frozen]

    def set_params(self, values: dict[str, Array], copy: bool = True) -> None:
        """Overwrite parameters (and buffers) by full name; shapes must match."""
        lookup = {full: (layer.params, p) for full, layer, p in self._index}
        for full, leaf in self.leaves():
            lookup.update({f"{full}.{k}": (leaf.buffers, k) for k in leaf.buffers})
        for full, value in values.items():
            if full not in lookup:
                raise KeyError(f"The network has no parameter {full!r}.")
            store, p = lookup[full]
            old = store[p]
            if tuple(value.shape) != tuple(old.shape):
                raise ValueError(
                    f"Parameter {full!r} has shape {tuple(old.shape)}, not {tuple(value.shape)}."
                )
            if copy:
                old[...] = value
            else:
                store[p] = value

    def _split(self, full: str) -> tuple[Layer, tuple[str, ...]]:
        for name, leaf in self.leaves():
            if full == name:
                return leaf, ()
            if full.startswith(f"{name}.") and full[len(name) + 1 :] in leaf.params:
                return leaf, (full[len(name) + 1 :],)
        for layer in self.layers:  # a whole sub-container by name
            if isinstance(layer, Container) and full == layer.name:
                return layer, ()
        raise KeyError(f"The network has no layer or parameter {full!r}.")

    def freeze(self, *names: str) -> None:
        """Freeze parameters or whole layers by name (``"dense1.W"`` or ``"dense1"``); all if none."""
        if not names:
            for _, leaf in self.leaves():
                leaf.freeze()
        for full in names:
            layer, p = self._split(full)
            layer.freeze(*p)

    def unfreeze(self, *names: str) -> None:
        """Undo :meth:`freeze` for the named parameters or layers (all if none)."""
        if not names:
            for _, leaf in self.leaves():
                leaf.unfreeze()
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

    def _stores(self) -> Iterator[tuple[dict[str, Array], str, Layer]]:
        for _, leaf in self.leaves():
            for store in (leaf.params, leaf.buffers):
                for key in list(store):
                    yield store, key, leaf

    def astype(self, dtype: str) -> Container:
        """Cast every parameter and buffer to ``dtype`` in place of the old arrays; returns ``self``."""
        for store, key, leaf in self._stores():
            v = store[key]
            if dtype_name(v.dtype) != dtype and dtype_name(v.dtype) in ("float32", "float64"):
                xp = namespace(v)
                store[key] = xp.astype(v, getattr(xp, dtype))
            leaf.grads.pop(key, None)
        return self

    def to_namespace(self, like: Array) -> Container:
        """Move every parameter and buffer into the namespace (and device) of the array ``like``."""
        xp = namespace(like)
        for store, key, leaf in self._stores():
            v = store[key]
            if namespace(v) is not xp:
                store[key] = from_numpy(np.array(to_numpy(v)), xp, like=like)
            leaf.grads.pop(key, None)
        return self

    def output_dim(self, input_dim: int) -> int:
        for layer in self.layers:
            input_dim = layer.output_dim(input_dim)
        return input_dim

    @property
    def in_features(self) -> int | None:
        """Input width, from the first layer that knows it."""
        for _, leaf in self.leaves():
            width = getattr(leaf, "in_features", None)
            if width is not None:
                return int(width)
        return None

    # -- the network as data ---------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "layers": [{"type": type(layer).__name__, **layer.config()} for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Container:
        return cls([layer_from_spec(spec) for spec in config["layers"]], name=config.get("name"))

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The network as plain data: NumPy copies of every parameter and buffer, and JSON.

        Returns
        -------
        tensors : dict of str to ndarray
            ``"dense1.W"``, ``"dense1.b"``, …, and buffers such as ``"batchnorm1.running_mean"``.
        meta : dict
            ``{"architecture": self.config(), "dtype": "float64" | "float32"}``.
        """
        for _, leaf in self.leaves():
            check_saveable(leaf)
        tensors = {k: np.array(to_numpy(v)) for k, v in self.params.items()}
        tensors.update({k: np.array(to_numpy(v)) for k, v in self.buffers.items()})
        return tensors, {"architecture": self.config(), "dtype": self.dtype}

    @classmethod
    def from_state(cls, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> Container:
        """Rebuild a network from :meth:`state`, checking names, shapes, dtypes and values.

        Raises
        ------
        StateError
            The architecture cannot be built, or the tensors do not fit it exactly.
        """
        try:
            net = cls.from_config(meta["architecture"])
        except StateError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            detail = str(exc).strip() or type(exc).__name__
            raise StateError(f"describes an invalid architecture ({detail})") from None
        dtype = meta.get("dtype", "float64")
        if dtype not in ("float32", "float64"):
            raise StateError(f"gives an unknown dtype {dtype!r} for the network")
        expected = {**net.params, **net.buffers}
        _check_tensors(tensors, expected)
        net.astype(dtype)
        net.set_params({k: v.astype(dtype) for k, v in tensors.items()})
        return net

    # pickling goes through the same plain data as model files (no layer caches in a pickle),
    # plus the layers' random generators: a deep copy of a network with Dropout must draw the
    # masks the original would have drawn, not fresh entropy (reproducible partial_fit).
    def __getstate__(self) -> dict[str, Any]:
        tensors, meta = self.state()
        rngs = {
            name: layer.rng
            for name, layer in self.leaves()
            if isinstance(getattr(layer, "rng", None), np.random.Generator | np.random.RandomState)
        }
        return {"tensors": tensors, "meta": meta, "rngs": rngs}

    def __setstate__(self, data: dict[str, Any]) -> None:
        rebuilt = type(self).from_state(data["tensors"], data["meta"])
        rngs = data.get("rngs", {})
        for name, layer in rebuilt.leaves():
            if name in rngs:
                layer.rng = rngs[name]
        self.__dict__.update(rebuilt.__dict__)

    def summary(self, file: TextIO | None = None) -> None:
        """Print a Keras-style table of layers, output shapes and parameter counts.

        Parameters
        ----------
        file : text stream, optional
            Where to print (standard output by default). :meth:`summary_text` returns the
            same table as a string.
        """
        print(summary_text(self), file=file if file is not None else sys.stdout)

    def summary_text(self) -> str:
        """The table :meth:`summary` prints, as a string."""
        return summary_text(self)

    def _repr_html_(self) -> str:  # Jupyter shows this instead of the repr
        return summary_html(self)

    def onnx(self, graph: Any, x: str) -> str:
        for layer in self.layers:
            x = layer.onnx(graph, x)
        return x

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


def _check_tensors(tensors: dict[str, np.ndarray], expected: dict[str, Array]) -> None:
    missing, extra = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    parts = [f"lacks tensor(s) {', '.join(missing)}"] if missing else []
    parts += [f"has unexpected tensor(s) {', '.join(extra)}"] if extra else []
    if parts:
        raise StateError(f"{' and '.join(parts)} for its architecture")
    for name, value in tensors.items():
        if tuple(value.shape) != tuple(expected[name].shape):
            raise StateError(
                f"has tensor {name!r} of shape {tuple(value.shape)}, but its architecture "
                f"needs {tuple(expected[name].shape)}"
            )
        if value.dtype.kind != "f":
            raise StateError(f"has tensor {name!r} of dtype {value.dtype}, not float")
        if not np.all(np.isfinite(value)):
            raise StateError(f"has non-finite values in tensor {name!r}")


def layer_from_spec(spec: dict[str, Any]) -> Layer:
    """Build one layer from ``{"type": name, **config}`` through the layer registry.

    Raises
    ------
    StateError
        The type is not registered in this process (a user-defined layer whose module has not
        been imported), or its config does not fit its constructor.
    """
    spec = dict(spec)
    kind = spec.pop("type", None)
    if kind not in LAYER_TYPES:
        raise StateError(
            f"names layer type {kind!r}, which is not registered in this process; import the "
            f"module that defines 'class {kind}(chainrule.Layer)' before loading"
        )
    return LAYER_TYPES[kind].from_config(spec)


class Sequential(Container):
    """A stack of layers applied in order; parameters named ``"<layer>.<param>"`` (``"dense1.W"``).

    Forward is :math:`y = f_L(\\cdots f_2(f_1(x)))`; backward walks the layers in reverse, each
    turning :math:`\\partial L/\\partial(\\text{its output})` into
    :math:`\\partial L/\\partial(\\text{its input})`.

    Parameters
    ----------
    layers : iterable of Layer
        The layers. Unnamed ones are named by type and position among their type, so the
        lecture's network has parameters ``dense1.W``, ``dense1.b``, ``dense2.W``, ``dense2.b`` —
        the lecture's ``W1, b1, W2, b2``. A layer may itself be a container (``Sequential``,
        :class:`Residual`); its parameters are then ``"<container>.<layer>.<param>"``.
    """

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

    def __repr__(self) -> str:
        inner = ",\n    ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n    {inner},\n])"
