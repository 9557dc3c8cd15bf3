"""Explain one training step: every quantity of a forward pass, backward pass and update.

:func:`explain_step` runs the library's own layers on a small batch and records, in the
lecture's notation (``z1, h, ŷ, d_output, d_hidden, δk``…), each value with the formula that
produced it, as a :class:`StepTrace` that renders as a terminal table, Markdown or HTML.
"""

from __future__ import annotations

import copy
import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.backend import to_numpy
from chainrule.lecture import LEARNING_RATE, SEED, lecture_data, lecture_loss, lecture_network
from chainrule.network import losses as losses_module
from chainrule.network import optimizers as optimizers_module
from chainrule.network.activations import Activation, Sigmoid, Softmax
from chainrule.network.containers import Container, Sequential
from chainrule.network.layers import Dense, Dropout, Layer
from chainrule.network.losses import CrossEntropy, HalfSumSquaredError, Loss
from chainrule.network.optimizers import AdamState, GradientTransformation, LearningRateState
from chainrule.network.residual import Residual

__all__ = [
    "MAZUR_URL",
    "STAGES",
    "HalfSumSquaredError",
    "Quantity",
    "StepTrace",
    "describe_loss",
    "explain_step",
    "lecture_example",
    "mazur_example",
]


def _kept(n: int, limit: int) -> tuple[list[int], int | None]:
    """Indices to show of ``n`` and where the ellipsis goes (``None``: all shown)."""
    if n <= limit:
        return list(range(n)), None
    edge = max(1, limit // 2)
    return [*range(edge), *range(n - edge, n)], edge


def format_matrix(value: np.ndarray, precision: int, limit: int | None = None) -> str:
    """``value`` as aligned text, each number to ``precision`` significant digits.

    Parameters
    ----------
    value : ndarray, shape () or (n,) or (n, m)
        The quantity. Arrays of three or more dimensions are printed by NumPy (summarised
        beyond 200 numbers).
    precision : int
        Significant digits.
    limit : int, optional
        Show at most this many rows and columns: beyond it, the first and last ``limit // 2``
        of each with ``…`` (columns) and ``⋮`` (rows) between. ``None`` prints everything.
    """

    def number(v: float) -> str:
        return f"{v:.{precision}g}"

    if value.ndim == 0:
        return number(float(value))
    if value.ndim > 2 or limit is None:
        width = max((len(number(v)) for v in value.ravel()), default=1)
        return np.array2string(
            value,
            formatter={"float_kind": lambda v: number(v).rjust(width)},
            threshold=200,
            edgeitems=4,
            max_line_width=100,
        )
    matrix = value.reshape(1, -1) if value.ndim == 1 else value
    rows, row_gap = _kept(matrix.shape[0], limit)
    cols, col_gap = _kept(matrix.shape[1], limit)
    cells = [[number(float(matrix[i, j])) for j in cols] for i in rows]
    width = max((len(c) for row in cells for c in row), default=1)
    lines = []
    for row in cells:
        parts = [c.rjust(width) for c in row]
        if col_gap is not None:
            parts.insert(col_gap, "…")
        lines.append(" ".join(parts))
    if row_gap is not None:
        lines.insert(row_gap, "⋮".center(len(lines[0])).rstrip())
    if value.ndim == 1:
        return "[" + lines[0] + "]"
    return "[" + "\n ".join(f"[{line}]" if line.strip() != "⋮" else line for line in lines) + "]"


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

    def html(self, precision: int = 6, limit: int | None = None) -> str:
        """An HTML fragment (a header list and one ``<table>`` per stage), all text escaped.

        Parameters
        ----------
        precision : int
            Significant digits of each printed number.
        limit : int, optional
            Abbreviate matrices with more rows or columns than this to their first and last
            rows and columns (:func:`chainrule.explain.format_matrix`); the shape
            column still gives the full size.
        """
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
                value = esc(format_matrix(q.value, precision, limit))
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
    return format_matrix(value, precision)


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


@dataclass
class _Seen:
    """What the backward pass needs to know about a layer's forward call."""

    full: str  # the full dotted name ("block.dense1")
    input_symbol: str
    output_symbol: str
    is_output: bool  # it computed ŷ
    after_dense: int | None  # k when its input was zk


class Walker:
    """Records a network's forward and backward pass into a :class:`StepTrace`.

    Parameters
    ----------
    trace : StepTrace
        Where the quantities go.
    notation : Notation
        Hands out the symbols.
    training : bool
        Run the layers as training does (BatchNorm on the batch's statistics); dropout stays
        off regardless, so the step is deterministic.
    """

    def __init__(self, trace: StepTrace, notation: Notation, training: bool = True) -> None:
        self.trace = trace
        self.notation = notation
        self.training = training
        self.seen: dict[int, _Seen] = {}
        self._last_dense: int | None = None  # k of the most recent Dense layer
        self._signal_is_z = False  # whether the current signal is that layer's zk
        self._branch: dict[str, str] = {}  # input symbol -> the Residual branch being walked

    def add(
        self,
        stage: str,
        symbol: str,
        formula: str,
        value: Any,
        layer: Layer | None = None,
        aliases: tuple[str, ...] = (),
    ) -> str:
        """Record one quantity (a copy of ``value``) under a fresh symbol; return the symbol."""
        symbol = self.notation.take(symbol)
        arr = np.array(to_numpy(value), copy=True)
        name = layer.name if layer is not None else None
        self.trace.quantities.append(Quantity(stage, symbol, formula, arr, name, aliases))
        return symbol

    # -- forward ---------------------------------------------------------------------------------
    def forward(self, layer: Layer, a: Any, a_sym: str, full: str, is_output: bool) -> tuple:
        """Run ``layer`` on ``a`` (symbol ``a_sym``), record its output; ``(output, symbol)``."""
        if isinstance(layer, Sequential):
            return self._forward_sequential(layer, a, a_sym, full, is_output)
        if isinstance(layer, Residual):
            return self._forward_residual(layer, a, a_sym, full, is_output)
        after_dense = self._last_dense if self._signal_is_z else None
        out = layer.forward(a, training=self.training and not isinstance(layer, Dropout))
        if isinstance(layer, Dense):
            sym = self._forward_dense(layer, out, a_sym, is_output)
        elif isinstance(layer, Activation):
            sym = self._forward_activation(layer, out, a_sym, is_output)
        else:
            sym = self._forward_other(layer, out, a_sym, is_output)
        self._signal_is_z = isinstance(layer, Dense)
        self.seen[id(layer)] = _Seen(full, a_sym, sym, is_output, after_dense)
        return out, sym

    def _forward_sequential(
        self, net: Sequential, a: Any, a_sym: str, full: str, is_output: bool
    ) -> tuple:
        last = len(net.layers) - 1
        for i, child in enumerate(net.layers):
            a, a_sym = self.forward(child, a, a_sym, _join(full, child), is_output and i == last)
        return a, a_sym

    def _forward_residual(
        self, block: Residual, x: Any, x_sym: str, full: str, is_output: bool
    ) -> tuple:
        fx, fx_sym = self.forward(block.block, x, x_sym, _join(full, block.block), False)
        skip, skip_sym = x, x_sym
        if block.projection is not None:
            skip, skip_sym = self.forward(
                block.projection, x, x_sym, _join(full, block.projection), False
            )
        y = skip + fx  # the Residual's own sum, y = s(x) + f(x)
        formula = f"{skip_sym} + {fx_sym}  (y = x + f(x))"
        symbol = "ŷ" if is_output else str(block.name)
        aliases = ("output",) if is_output else ()
        sym = self.add("forward", symbol, formula, y, block, aliases)
        self._signal_is_z = False
        self.seen[id(block)] = _Seen(full, x_sym, sym, is_output, None)
        return y, sym

    def _forward_dense(self, layer: Dense, z: Any, a_sym: str, is_output: bool) -> str:
        k = self.notation.k(layer)
        self._last_dense = k
        bias = f" + b{k}" if layer.use_bias else ""
        formula = f"{a_sym}·W{k}{bias}"
        if is_output:
            return self.add("forward", "ŷ", formula, z, layer, (f"z{k}", "output"))
        return self.add("forward", f"z{k}", formula, z, layer)

    def _forward_activation(self, layer: Activation, a: Any, z_sym: str, is_output: bool) -> str:
        symbol, aliases = self.notation.activation(self._last_dense or 0, is_output)
        return self.add("forward", symbol, f"{layer_symbol(layer)}({z_sym})", a, layer, aliases)

    def _forward_other(self, layer: Layer, y: Any, a_sym: str, is_output: bool) -> str:
        formula = f"{layer_symbol(layer)}({a_sym})"
        if layer.formula:
            formula += f": {layer.formula}"
        if is_output:
            return self.add("forward", "ŷ", formula, y, layer, ("output",))
        # named by the layer: drop(h) for a layer with a symbol, else batchnorm1
        symbol = f"{layer.symbol}({a_sym})" if layer.symbol else str(layer.name)
        return self.add("forward", symbol, formula, y, layer)

    # -- backward --------------------------------------------------------------------------------
    def backward(self, layer: Layer, g: Any, g_sym: str, need_input: bool) -> tuple:
        """Given ``g = ∂L/∂(output)`` (symbol ``g_sym``): ``(∂L/∂(input), its symbol)``.

        The input gradient is ``None`` when ``need_input`` is false or the layer has none.
        """
        if isinstance(layer, Sequential):
            for i in range(len(layer.layers) - 1, -1, -1):
                g, g_sym = self.backward(layer.layers[i], g, g_sym, need_input or i > 0)
            return g, g_sym
        if isinstance(layer, Residual):
            return self._backward_residual(layer, g, g_sym, need_input)
        if isinstance(layer, Dense):
            return self._backward_dense(layer, g, g_sym, need_input)
        if isinstance(layer, Activation):
            return self._backward_activation(layer, g, g_sym)
        return self._backward_other(layer, g, g_sym, need_input)

    def input_grad(self, input_symbol: str) -> str:
        """``∂L/∂x``, or ``∂L/∂x via f`` for one branch's share inside a Residual block."""
        branch = self._branch.get(input_symbol)
        return f"∂L/∂{input_symbol}" + (f" via {branch}" if branch else "")

    def _backward_residual(self, block: Residual, g: Any, g_sym: str, need_input: bool) -> tuple:
        seen = self.seen[id(block)]
        outer = self._branch.get(seen.input_symbol)
        self._branch[seen.input_symbol] = "f"
        through_block, block_sym = self.backward(block.block, g, g_sym, need_input)
        through_skip, skip_sym = g, g_sym  # ∂(x)/∂x = I: the skip passes g on unchanged
        if block.projection is not None:
            self._branch[seen.input_symbol] = "skip"
            through_skip, skip_sym = self.backward(block.projection, g, g_sym, need_input)
        if outer is None:
            del self._branch[seen.input_symbol]
        else:
            self._branch[seen.input_symbol] = outer
        if not need_input:
            return None, ""
        total = through_skip + through_block
        formula = f"{skip_sym} + {block_sym}  (skip + block: the gradient of a sum)"
        return total, self.add(
            "backward", self.input_grad(seen.input_symbol), formula, total, block
        )

    def _record_param_grads(self, layer: Layer, formulas: dict[str, str], text: str = "") -> None:
        """``∂L/∂θ`` of every unfrozen parameter, into the trace's gradients and quantities."""
        full = self.seen[id(layer)].full
        for p in layer.params:
            if p in layer.frozen:
                continue
            name = f"{full}.{p}"
            self.trace.gradients[name] = np.array(to_numpy(layer.grads[p]), copy=True)
            symbol = "∂L/∂" + self.notation.param(layer, full, p)
            formula = formulas.get(p, f"{type(layer).__name__}.backward{text}")
            self.add("backward", symbol, formula, layer.grads[p], layer, (f"grad {name}",))

    def _backward_dense(self, layer: Dense, g: Any, g_sym: str, need_input: bool) -> tuple:
        seen = self.seen[id(layer)]
        k = self.notation.k(layer)
        if seen.is_output:  # a linear output: δ is ∂L/∂ŷ itself
            sym, aliases = self.notation.delta(k)
            g_sym = self.add("backward", sym, f"{g_sym} (linear output)", g, layer, aliases)
        g_in = layer.backward(g, need_input_grad=need_input)
        self._record_param_grads(layer, {"W": f"{seen.input_symbol}ᵀ·{g_sym}", "b": f"Σₙ {g_sym}"})
        if not need_input:
            return None, ""
        symbol = self.input_grad(seen.input_symbol)
        return g_in, self.add("backward", symbol, f"{g_sym}·W{k}ᵀ", g_in, layer)

    def _backward_activation(self, layer: Activation, g: Any, g_sym: str) -> tuple:
        seen = self.seen[id(layer)]
        z, a = seen.input_symbol, seen.output_symbol
        if isinstance(layer, Softmax):
            formula = f"softmax Jacobian·{g_sym} = {a} ⊙ ({g_sym} − Σₖ {g_sym}·{a})"
        else:
            # f'(z) element-wise: the layer's own backward applied to ones.
            slope = layer.backward(np.ones_like(g))
            fname = layer_symbol(layer)
            self.add("backward", f"{fname}′({z})", derivative_text(layer, z, a), slope, layer)
            formula = f"{g_sym} ⊙ {fname}′({z})"
        g = layer.backward(g)
        if seen.after_dense is not None and z not in self._branch:  # a branch holds a share
            sym, aliases = self.notation.delta(seen.after_dense)
            return g, self.add("backward", sym, formula, g, layer, aliases)
        return g, self.add("backward", self.input_grad(z), formula, g, layer)

    def _backward_other(self, layer: Layer, g: Any, g_sym: str, need_input: bool) -> tuple:
        seen = self.seen[id(layer)]
        g_in = layer.backward(g, need_input_grad=need_input)
        text = f": {layer.derivative}" if layer.derivative else ""
        # the layer's derivative text goes with ∂L/∂(input), or with ∂L/∂θ when there is none
        self._record_param_grads(layer, {}, "" if g_in is not None else text)
        if g_in is None:
            return None, ""
        formula = f"{g_sym} through {layer_symbol(layer)}{text}"
        return g_in, self.add("backward", self.input_grad(seen.input_symbol), formula, g_in, layer)


def _join(prefix: str, layer: Layer) -> str:
    """The full dotted name of a child: ``block.dense1``."""
    return f"{prefix}.{layer.name}" if prefix else str(layer.name)


def explain_step(
    network: Container,
    x: Any,
    y: Any,
    loss: Loss | str | None = None,
    optimizer: GradientTransformation | None = None,
    *,
    learning_rate: float = LEARNING_RATE,
    opt_state: Any = None,
) -> StepTrace:
    """Run one forward pass, backward pass and update, and record every quantity.

    The network's own layers compute everything (``forward`` as in training — BatchNorm on
    the batch's statistics — but with dropout off, then each layer's hand-derived
    ``backward``), so the trace shows what training computes. One sample alone runs in
    inference mode (a batch statistic needs two rows). The network is left as it was: its
    parameters are not updated, and its gradients and buffers (running statistics) are put
    back.

    Parameters
    ----------
    network : Sequential or other Container
        Any stack of layers; nested ``Sequential`` and ``Residual`` blocks are walked through.
    x : array, shape (d,) or (N, d)
        One sample or a small batch.
    y : array
        Targets: ``(K,)`` for one sample, ``(N,)`` or ``(N, K)``; class indices ``(N,)`` for
        :class:`~chainrule.network.losses.CrossEntropy`.
    loss : Loss or str, optional
        Default the lecture's, :func:`chainrule.lecture.lecture_loss`: ``½ Σ (ŷ − y)²``.
    optimizer : GradientTransformation, optional
        Default plain gradient descent, ``sgd(learning_rate)``:
        :math:`W^+ = W - \\eta\\,\\partial L/\\partial W`.
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
    >>> from chainrule.explain import lecture_example
    >>> net, X, y = lecture_example()
    >>> trace = explain_step(net, X[:1], y[:1])
    >>> trace["d_output"].shape
    (1, 1)
    """
    if not isinstance(network, Container):
        raise TypeError(f"explain_step needs a Sequential network, got {type(network).__name__}.")
    loss = lecture_loss() if loss is None else losses_module.get(loss)
    x, y = prepare(network, loss, x, y)
    leaves = list(network.leaves())
    if not leaves:
        raise ValueError("The network has no layers to explain.")
    trace = StepTrace(architecture=[describe_layer(layer) for layer in network.layers])
    training = x.shape[0] >= 2
    walker = Walker(trace, Notation(leaves), training)
    saved_grads = [dict(layer.grads) for _, layer in leaves]
    saved_buffers = [dict(layer.buffers) for _, layer in leaves]
    try:
        record_parameters(walker, leaves)
        walker.add("forward", "x", "the input", x)
        out, _ = walker.forward(network, x, "x", "", is_output=True)
        grad, grad_sym = record_loss(walker, loss, out, y)
        walker.backward(network, grad, grad_sym, need_input=False)
        record_update(walker, network, leaves, optimizer, learning_rate, opt_state)
    finally:
        for (_, layer), grads, buffers in zip(leaves, saved_grads, saved_buffers, strict=True):
            layer.grads = grads
            layer.buffers.clear()
            layer.buffers.update(buffers)
    if any(isinstance(layer, Dropout) for _, layer in leaves):
        trace.notes.append("Dropout is switched off when explaining, so the step is deterministic.")
    if not training and any(layer.buffers for _, layer in leaves):
        trace.notes.append("One sample: layers with batch statistics ran in inference mode.")
    return trace


def record_parameters(walker: Walker, leaves: list[tuple[str, Layer]]) -> None:
    """Every parameter before the step: ``Wk``, ``bk`` for Dense layer ``k``, else full names."""
    for full, layer in leaves:
        for p, value in layer.params.items():
            note = " (frozen)" if p in layer.frozen else ""
            symbol = walker.notation.param(layer, full, p)
            walker.add("parameters", symbol, f"{full}.{p}{note}", value, layer, (f"{full}.{p}",))


def record_loss(walker: Walker, loss: Loss, out: Any, y: Any) -> tuple[Any, str]:
    """``y``, ``L``, the link's prediction when there is one, and ``∂L/∂ŷ`` (returned)."""
    value_formula, grad_formula = describe_loss(loss)
    walker.trace.loss_description = f"{type(loss).__name__}: L = {value_formula}"
    walker.add("loss", "y", "the target", y)
    value, grad = loss(out, y)
    walker.trace.loss_value = float(value)
    walker.add("loss", "L", value_formula, np.asarray(value))
    link = loss.link(out)
    if link is not out:
        walker.add("loss", "p", "link(ŷ): the prediction as a probability or rate", link)
    return grad, walker.add("loss", "∂L/∂ŷ", grad_formula, grad)


def record_update(
    walker: Walker,
    network: Container,
    leaves: list[tuple[str, Layer]],
    optimizer: GradientTransformation | None,
    learning_rate: float,
    opt_state: Any,
) -> None:
    """Apply the optimizer to copies of the parameters and record every ``θ⁺``."""
    trace = walker.trace
    params = {k: np.array(to_numpy(v), copy=True) for k, v in network.params.items()}
    trainable = {k: params[k] for k in trace.gradients}
    grads = {k: v.copy() for k, v in trace.gradients.items()}
    if optimizer is None:
        optimizer = optimizers_module.sgd(learning_rate)
        trace.optimizer_description = (
            f"gradient descent, W⁺ = W − η·∂L/∂W with η = {learning_rate:g}"
        )
        rule = "{s} − η·∂L/∂{s}"
    else:
        trace.optimizer_description = "the given optimizer: W⁺ = W + Δ (its step)"
        rule = "{s} + Δ{s}"
    state = optimizer.init(trainable) if opt_state is None else copy.deepcopy(opt_state)
    updates, new_state = optimizer.update(grads, state, trainable)
    optimizers_module.apply_updates(trainable, updates)
    trace.updated = params
    adam = _adam_part(optimizer.spec, new_state)
    if adam is not None:  # the rule written out: moments, bias corrections, the step
        rule = _record_adam(walker, leaves, adam, opt_state is not None)
    for full, layer in reversed(leaves):
        for p in layer.params:
            name, symbol = f"{full}.{p}", walker.notation.param(layer, full, p)
            frozen = p in layer.frozen
            formula = f"{symbol} (frozen: not updated)" if frozen else rule.format(s=symbol)
            walker.add("update", f"{symbol}⁺", formula, params[name], layer, (f"new {name}",))


def _adam_part(spec: Any, state: Any) -> tuple[dict[str, Any], Any, float] | None:
    """``(scale_by_adam's spec, its state after the step, η)`` in a chain's state, or None."""
    if not isinstance(spec, dict):
        return None
    specs = spec.get("transforms", [spec]) if spec.get("name") == "chain" else [spec]
    states = state if spec.get("name") == "chain" else (state,)
    found, lr = None, None
    for part, part_state in zip(specs, states, strict=False):
        if part.get("name") == "scale_by_adam" and isinstance(part_state, AdamState):
            found = (part, part_state)
        if isinstance(part_state, LearningRateState):
            lr = part_state.last
    if found is None or lr is None:
        return None
    return found[0], found[1], float(lr)


def _record_adam(
    walker: Walker,
    leaves: list[tuple[str, Layer]],
    adam: tuple[dict[str, Any], AdamState, float],
    continued: bool,
) -> str:
    r"""Record Adam's new moments ``m``, ``v`` per parameter; describe the rule; return θ⁺'s.

    The moments are the optimizer state after this step (from the model file's state when
    it carries one, else from zero); the description gives :math:`t`, the bias corrections
    and where :math:`\epsilon` sits (PyTorch's or scikit-learn's rule).
    """
    spec, state, lr = adam
    b1, b2, eps, t = spec["b1"], spec["b2"], spec["eps"], state.count
    for full, layer in leaves:
        for p in layer.params:
            name = f"{full}.{p}"
            if name not in state.mu:
                continue
            s = walker.notation.param(layer, full, p)
            walker.add("update", f"m_{s}", f"β₁·m_{s} + (1 − β₁)·∂L/∂{s}", state.mu[name], layer)
            walker.add("update", f"v_{s}", f"β₂·v_{s} + (1 − β₂)·(∂L/∂{s})²", state.nu[name], layer)
    c1, c2 = 1 - b1**t, 1 - b2**t
    start = "continuing the model file's optimizer state" if continued else "from zero moments"
    if spec.get("eps_placement") == "sklearn":
        step = "W⁺ = W − η·√(1 − β₂ᵗ)/(1 − β₁ᵗ)·m/(√v + ε)  (scikit-learn's Adam)"
        rule = "{s} − η·√(1 − β₂ᵗ)/(1 − β₁ᵗ)·m_{s}/(√v_{s} + ε)"
    else:
        step = "W⁺ = W − η·m̂/(√v̂ + ε), m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ)  (torch.optim.Adam)"
        rule = "{s} − η·m̂_{s}/(√v̂_{s} + ε)"
    walker.trace.optimizer_description = (
        f"Adam, {start}: m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², {step}; "
        f"η = {lr:g}, β₁ = {b1:g}, β₂ = {b2:g}, ε = {eps:g}, step t = {t} "
        f"(1 − β₁ᵗ = {c1:.6g}, 1 − β₂ᵗ = {c2:.6g})"
    )
    return rule


def _as_batch(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x) if isinstance(x, np.ndarray | list | tuple | float | int) else to_numpy(x)
    arr = np.asarray(arr)
    if arr.dtype == bool:
        arr = arr.astype(np.float64)  # labels such as the lecture's x0 + x1 > 0
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"The {name} must be numbers, got values of type {arr.dtype}.")
    return arr


def prepare(network: Container, loss: Loss, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """``x`` as ``(N, d)`` in the network's dtype and ``y`` as the loss expects it."""
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
    x = x.astype(np.dtype(network.dtype))
    n, d_out = x.shape[0], network.output_dim(x.shape[1])
    y = _as_batch(y, "target")
    if isinstance(loss, CrossEntropy) and (y.ndim == 1 or (y.ndim == 0 and n == 1)):
        return x, _class_indices(y, n, d_out)
    if y.ndim <= 1:
        y = y.reshape(n, -1) if y.size == n * d_out else y.reshape(-1, 1)
    if y.shape != (n, d_out):
        raise ValueError(
            f"The target must have shape ({n}, {d_out}) for {n} sample(s) and {d_out} "
            f"output(s); got {y.size} number(s)."
        )
    return x, y.astype(x.dtype)


def _class_indices(y: np.ndarray, n: int, d_out: int) -> np.ndarray:
    y = y.reshape(-1)
    if y.shape[0] != n:
        raise ValueError(f"Give one class index per sample: {n} targets, got {y.shape[0]}.")
    if np.any(y != np.round(y)) or np.any(y < 0) or np.any(y >= d_out):
        raise ValueError(
            f"Class-index targets must be integers from 0 to {d_out - 1}; got {y.tolist()}."
        )
    return y.astype(np.int64)


def lecture_example() -> tuple[Sequential, np.ndarray, np.ndarray]:
    """The lecture's 2-4-1 sigmoid network at its initial weights, with its data.

    Built by :mod:`chainrule.lecture` (the one definition): a ``RandomState(42)`` draws
    ``data = randn(500, 2)``, labels ``data[:, 0] + data[:, 1] > 0``, then ``W1 = randn(2, 4)``
    and ``W2 = randn(4, 1)`` with zero biases. Explain it with the lecture's loss and rate,
    :func:`chainrule.lecture.lecture_loss` at :data:`chainrule.lecture.LEARNING_RATE` (the
    defaults of :func:`~chainrule.explain.explain_step`).

    Returns
    -------
    network : Sequential
        ``Dense(2, 4), Sigmoid(), Dense(4, 1), Sigmoid()`` at the lecture's initial weights.
    X : ndarray, shape (500, 2)
        The lecture's data.
    y : ndarray, shape (500, 1)
        Its labels as floats, as the lecture's ``labels.reshape(-1, 1)``.
    """
    rng = np.random.RandomState(SEED)
    X, labels = lecture_data(rng)
    network = lecture_network(rng)
    return network, X, labels.astype(np.float64).reshape(-1, 1)


MAZUR_URL = "https://mattmazur.com/2015/03/17/a-step-by-step-backpropagation-example/"
"""Matt Mazur, "A Step by Step Backpropagation Example" (2015)."""


def mazur_example() -> tuple[Sequential, np.ndarray, np.ndarray]:
    """Matt Mazur's 2-2-2 sigmoid network, with his input and target.

    Weights ``w1 … w8 = .15 .20 .25 .30 .40 .45 .50 .55`` with
    :math:`net_{h1} = w_1 i_1 + w_2 i_2 + b_1` (and ``w3, w4`` for ``h2``, ``w5, w6`` for
    ``o1``, ``w7, w8`` for ``o2``), so in chainrule's ``W`` shaped ``(in, out)`` the weights
    into one neuron form a column: ``W1 = [[w1, w3], [w2, w4]]``, ``W2 = [[w5, w7], [w6, w8]]``.
    Biases ``b1 = .35`` and ``b2 = .60`` are shared by a layer's neurons and not updated
    (frozen). Train it with :class:`~chainrule.network.losses.HalfSumSquaredError` at learning
    rate 0.5 (his :math:`E = \\sum \\tfrac12 (t - o)^2`), or ``MSE(reduction="sum")`` at 0.25.

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
