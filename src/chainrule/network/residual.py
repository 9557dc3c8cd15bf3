"""Residual blocks: :math:`y = x + f(x)`, the skip connection that lets deep stacks train."""

from __future__ import annotations

from typing import Any

from chainrule.backend import Array
from chainrule.network.containers import Container, layer_from_spec
from chainrule.network.layers import Dense, Layer


class Residual(Container):
    """A residual block, :math:`y = x + f(x)`, or :math:`y = x P + f(x)` when widths differ.

    Forward, for a block :math:`f` mapping ``(N, d)`` to ``(N, e)``:

    .. math:: y = s(x) + f(x), \\qquad s(x) = x \\;(e = d) \\text{ or } x P \\;(P: (d, e))

    Backward, given :math:`g = \\partial L/\\partial y` ``(N, e)``: both branches receive
    :math:`g` unchanged (the derivative of a sum), so

    .. math::
        \\frac{\\partial L}{\\partial x} = \\underbrace{g}_{\\text{skip}} \\text{ or } g P^\\top
        \\;+\\; \\underbrace{\\frac{\\partial L}{\\partial x}\\Big|_f}_{\\text{block's backward}}
        \\quad (N, d), \\qquad \\frac{\\partial L}{\\partial P} = x^\\top g.

    The skip path is why deep stacks train: the gradient reaches early layers through the
    identity, however small the block's own derivative is.

    Parameters
    ----------
    block : Layer
        :math:`f`, usually a :class:`Sequential`.
    projection : Layer, optional
        :math:`s`; a bias-free ``Dense(d, e)`` is built when ``in_features`` differs from
        the block's output width and none is given.
    in_features : int, optional
        :math:`d`, needed to build the projection (taken from the block when it knows it).
    """

    def __init__(
        self,
        block: Layer,
        projection: Layer | None = None,
        *,
        in_features: int | None = None,
        rng: Any = None,
        name: str | None = None,
    ) -> None:
        d = in_features
        if d is None and isinstance(block, Container):
            d = block.in_features
        elif d is None:
            d = getattr(block, "in_features", None)
        if projection is None and d is not None and block.output_dim(d) != d:
            projection = Dense(d, block.output_dim(d), use_bias=False, rng=rng, name="projection")
        block.name = block.name or "block"
        children = [block] if projection is None else [block, projection]
        super().__init__(children, name)
        self.block, self.projection = block, projection

    def forward(self, x: Array, training: bool = False) -> Array:
        self._forwarded = True
        fx = self.block.forward(x, training)  # f(x)
        skip = x if self.projection is None else self.projection.forward(x, training)
        return skip + fx  # y = s(x) + f(x)

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array | None:
        self._check_forwarded()
        through_block = self.block.backward(grad, need_input_grad)  # ∂L/∂x via f
        if self.projection is None:
            through_skip = grad  # ∂(x)/∂x = I
        else:
            through_skip = self.projection.backward(grad, need_input_grad)  # g·Pᵀ, ∂L/∂P = xᵀg
        if not need_input_grad:
            return None
        return through_skip + through_block

    def output_dim(self, input_dim: int) -> int:
        return self.block.output_dim(input_dim)

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "block": {"type": type(self.block).__name__, **self.block.config()},
            "projection": None
            if self.projection is None
            else {"type": type(self.projection).__name__, **self.projection.config()},
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Residual:
        block = layer_from_spec(config["block"])
        spec = config.get("projection")
        projection = None if spec is None else layer_from_spec(spec)
        residual = cls(block, projection, name=config.get("name"))
        return residual

    def onnx(self, graph: Any, x: str) -> str:
        fx = self.block.onnx(graph, x)
        skip = x if self.projection is None else self.projection.onnx(graph, x)
        return graph.op("Add", [skip, fx], f"{self.name}_sum")

    def __repr__(self) -> str:
        return f"Residual({self.block!r}, projection={self.projection!r})"
