"""Explain one training step: every quantity of a forward pass, backward pass and update.

The lecture names the quantities of its 2-4-1 network and shows where each comes from::

    z1 = x·W1 + b1            h = σ(z1)            z2 = h·W2 + b2          ŷ = σ(z2)
    L  = loss(ŷ, y)           ∂L/∂ŷ
    d_output = ∂L/∂ŷ ⊙ σ′(z2)                       (σ′(z2) = ŷ(1 − ŷ))
    ∂L/∂W2 = hᵀ·d_output      ∂L/∂b2 = Σₙ d_output  ∂L/∂h = d_output·W2ᵀ
    d_hidden = ∂L/∂h ⊙ σ′(z1)                       (σ′(z1) = h(1 − h))
    ∂L/∂W1 = xᵀ·d_hidden      ∂L/∂b1 = Σₙ d_hidden
    W⁺ = W − η·∂L/∂W          (plain gradient descent; other optimizers: W⁺ = W + Δ)

:func:`explain_step` produces exactly these, for any :class:`~chainrule.layers.Sequential`,
loss and optimizer, by running the library's own layers — their ``forward`` caches and their
hand-derived ``backward`` — and recording what flows between them. Deeper networks use the
numbered generalisation: Dense layer ``k`` computes ``zk = a(k−1)·Wk + bk``, its activation
``ak = f(zk)`` (``h`` when there are two Dense layers, ``ŷ`` for the last layer), and the
backward pass carries ``δk = ∂L/∂zk`` (``d_output`` for the last Dense layer, ``d_hidden``
for the first of two).

The result is a :class:`StepTrace`: the values by name, and renderings as a terminal table,
Markdown and HTML.
"""

from __future__ import annotations

import copy
import html
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.backend import to_numpy
from chainrule.network import losses as losses_module
from chainrule.network import optimizers as optimizers_module
from chainrule.network.activations import Activation, Sigmoid, Softmax
from chainrule.network.containers import Sequential
from chainrule.network.layers import Dense, Dropout, Layer
from chainrule.network.losses import CrossEntropy, HalfSumSquaredError, Loss
from chainrule.network.optimizers import GradientTransformation

STAGES = ("parameters", "forward", "loss", "backward", "update")
"""The stages of a step, in the order a trace lists them."""

_STAGE_TITLES = {
    "parameters": "Parameters before the step",
    "forward": "Forward pass",
    "loss": "Loss",
    "backward": "Backward pass (the chain rule, layer by layer)",
    "update": "Update",
}


@dataclass(frozen=True)
class Quantity:
    """One named value of a training step.

    Attributes
    ----------
    stage : str
        One of :data:`STAGES`.
    symbol : str
        Its name in the lecture's notation (``"z1"``, ``"h"``, ``"d_output"``, ``"∂L/∂W2"``).
    formula : str
        How it is computed from earlier quantities (``"x·W1 + b1"``).
    value : ndarray
        The value (a 0-d array for the loss).
    layer : str or None
        The layer that computed it (``"dense1"``), if any.
    aliases : tuple of str
        Other names it can be looked up by: the numbered name (``"a1"`` for ``h``, ``"δ2"``
        for ``d_output``), the lecture's variable (``"hidden"``) or a parameter's full name.
    """

    stage: str
    symbol: str
    formula: str
    value: np.ndarray
    layer: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass
class StepTrace:
    """Every quantity of one forward pass, backward pass and update, in computation order.

    Look values up by symbol or alias: ``trace["d_output"]``, ``trace["δ2"]``, ``trace["h"]``.
    :attr:`gradients` and :attr:`updated` are keyed by parameter full name (``"dense1.W"``).

    Attributes
    ----------
    quantities : list of Quantity
        In the order they were computed.
    architecture : list of str
        One line per layer.
    loss_description : str
        The loss and its formula.
    optimizer_description : str
        The update rule.
    loss_value : float
        :math:`L` at the current parameters.
    gradients : dict of str to ndarray
        :math:`\\partial L/\\partial \\theta` for every trainable parameter.
    updated : dict of str to ndarray
        Every parameter after the update (frozen ones unchanged).
    notes : list of str
        Remarks printed under the trace (e.g. that dropout was off).
    """

    quantities: list[Quantity] = field(default_factory=list)
    architecture: list[str] = field(default_factory=list)
    loss_description: str = ""
    optimizer_description: str = ""
    loss_value: float = float("nan")
    gradients: dict[str, np.ndarray] = field(default_factory=dict)
    updated: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    # -- lookup -------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> np.ndarray:
        return self.get(name).value

    def __contains__(self, name: str) -> bool:
        return any(name == q.symbol or name in q.aliases for q in self.quantities)

    def get(self, name: str) -> Quantity:
        """The :class:`Quantity` with this symbol or alias."""
        for q in self.quantities:
            if name == q.symbol:
                return q
        for q in self.quantities:
            if name in q.aliases:
                return q
        known = ", ".join(q.symbol for q in self.quantities)
        raise KeyError(f"The trace has no quantity {name!r}; it has {known}.")

    @property
    def symbols(self) -> list[str]:
        """The symbols in computation order."""
        return [q.symbol for q in self.quantities]

    def stage(self, stage: str) -> list[Quantity]:
        """The quantities of one stage."""
        return [q for q in self.quantities if q.stage == stage]

    # -- renderings ---------------------------------------------------------------------------
    def _header_lines(self) -> list[str]:
        return [
            "network:   " + " → ".join(self.architecture),
            "loss:      " + self.loss_description,
            "update:    " + self.optimizer_description,
        ]

    def table(self, precision: int = 6) -> str:
        """A plain-text table for the terminal: symbol, formula, shape and value.

        Parameters
        ----------
        precision : int
            Significant digits of each printed number.
        """
        sym_w = max(len(q.symbol) for q in self.quantities)
        formula_w = max(len(q.formula) for q in self.quantities)
        shape_w = max(len(_shape(q.value)) for q in self.quantities)
        indent = 2 + sym_w + 3 + formula_w + 2 + shape_w + 2
        lines = ["One training step, explained", *self._header_lines()]
        for stage in STAGES:
            rows = self.stage(stage)
            if not rows:
                continue
            lines += ["", _STAGE_TITLES[stage]]
            for q in rows:
                text = _format_array(q.value, precision).splitlines()
                head = (
                    f"  {q.symbol.ljust(sym_w)} = {q.formula.ljust(formula_w)}  "
                    f"{_shape(q.value).ljust(shape_w)}  "
                )
                lines.append(head + text[0])
                lines += [" " * indent + t for t in text[1:]]
        if self.notes:
            lines += ["", *(f"note: {n}" for n in self.notes)]
        return "\n".join(lines) + "\n"

    def markdown(self, precision: int = 6) -> str:
        """Markdown: a header list and one table per stage (matrix rows separated by ``<br>``)."""
        lines = ["## One training step, explained", ""]
        for line in self._header_lines():
            key, rest = line.split(":", 1)
            lines.append(f"- {key}: {rest.strip()}")
        for stage in STAGES:
            rows = self.stage(stage)
            if not rows:
                continue
            lines += ["", f"### {_STAGE_TITLES[stage]}", ""]
            lines += ["| quantity | formula | shape | value |", "|---|---|---|---|"]
            for q in rows:
                value = "<br>".join(_format_array(q.value, precision).splitlines())
                cells = [q.symbol, q.formula, _shape(q.value), f"<code>{value}</code>"]
                lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        if self.notes:
            lines += ["", *(f"> {n}" for n in self.notes)]
        return "\n".join(lines) + "\n"

    def html(self, precision: int = 6) -> str:
        """An HTML fragment (a header list and one ``<table>`` per stage), all text escaped."""
        esc = html.escape
        parts = ['<div class="explain">', "<ul>"]
        for line in self._header_lines():
            key, rest = line.split(":", 1)
            parts.append(f"<li><b>{esc(key)}</b>: {esc(rest.strip())}</li>")
        parts.append("</ul>")
        for stage in STAGES:
            rows = self.stage(stage)
            if not rows:
                continue
            parts.append(f"<h3>{esc(_STAGE_TITLES[stage])}</h3>")
            parts.append(
                "<table><thead><tr><th>quantity</th><th>formula</th><th>shape</th>"
                "<th>value</th></tr></thead><tbody>"
            )
            for q in rows:
                value = esc(_format_array(q.value, precision))
                parts.append(
                    f"<tr><td>{esc(q.symbol)}</td><td>{esc(q.formula)}</td>"
                    f"<td>{esc(_shape(q.value))}</td><td><pre>{value}</pre></td></tr>"
                )
            parts.append("</tbody></table>")
        parts += [f"<p class='note'>{esc(n)}</p>" for n in self.notes]
        parts.append("</div>")
        return "\n".join(parts) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: header and every quantity with its value as nested lists."""
        return {
            "architecture": list(self.architecture),
            "loss": self.loss_description,
            "update": self.optimizer_description,
            "loss_value": self.loss_value,
            "quantities": [
                {
                    "stage": q.stage,
                    "symbol": q.symbol,
                    "formula": q.formula,
                    "shape": list(q.value.shape),
                    "value": q.value.tolist(),
                    "layer": q.layer,
                    "aliases": list(q.aliases),
                }
                for q in self.quantities
            ],
            "notes": list(self.notes),
        }


# -- formatting helpers ------------------------------------------------------------------------
def _shape(value: np.ndarray) -> str:
    return str(tuple(int(s) for s in value.shape))


def _format_array(value: np.ndarray, precision: int) -> str:
    def number(v: float) -> str:
        return f"{v:.{precision}g}"

    if value.ndim == 0:
        return number(float(value))
    # Right-align every number to the widest, so matrix columns line up.
    width = max((len(number(v)) for v in value.ravel()), default=1)
    return np.array2string(
        value,
        formatter={"float_kind": lambda v: number(v).rjust(width)},
        threshold=200,
        edgeitems=4,
        max_line_width=100,
    )


# -- how each piece is written -----------------------------------------------------------------
def _activation_name(layer: Layer) -> str:
    return getattr(layer, "symbol", "") or type(layer).__name__


def _derivative_formula(layer: Layer, z: str, a: str) -> str:
    """:math:`f'(z)` written with the quantity the layer actually caches (the layer's own text)."""
    if isinstance(layer, Activation):
        return layer.derivative(z, a)
    return f"{_activation_name(layer)}′({z})"


def describe_loss(loss: Loss) -> tuple[str, str]:
    """``(L formula, ∂L/∂ŷ formula)`` of a loss, in the lecture's notation (the loss's own text)."""
    value, gradient = loss.formula()
    if not value:
        return f"{type(loss).__name__}(ŷ, y)", f"∂{type(loss).__name__}/∂ŷ"
    return value, gradient


# -- walking the network -----------------------------------------------------------------------
def _leaves(layer: Layer, prefix: str = "") -> Iterator[tuple[str, Layer]]:
    """Every non-container layer with the prefix of its parameters' full names."""
    if isinstance(layer, Sequential):
        for child in layer.layers:
            child_prefix = f"{prefix}{child.name}." if child.name else prefix
            if isinstance(child, Sequential):
                yield from _leaves(child, child_prefix)
            else:
                yield child_prefix, child
    else:
        yield prefix, layer


def _describe_layer(layer: Layer) -> str:
    if isinstance(layer, Dense):
        return f"{layer.name} Dense({layer.in_features}→{layer.out_features})"
    return f"{layer.name} {type(layer).__name__}"


class _Symbols:
    """Hands out unique symbols: a second ``a1`` becomes ``a1′``."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, symbol: str) -> str:
        while symbol in self.used:
            symbol += "′"
        self.used.add(symbol)
        return symbol


def _as_batch(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x) if isinstance(x, np.ndarray | list | tuple | float | int) else to_numpy(x)
    arr = np.asarray(arr)
    if arr.dtype == bool:
        arr = arr.astype(np.float64)  # labels such as the lecture's x0 + x1 > 0
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"The {name} must be numbers, got values of type {arr.dtype}.")
    return arr


def _prepare(network: Sequential, loss: Loss, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """``x`` as ``(N, d)`` in the network's dtype and ``y`` as the loss expects it."""
    dtype = np.dtype(network.dtype)
    x = _as_batch(x, "input")
    if x.ndim == 1:
        x = x[None, :]  # one sample
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(
            f"The input must be one sample (d,) or a batch (N, d); got shape {x.shape}."
        )
    d_in = network.in_features
    if d_in is not None and x.shape[1] != d_in:
        raise ValueError(
            f"The network takes {d_in} input features but the input has {x.shape[1]}; "
            f"give {d_in} numbers per sample."
        )
    x = x.astype(dtype)
    n = x.shape[0]
    d_out = network.output_dim(x.shape[1])
    y = _as_batch(y, "target")
    if isinstance(loss, CrossEntropy) and (y.ndim == 1 or (y.ndim == 0 and n == 1)):
        y = y.reshape(-1)
        if y.shape[0] != n:
            raise ValueError(f"Give one class index per sample: {n} targets, got {y.shape[0]}.")
        if np.any(y != np.round(y)) or np.any(y < 0) or np.any(y >= d_out):
            raise ValueError(
                f"Class-index targets must be integers from 0 to {d_out - 1}; got {y.tolist()}."
            )
        return x, y.astype(np.int64), d_out
    if y.ndim <= 1:
        y = y.reshape(n, -1) if y.size == n * d_out else y.reshape(-1, 1)
    if y.shape != (n, d_out):
        raise ValueError(
            f"The target must have shape ({n}, {d_out}) for {n} sample(s) and {d_out} "
            f"output(s); got {y.size} number(s)."
        )
    return x, y.astype(dtype), d_out


def explain_step(
    network: Sequential,
    x: Any,
    y: Any,
    loss: Loss | str | None = None,
    optimizer: GradientTransformation | None = None,
    *,
    learning_rate: float = 0.1,
    opt_state: Any = None,
) -> StepTrace:
    """Run one forward pass, backward pass and update, and record every quantity.

    The network's own layers compute everything (``forward`` with dropout off, then each
    layer's hand-derived ``backward``), so the trace shows what training computes. The
    network is left as it was: its parameters are not updated and its gradients are put back.

    Parameters
    ----------
    network : Sequential
        Any stack of layers (nested ``Sequential`` layers are walked through).
    x : array, shape (d,) or (N, d)
        One sample or a small batch.
    y : array
        Targets: ``(K,)`` for one sample, ``(N,)`` or ``(N, K)``; class indices ``(N,)`` for
        :class:`~chainrule.losses.CrossEntropy`.
    loss : Loss or str, optional
        Default :class:`HalfSumSquaredError`, the lecture's ``½ Σ (ŷ − y)²``.
    optimizer : GradientTransformation, optional
        Default plain gradient descent, ``sgd(learning_rate)``: :math:`W^+ = W - \\eta\\,\\partial L/\\partial W`.
    learning_rate : float
        :math:`\\eta` of the default optimizer (the lecture's 0.1).
    opt_state : optional
        An optimizer state to continue from (copied, never modified), e.g. ``trainer.opt_state``.

    Returns
    -------
    StepTrace
        The quantities, looked up by symbol (``trace["d_hidden"]``) and rendered with
        :meth:`StepTrace.table`, :meth:`StepTrace.markdown` or :meth:`StepTrace.html`.

    Examples
    --------
    >>> import chainrule as cr
    >>> net, X, y = lecture_example()
    >>> trace = cr.explain_step(net, X[:1], y[:1])
    >>> trace["d_output"].shape
    (1, 1)
    """
    if not isinstance(network, Sequential):
        raise TypeError(f"explain_step needs a Sequential network, got {type(network).__name__}.")
    loss = HalfSumSquaredError() if loss is None else losses_module.get(loss)
    x, y, _ = _prepare(network, loss, x, y)
    leaves = list(_leaves(network))
    if not leaves:
        raise ValueError("The network has no layers to explain.")
    n_dense = sum(isinstance(layer, Dense) for _, layer in leaves)
    two_layer = n_dense == 2
    trace = StepTrace(architecture=[_describe_layer(layer) for _, layer in leaves])
    loss_formula, grad_formula = describe_loss(loss)
    trace.loss_description = f"{type(loss).__name__}: L = {loss_formula}"
    symbols = _Symbols()
    saved_grads = [dict(layer.grads) for _, layer in leaves]

    def add(
        stage: str,
        symbol: str,
        formula: str,
        value: Any,
        layer: Layer | None = None,
        aliases: tuple[str, ...] = (),
    ) -> str:
        symbol = symbols.take(symbol)
        arr = np.array(to_numpy(value), copy=True)
        name = layer.name if layer is not None else None
        trace.quantities.append(Quantity(stage, symbol, formula, arr, name, aliases))
        return symbol

    # Parameters: Wk and bk for Dense layer k, by the lecture's names.
    dense_index: dict[int, int] = {}
    for prefix, layer in leaves:
        if isinstance(layer, Dense):
            k = dense_index[id(layer)] = len(dense_index) + 1
            for p, value in layer.params.items():
                note = " (frozen)" if p in layer.frozen else ""
                add("parameters", f"{p}{k}", f"{prefix}{p}{note}", value, layer, (prefix + p,))

    try:
        # -- forward: record each layer's output under its name ------------------------------
        a, a_sym = x, "x"
        add("forward", "x", "the input", x)
        inputs: list[str] = []  # the symbol of each leaf's input
        outputs: list[str] = []
        preceding_dense: list[int | None] = []  # k when the leaf's input is zk
        last_dense: int | None = None
        input_is_z = False  # whether the current signal is a Dense layer's output zk
        for i, (_, layer) in enumerate(leaves):
            is_last = i == len(leaves) - 1
            inputs.append(a_sym)
            preceding_dense.append(last_dense if input_is_z else None)
            input_is_z = isinstance(layer, Dense)
            out = layer.forward(a, training=False)
            if isinstance(layer, Dense):
                k = dense_index[id(layer)]
                bias = f" + b{k}" if layer.use_bias else ""
                formula = f"{a_sym}·W{k}{bias}"
                if is_last:
                    sym = add("forward", "ŷ", formula, out, layer, (f"z{k}", "output"))
                else:
                    sym = add("forward", f"z{k}", formula, out, layer)
                last_dense = k
            elif isinstance(layer, Activation):
                k = last_dense or 0
                formula = f"{_activation_name(layer)}({a_sym})"
                if is_last:
                    sym = add("forward", "ŷ", formula, out, layer, (f"a{k}", "output"))
                elif two_layer and k == 1:
                    sym = add("forward", "h", formula, out, layer, ("a1", "hidden"))
                else:
                    sym = add("forward", f"a{k}", formula, out, layer)
            elif isinstance(layer, Dropout):
                formula = f"{a_sym} (dropout is off when explaining)"
                sym = add("forward", f"drop({a_sym})", formula, out, layer)
            else:
                sym = add("forward", f"{layer.name}({a_sym})", type(layer).__name__, out, layer)
            outputs.append(sym)
            a, a_sym = out, sym

        # -- loss -------------------------------------------------------------------------------
        add("loss", "y", "the target", y)
        value, grad = loss(a, y)
        trace.loss_value = float(value)
        add("loss", "L", loss_formula, np.asarray(value))
        link = loss.link(a)
        if link is not a:
            add("loss", "p", "link(ŷ): the prediction as a probability or rate", link)
        g_sym = add("loss", "∂L/∂ŷ", grad_formula, grad)

        # -- backward: each layer turns ∂L/∂(its output) into ∂L/∂(its input) ----------------
        def delta_symbol(k: int) -> tuple[str, tuple[str, ...]]:
            if k == n_dense:
                return "d_output", (f"δ{k}",)
            if two_layer and k == 1:
                return "d_hidden", ("δ1",)
            return f"δ{k}", ()

        g = grad
        for i in range(len(leaves) - 1, -1, -1):
            prefix, layer = leaves[i]
            in_sym = inputs[i]
            if isinstance(layer, Dense):
                k = dense_index[id(layer)]
                if i == len(leaves) - 1:  # linear output: δ is ∂L/∂ŷ itself
                    sym, aliases = delta_symbol(k)
                    g_sym = add("backward", sym, f"{g_sym} (linear output)", g, layer, aliases)
                g_in = layer.backward(g, need_input_grad=i > 0)
                for p in layer.params:
                    full = prefix + p
                    if p in layer.frozen:
                        continue
                    trace.gradients[full] = np.array(to_numpy(layer.grads[p]), copy=True)
                    formula = f"{in_sym}ᵀ·{g_sym}" if p == "W" else f"Σₙ {g_sym}"
                    add(
                        "backward", f"∂L/∂{p}{k}", formula, layer.grads[p], layer, (f"grad {full}",)
                    )
                if i > 0:
                    g_sym = add("backward", f"∂L/∂{in_sym}", f"{g_sym}·W{k}ᵀ", g_in, layer)
                g = g_in
            elif isinstance(layer, Activation):
                out_sym = outputs[i]
                k = preceding_dense[i]
                if not isinstance(layer, Softmax):
                    # f'(z) element-wise: the layer's own backward applied to ones.
                    slope = layer.backward(np.ones_like(g))
                    fname = _activation_name(layer)
                    add(
                        "backward",
                        f"{fname}′({in_sym})",
                        _derivative_formula(layer, in_sym, out_sym),
                        slope,
                        layer,
                    )
                    formula = f"{g_sym} ⊙ {fname}′({in_sym})"
                else:
                    formula = (
                        f"softmax Jacobian·{g_sym} = {out_sym} ⊙ ({g_sym} − Σₖ {g_sym}·{out_sym})"
                    )
                g = layer.backward(g)
                if k is not None:
                    sym, aliases = delta_symbol(k)
                    g_sym = add("backward", sym, formula, g, layer, aliases)
                else:
                    g_sym = add("backward", f"∂L/∂{in_sym}", formula, g, layer)
            else:
                g = layer.backward(g)
                g_sym = add("backward", f"∂L/∂{in_sym}", f"{g_sym} through {layer.name}", g, layer)

        # -- update on copies, so the network keeps its parameters ----------------------------
        params = {k: np.array(to_numpy(v), copy=True) for k, v in network.params.items()}
        trainable = {k: params[k] for k in trace.gradients}
        grads = {k: v.copy() for k, v in trace.gradients.items()}
        if optimizer is None:
            optimizer = optimizers_module.sgd(learning_rate)
            trace.optimizer_description = (
                f"gradient descent, W⁺ = W − η·∂L/∂W with η = {learning_rate:g}"
            )
            rule = "{p}{k} − η·∂L/∂{p}{k}"
        else:
            trace.optimizer_description = "the given optimizer: W⁺ = W + Δ (its step)"
            rule = "{p}{k} + Δ{p}{k}"
        state = optimizer.init(trainable) if opt_state is None else copy.deepcopy(opt_state)
        updates, _ = optimizer.update(grads, state, trainable)
        optimizers_module.apply_updates(trainable, updates)
        trace.updated = params
        for i in range(len(leaves) - 1, -1, -1):
            prefix, layer = leaves[i]
            if not isinstance(layer, Dense):
                continue
            k = dense_index[id(layer)]
            for p in layer.params:
                full = prefix + p
                frozen = p in layer.frozen
                formula = f"{p}{k} (frozen: not updated)" if frozen else rule.format(p=p, k=k)
                add("update", f"{p}{k}⁺", formula, params[full], layer, (f"new {full}",))
    finally:
        for (_, layer), grads_before in zip(leaves, saved_grads, strict=True):
            layer.grads = grads_before

    if any(isinstance(layer, Dropout) for _, layer in leaves):
        trace.notes.append("Dropout is switched off when explaining, so the step is deterministic.")
    return trace


# -- the two worked examples -------------------------------------------------------------------
def lecture_example() -> tuple[Sequential, np.ndarray, np.ndarray]:
    """The lecture's 2-4-1 sigmoid network at its initial weights, with its data.

    The lecture seeds NumPy with 42, draws ``data = randn(500, 2)``, labels
    ``data[:, 0] + data[:, 1] > 0`` and draws ``W1 = randn(2, 4)`` then ``W2 = randn(4, 1)``
    with zero biases; a ``RandomState(42)`` gives the same stream without global state.

    Returns
    -------
    network : Sequential
        ``Dense(2, 4), Sigmoid(), Dense(4, 1), Sigmoid()`` at the lecture's initial weights.
    X : ndarray, shape (500, 2)
        The lecture's data.
    y : ndarray, shape (500, 1)
        Its labels as floats, as the lecture's ``labels.reshape(-1, 1)``.
    """
    rng = np.random.RandomState(42)
    X = rng.randn(500, 2)
    y = ((X[:, 0] + X[:, 1]) > 0).astype(np.float64).reshape(-1, 1)
    network = Sequential(
        [
            Dense(2, 4, weight_init="normal", rng=rng),
            Sigmoid(),
            Dense(4, 1, weight_init="normal", rng=rng),
            Sigmoid(),
        ]
    )
    return network, X, y


MAZUR_URL = "https://mattmazur.com/2015/03/17/a-step-by-step-backpropagation-example/"
"""Matt Mazur, "A Step by Step Backpropagation Example" (2015)."""


def mazur_example() -> tuple[Sequential, np.ndarray, np.ndarray]:
    """Matt Mazur's 2-2-2 sigmoid network, with his input and target.

    Weights ``w1 … w8 = .15 .20 .25 .30 .40 .45 .50 .55`` with
    :math:`net_{h1} = w_1 i_1 + w_2 i_2 + b_1` (and ``w3, w4`` for ``h2``, ``w5, w6`` for
    ``o1``, ``w7, w8`` for ``o2``), so in chainrule's ``W`` shaped ``(in, out)`` the weights
    into one neuron form a column: ``W1 = [[w1, w3], [w2, w4]]``, ``W2 = [[w5, w7], [w6, w8]]``.
    Biases ``b1 = .35`` and ``b2 = .60`` are shared by a layer's neurons and not updated
    (frozen). Train it with :class:`HalfSumSquaredError` at learning rate 0.5 (his
    :math:`E = \\sum \\tfrac12 (t - o)^2`), or ``MSE(reduction="sum")`` at 0.25.

    Returns
    -------
    network : Sequential
        ``Dense(2, 2), Sigmoid(), Dense(2, 2), Sigmoid()`` with biases frozen.
    x : ndarray, shape (1, 2)
        ``[[0.05, 0.10]]``.
    y : ndarray, shape (1, 2)
        ``[[0.01, 0.99]]``.
    """
    network = Sequential([Dense(2, 2), Sigmoid(), Dense(2, 2), Sigmoid()])
    network.set_params(
        {
            "dense1.W": np.array([[0.15, 0.25], [0.20, 0.30]]),
            "dense1.b": np.array([0.35, 0.35]),
            "dense2.W": np.array([[0.40, 0.50], [0.45, 0.55]]),
            "dense2.b": np.array([0.60, 0.60]),
        }
    )
    network.freeze("dense1.b", "dense2.b")
    return network, np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])
