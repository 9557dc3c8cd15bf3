"""Matrices as text, abbreviated when large: the first and last rows and columns, with ellipses.

A 32-wide layer's weight matrix printed in full is a wall of numbers that hides the step it
explains. :func:`format_matrix` keeps the corners: with ``limit = 8``, a ``(32, 32)`` matrix
shows rows ``0 … 3`` and ``28 … 31`` and the same columns, a ``⋮`` row and a ``…`` column
marking what was left out, so the shape (printed beside it) and the pattern both stay visible.
"""

from __future__ import annotations

import numpy as np


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
