"""The first layer of a table model whose preprocessing embeds some text columns."""

from __future__ import annotations

import numpy as np

from chainrule.network.containers import Sequential
from chainrule.network.embedding import ColumnEmbedding
from chainrule.tabular.preprocessing import TablePreprocessor


def with_embeddings(
    pre: TablePreprocessor, n_in: int, rng: np.random.Generator
) -> tuple[ColumnEmbedding | None, int]:
    """A :class:`~chainrule.network.embedding.ColumnEmbedding` over ``pre``'s code columns.

    Returns the layer (``None`` when nothing is embedded, so the network and its random draws
    are exactly those of a one-hot model) and the width the next ``Dense`` takes: the numeric
    and indicator columns plus :math:`k_c` = ``default_embedding_dim(m_c + 1)`` per embedded
    column (:math:`\\min(50, \\lceil (m_c+1)/2 \\rceil)`).
    """
    positions, sizes = pre.embedded()
    if not positions:
        return None, n_in
    front = ColumnEmbedding(n_in, positions, sizes, rng=rng)
    return front, front.output_dim(n_in)


def prepend(front: ColumnEmbedding | None, net: Sequential) -> Sequential:
    """``Sequential([front, *net])``, or ``net`` itself without a front layer."""
    return net if front is None else Sequential([front, *net.layers])
