"""An ensemble of table networks written as one wider network of the same layers.

A table model's default is an average of :math:`K` networks of the same shape, each trained
from its own initial weights on its own random 80 % of the rows and stopped by the other 20 %
(so every row trains most members and chooses the epoch of some). Averaging their outputs,

.. math:: \\bar f(x) = \\frac1K \\sum_{j=1}^K f_j(x) \\qquad (N, \\text{out}),

is *exactly* one network whose hidden layers are the members' side by side: for members
``Dense(d, h) → σ → Dense(h, h) → σ → Dense(h, o)``,

.. math::
    W_1 = [W_1^{(1)} \\cdots W_1^{(K)}] \\; (d, Kh), \\qquad
    W_2 = \\operatorname{diag}(W_2^{(1)}, \\ldots, W_2^{(K)}) \\; (Kh, Kh), \\qquad
    W_3 = \\frac1K \\begin{bmatrix} W_3^{(1)} \\\\ \\vdots \\\\ W_3^{(K)} \\end{bmatrix} \\; (Kh, o),

biases concatenated (the last one averaged), and elementwise activations unchanged. An
embedding front (:class:`~chainrule.network.embedding.ColumnEmbedding`) becomes one whose
column :math:`c` has the members' tables side by side, :math:`(V_c, K k_c)`, the first
``Dense`` reading each member's slice. The merged network is a plain
:class:`~chainrule.network.containers.Sequential`, so it saves, loads, explains and exports to
ONNX like any other; for a classifier it averages the *logits* (the probabilities are the
softmax of the mean logit, a geometric-mean ensemble).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chainrule.backend import to_numpy
from chainrule.network.containers import Sequential
from chainrule.network.embedding import ColumnEmbedding
from chainrule.network.layers import Dense, Layer


def _embedding_positions(front: ColumnEmbedding, members: int) -> list[np.ndarray]:
    """For each member, where its front's outputs sit in the merged front's output.

    A member's front gives ``[x_num, E⁽ᶜ¹⁾ (k₁), E⁽ᶜ²⁾ (k₂), …]``; the merged one gives
    ``[x_num, E⁽ᶜ¹⁾ (K k₁), …]`` with member ``j``'s block of column ``c`` at ``j k_c``.
    """
    n_num = len(front.numeric)
    positions = []
    for j in range(members):
        where = list(range(n_num))  # the numeric columns are shared by every member
        start = n_num
        for k in front.embedding_dims:
            where += range(start + j * k, start + (j + 1) * k)
            start += members * k
        positions.append(np.asarray(where))
    return positions


def _merged_front(fronts: list[ColumnEmbedding]) -> ColumnEmbedding:
    """One :class:`ColumnEmbedding` with every member's tables side by side, ``(V_c, K k_c)``."""
    first, members = fronts[0], len(fronts)
    dtype = str(np.asarray(to_numpy(next(iter(first.params.values())))).dtype)
    merged = ColumnEmbedding(
        first.in_features,
        first.columns,
        first.num_embeddings,
        [members * k for k in first.embedding_dims],
        rng=0,
        dtype=dtype,
        name=first.name,
    )
    for c in first.columns:
        tables = [np.asarray(to_numpy(f.params[f"E{c}"])) for f in fronts]
        merged.params[f"E{c}"] = np.concatenate(tables, axis=1).astype(tables[0].dtype)
    return merged


def merge_members(networks: Sequence[Sequential]) -> Sequential:
    """One network computing the mean of ``networks``' outputs ``(N, out)``; see the module.

    ``networks`` share one architecture: an optional :class:`ColumnEmbedding` first, then
    ``Dense`` layers separated by parameter-free layers (activations, dropout). One network is
    returned as it is.

    Raises
    ------
    ValueError
        The networks do not share one architecture of that kind.
    """
    networks = list(networks)
    if len(networks) == 1:
        return networks[0]
    members = len(networks)
    shapes = {tuple(type(layer).__name__ for layer in net.layers) for net in networks}
    if len(shapes) != 1:
        raise ValueError("Only networks of one architecture can be merged.")
    dense_at = [i for i, layer in enumerate(networks[0].layers) if isinstance(layer, Dense)]
    if not dense_at:
        raise ValueError("Only networks with Dense layers can be merged.")
    layers: list[Layer] = []
    # inputs[j]: where member j's input to the current layer sits in the merged one's (None:
    # the whole input, shared by every member)
    inputs: list[np.ndarray | None] = [None] * members
    width: int | None = None
    for i, layer in enumerate(networks[0].layers):
        if isinstance(layer, ColumnEmbedding):
            if i != 0:
                raise ValueError("A ColumnEmbedding can only be merged as the first layer.")
            fronts = [net.layers[0] for net in networks]
            merged = _merged_front(fronts)  # type: ignore[arg-type]
            inputs = _embedding_positions(layer, members)
            width = merged.output_dim(layer.in_features)
            layers.append(merged)
        elif isinstance(layer, Dense):
            last = i == dense_at[-1]
            n_in = width if width is not None else layer.in_features
            n_out = layer.out_features if last else members * layer.out_features
            W = np.zeros((n_in, n_out), dtype=np.asarray(to_numpy(layer.params["W"])).dtype)
            b = np.zeros(n_out, dtype=W.dtype) if layer.use_bias else None
            for j, net in enumerate(networks):
                part = net.layers[i]
                rows = inputs[j] if inputs[j] is not None else np.arange(n_in)
                cols = (
                    np.arange(n_out)
                    if last
                    else np.arange(j * layer.out_features, (j + 1) * layer.out_features)
                )
                share = 1.0 / members if last else 1.0  # the output is the members' mean
                W[np.ix_(rows, cols)] += share * np.asarray(to_numpy(part.params["W"]))
                if b is not None:
                    b[cols] += share * np.asarray(to_numpy(part.params["b"]))
            merged_dense = Dense(
                n_in, n_out, rng=0, use_bias=b is not None, dtype=str(W.dtype), name=layer.name
            )
            merged_dense.params["W"] = W
            if b is not None:
                merged_dense.params["b"] = b
            layers.append(merged_dense)
            inputs = [
                np.arange(j * layer.out_features, (j + 1) * layer.out_features)
                for j in range(members)
            ]
            width = n_out
        elif layer.has_params:
            raise ValueError(f"A {type(layer).__name__} layer with parameters cannot be merged.")
        else:
            layers.append(layer)  # elementwise (activation) or identity at inference (dropout)
    return Sequential(layers)
