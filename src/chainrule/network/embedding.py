"""Embeddings: a learned vector per category, instead of a one-hot column per category.

A categorical column with :math:`V` levels one-hot encoded feeds :math:`V` inputs to the next
``Dense`` layer, of which exactly one is 1; the product with the weights then just *picks a row*
of them. An embedding does that pick directly, from a table :math:`E` of shape ``(V, k)``
with :math:`k \\ll V`: forward is a gather, backward a scatter-add.

Category codes arrive as the numbers ``0 … V−1`` in a float matrix (the rest of chainrule's
inputs are float), are cast to integers, and get no gradient: they are indices, not values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from chainrule.backend import Array, is_floating, namespace, to_numpy
from chainrule.network import initializers
from chainrule.network.initializers import RandomSource
from chainrule.network.layers import Layer


def _codes(x: Array, num_embeddings: int) -> Array:
    """Integer codes from ``x`` (rounded), checked to lie in ``0 … V−1`` (negative ones would wrap round)."""
    xp = namespace(x)
    # Rounded, not truncated: a code that went through float32 or a finite-difference nudge
    # (2.9999999) is still code 3.
    idx = xp.astype(xp.round(x) if is_floating(x) else x, xp.int64)
    if idx.shape[0] and (int(xp.min(idx)) < 0 or int(xp.max(idx)) >= num_embeddings):
        raise ValueError(
            f"Category codes must be integers in 0..{num_embeddings - 1}; got values from "
            f"{int(xp.min(idx))} to {int(xp.max(idx))}."
        )
    return idx


def gather_rows(table: Array, idx: Array) -> Array:
    """:math:`y_n = E_{i_n}`: rows of ``table`` ``(V, k)`` for the codes ``idx`` ``(M,)``, ``(M, k)``."""
    return namespace(table).take(table, idx, axis=0)


def scatter_add_rows(grad: Array, idx: Array, num_rows: int) -> Array:
    """:math:`\\partial L/\\partial E_v = \\sum_{n: i_n = v} g_n`: sum the rows of ``grad`` ``(M, k)`` by code.

    NumPy sums with one ``np.bincount`` per embedding column (2–3× faster than ``np.add.at``
    for 10⁵ lookups; it accumulates in float64); other namespaces have no scatter in the array
    API, so there it is the product :math:`O^\\top g` with the one-hot matrix :math:`O`
    ``(M, V)`` — the same sum, with memory :math:`O(MV)`.
    """
    xp = namespace(grad)
    if xp is np:
        columns = [np.bincount(idx, grad[:, j], num_rows) for j in range(grad.shape[1])]
        return np.stack(columns, axis=1).astype(grad.dtype, copy=False)
    one_hot = xp.astype(idx[:, None] == xp.arange(num_rows, dtype=idx.dtype)[None, :], grad.dtype)
    return one_hot.T @ grad


class Embedding(Layer):
    """A lookup table of learned vectors, as ``torch.nn.Embedding``.

    Forward, for codes :math:`i` ``(N, L)`` (``L`` code columns; ``(N,)`` is ``L = 1``) and the
    table :math:`E` ``(V, k)``, each row's ``L`` vectors side by side (PyTorch's ``(N, L, k)``
    output reshaped to ``(N, L·k)``, so the layer keeps the ``(N, width)`` contract):

    .. math:: y_{n} = [E_{i_{n1}}, E_{i_{n2}}, \\ldots, E_{i_{nL}}] \\quad (N, L k)

    Backward, given :math:`g` ``(N, L k)``: each row of :math:`E` collects the gradient of every
    position that looked it up (a scatter-add), and the codes get none:

    .. math:: \\frac{\\partial L}{\\partial E_v} = \\sum_{n,l:\\; i_{nl} = v} g_{n,l} \\quad (V, k)

    ``backward`` returns ``None``, so an ``Embedding`` is the first layer of a network (to mix
    codes with numeric columns, use :class:`ColumnEmbedding`, which passes their gradient on).

    Parameters
    ----------
    num_embeddings : int
        :math:`V`, the number of categories (codes ``0 … V−1``).
    embedding_dim : int
        :math:`k`.
    padding_idx : int or None
        A code whose vector starts at zero and is never trained (PyTorch's ``padding_idx``).
    rng : Generator, int or None
        Source of the initial table, :math:`E_{vj} \\sim \\mathcal N(0, 1)` as in PyTorch.
    dtype : str
        ``"float64"`` or ``"float32"``.
    """

    has_params = True
    formula: ClassVar[str] = "y = E[i]  (row i of the table E)"
    derivative: ClassVar[str] = "∂L/∂E[v] = Σ_{n: iₙ = v} gₙ;  no gradient for the codes i"

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        *,
        padding_idx: int | None = None,
        rng: RandomSource | int | None = None,
        dtype: str = "float64",
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        if int(num_embeddings) < 1 or int(embedding_dim) < 1:
            raise ValueError("Embedding needs num_embeddings >= 1 and embedding_dim >= 1.")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None and not 0 <= padding_idx < self.num_embeddings:
            raise ValueError(f"padding_idx must be in 0..{self.num_embeddings - 1}.")
        self.padding_idx = padding_idx
        table = initializers.as_generator(rng).standard_normal((self.num_embeddings, embedding_dim))
        if padding_idx is not None:
            table[padding_idx] = 0.0
        self.params["W"] = table.astype(dtype)
        self._idx: Array | None = None

    def forward(self, x: Array, training: bool = False) -> Array:
        self._forwarded = True
        idx = _codes(x, self.num_embeddings)
        n = idx.shape[0]
        self._idx = namespace(idx).reshape(idx, (-1,))  # the codes, flattened   (N·L,)
        rows = gather_rows(self.params["W"], self._idx)  # E[i]                 (N·L, k)
        return namespace(rows).reshape(rows, (n, -1))  # (N, L·k)

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array | None:
        self._check_forwarded()
        if "W" not in self.frozen:
            xp = namespace(grad)
            g = xp.reshape(grad, (-1, self.embedding_dim))  # one row per lookup  (N·L, k)
            dW = scatter_add_rows(g, self._idx, self.num_embeddings)
            if self.padding_idx is not None:
                dW[self.padding_idx, ...] = 0  # the padding vector stays as it is
            self.grads["W"] = dW
        return None  # the codes are indices: no gradient flows to them

    def output_dim(self, input_dim: int) -> int:
        return input_dim * self.embedding_dim

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "num_embeddings": self.num_embeddings,
            "embedding_dim": self.embedding_dim,
            "padding_idx": self.padding_idx,
        }

    def onnx(self, graph: Any, x: str) -> str:
        """``Round``, ``Cast`` to int64, ``Gather`` rows of the table, ``Reshape`` to ``(N, L·k)``."""
        from onnx import TensorProto

        lname = self.name or "embedding"
        table = np.asarray(to_numpy(self.params["W"]), dtype=np.float32)
        rounded = graph.op("Round", [x], f"{lname}_rounded")
        idx = graph.op("Cast", [rounded], f"{lname}_codes", to=TensorProto.INT64)
        rows = graph.op("Gather", [graph.const(f"{lname}.W", table), idx], f"{lname}_rows", axis=0)
        shape = graph.const(f"{lname}.shape", np.array([0, -1], dtype=np.int64))
        return graph.op("Reshape", [rows, shape], lname)


def default_embedding_dim(num_categories: int) -> int:
    """:math:`\\min(50, \\lceil V/2 \\rceil)`, the rule of thumb of fast.ai's early tabular models."""
    return int(min(50, (int(num_categories) + 1) // 2))


class ColumnEmbedding(Layer):
    """Embed the category-code columns of a table matrix and pass its numeric columns through.

    Forward, for :math:`x` ``(N, d)`` whose columns :math:`c_1, \\ldots, c_m` hold category codes
    and whose other columns :math:`x_{\\text{num}}` are numbers, with one table
    :math:`E^{(c)}` ``(V_c, k_c)`` per code column:

    .. math:: y_n = [x_{n,\\text{num}},\\; E^{(c_1)}_{x_{n c_1}},\\; \\ldots,\\; E^{(c_m)}_{x_{n c_m}}]
              \\quad (N, d - m + \\textstyle\\sum_c k_c)

    the numeric columns first (in their order), then the embeddings in the order of ``columns``.

    Backward, given :math:`g` of the same shape: the numeric part of :math:`g` goes to the
    numeric columns unchanged, each table gets the scatter-add of its slice of :math:`g` (see
    :class:`Embedding`), and the code columns get zero (they are indices):

    .. math::
        \\frac{\\partial L}{\\partial x_{\\text{num}}} = g_{\\text{num}}, \\qquad
        \\frac{\\partial L}{\\partial E^{(c)}_v} = \\sum_{n:\\, x_{nc} = v} g_{n, (c)}

    Parameters
    ----------
    in_features : int
        :math:`d`, the width of the input.
    columns : sequence of int
        Indices of the code columns.
    num_embeddings : sequence of int
        :math:`V_c` for each code column.
    embedding_dims : int, sequence of int or None
        :math:`k_c` (one for all, or one per column); ``None`` uses
        :func:`default_embedding_dim`.
    rng : Generator, int or None
        Source of the initial tables (standard normal, as :class:`Embedding`).
    dtype : str
        ``"float64"`` or ``"float32"``.

    Attributes
    ----------
    params : dict
        ``"E<c>"`` — the table of column ``c`` (``"E3"`` for column 3).
    """

    has_params = True
    formula: ClassVar[str] = "y = [x_num, E⁽ᶜ¹⁾[x_c1], …, E⁽ᶜᵐ⁾[x_cm]]"
    derivative: ClassVar[str] = (
        "∂L/∂x_num = g_num;  ∂L/∂E⁽ᶜ⁾[v] = Σ_{n: x_nc = v} g_n,(c);  zero for the code columns"
    )

    def __init__(
        self,
        in_features: int,
        columns: Sequence[int],
        num_embeddings: Sequence[int],
        embedding_dims: int | Sequence[int] | None = None,
        *,
        rng: RandomSource | int | None = None,
        dtype: str = "float64",
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        self.in_features = int(in_features)
        self.columns = [int(c) for c in columns]
        self.num_embeddings = [int(v) for v in num_embeddings]
        if embedding_dims is None:
            dims = [default_embedding_dim(v) for v in self.num_embeddings]
        elif isinstance(embedding_dims, int):
            dims = [embedding_dims] * len(self.columns)
        else:
            dims = [int(k) for k in embedding_dims]
        self.embedding_dims = dims
        if not len(self.columns) == len(self.num_embeddings) == len(dims):
            raise ValueError("columns, num_embeddings and embedding_dims must have equal lengths.")
        if len(set(self.columns)) != len(self.columns) or not all(
            0 <= c < self.in_features for c in self.columns
        ):
            raise ValueError(f"columns must be distinct indices in 0..{self.in_features - 1}.")
        if min(self.num_embeddings + dims, default=1) < 1:
            raise ValueError("Every column needs num_embeddings >= 1 and embedding_dim >= 1.")
        code = set(self.columns)
        self.numeric = [j for j in range(self.in_features) if j not in code]
        order = self.numeric + self.columns  # input column of each [x_num, x_codes] position
        self._inverse = [order.index(j) for j in range(self.in_features)]
        gen = initializers.as_generator(rng)
        for c, v, k in zip(self.columns, self.num_embeddings, dims, strict=True):
            self.params[f"E{c}"] = gen.standard_normal((v, k)).astype(dtype)
        self._x_shape: tuple[int, ...] = ()
        self._codes: list[Array] = []

    def forward(self, x: Array, training: bool = False) -> Array:
        xp = namespace(x)
        self._forwarded = True
        self._x_shape = tuple(x.shape)
        parts = (
            [xp.take(x, xp.asarray(self.numeric, dtype=xp.int64), axis=1)] if self.numeric else []
        )
        self._codes = []
        for c, v in zip(self.columns, self.num_embeddings, strict=True):
            idx = _codes(x[:, c], v)  # the codes of column c    (N,)
            self._codes.append(idx)
            parts.append(gather_rows(self.params[f"E{c}"], idx))  # E⁽ᶜ⁾[x_c]   (N, k_c)
        return xp.concat(parts, axis=1)

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array | None:
        self._check_forwarded()
        xp = namespace(grad)
        start = len(self.numeric)
        for c, v, k, idx in zip(
            self.columns, self.num_embeddings, self.embedding_dims, self._codes, strict=True
        ):
            if f"E{c}" not in self.frozen:
                self.grads[f"E{c}"] = scatter_add_rows(grad[:, start : start + k], idx, v)
            start += k
        if not need_input_grad:
            return None
        # ∂L/∂x_num = g_num and zero for the code columns, put back in the input's column order
        # by a gather (the array API has no assignment through an index list).
        n_num = len(self.numeric)
        zeros = xp.zeros((grad.shape[0], len(self.columns)), dtype=grad.dtype)
        stacked = xp.concat([grad[:, :n_num], zeros], axis=1)  # [x_num, x_codes] order
        return xp.take(stacked, xp.asarray(self._inverse, dtype=xp.int64), axis=1)

    def output_dim(self, input_dim: int) -> int:
        return input_dim - len(self.columns) + sum(self.embedding_dims)

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "in_features": self.in_features,
            "columns": self.columns,
            "num_embeddings": self.num_embeddings,
            "embedding_dims": self.embedding_dims,
        }

    def onnx(self, graph: Any, x: str) -> str:
        """``Gather`` the numeric columns; per code column ``Gather``, ``Round``, ``Cast``, ``Gather`` rows; ``Concat``."""
        from onnx import TensorProto

        lname = self.name or "columnembedding"
        parts = []
        if self.numeric:
            num = graph.const(f"{lname}.numeric", np.array(self.numeric, dtype=np.int64))
            parts.append(graph.op("Gather", [x, num], f"{lname}_numeric", axis=1))
        for c in self.columns:
            col = graph.const(f"{lname}.col{c}", np.array(c, dtype=np.int64))
            codes = graph.op("Gather", [x, col], f"{lname}_x{c}", axis=1)  # (N,)
            rounded = graph.op("Round", [codes], f"{lname}_rounded{c}")
            idx = graph.op("Cast", [rounded], f"{lname}_codes{c}", to=TensorProto.INT64)
            table = graph.const(
                f"{lname}.E{c}", np.asarray(to_numpy(self.params[f"E{c}"]), np.float32)
            )
            parts.append(graph.op("Gather", [table, idx], f"{lname}_E{c}", axis=0))
        return graph.op("Concat", parts, lname, axis=1)
