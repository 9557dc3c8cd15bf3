"""Walking a network forward and backward, recording what flows between its layers.

Each kind of layer is explained by one pair of methods of :class:`Walker`:

- :class:`~chainrule.network.layers.Dense` as the lecture writes it, ``zk = a·Wk + bk`` and
  ``∂L/∂Wk = aᵀ·δk``, ``∂L/∂bk = Σₙ δk``, ``∂L/∂a = δk·Wkᵀ``;
- an :class:`~chainrule.network.activations.Activation` by its own facts: ``f(z)``, then
  ``f′(z)`` written with what it caches, and ``δk = ∂L/∂a ⊙ f′(zk)``;
- :class:`~chainrule.network.containers.Sequential` by walking its children in order (and
  backward in reverse); :class:`~chainrule.network.containers.Residual` as
  ``y = x + f(x)`` forward and the sum of the skip's and the block's gradients backward;
- any other layer (BatchNorm, LayerNorm, Dropout, Embedding, a user's layer) as one forward
  and one backward quantity, named by the layer, with its ``formula``/``derivative`` text.

The values are the library's own: each layer's ``forward`` (in training mode, but dropout
off) and its hand-derived ``backward``; the walker only names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.backend import to_numpy
from chainrule.explain.notation import Notation, derivative_text, layer_symbol
from chainrule.explain.trace import Quantity, StepTrace
from chainrule.network.activations import Activation, Softmax
from chainrule.network.containers import Sequential
from chainrule.network.layers import Dense, Dropout, Layer
from chainrule.network.residual import Residual


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
