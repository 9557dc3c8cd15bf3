"""The input features of the playground: functions of the two plane coordinates ``x₁, x₂``.

As in TensorFlow Playground, the network does not have to see the raw coordinates: any of
``x₁, x₂, x₁², x₂², x₁x₂, sin x₁, sin x₂`` can be switched on. Columns of an uploaded table
beyond the two plotted ones enter as extra inputs, unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

FEATURES: dict[str, tuple[str, str, Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {
    "x1": ("x₁", "x1", lambda a, b: a),
    "x2": ("x₂", "x2", lambda a, b: b),
    "x1sq": ("x₁²", "x1**2", lambda a, b: a * a),
    "x2sq": ("x₂²", "x2**2", lambda a, b: b * b),
    "x1x2": ("x₁x₂", "x1 * x2", lambda a, b: a * b),
    "sinx1": ("sin x₁", "np.sin(x1)", lambda a, b: np.sin(a)),
    "sinx2": ("sin x₂", "np.sin(x2)", lambda a, b: np.sin(b)),
}
"""Feature key → (label on the page, NumPy expression in the exported snippet, function)."""


def feature_matrix(
    x1: np.ndarray, x2: np.ndarray, names: Sequence[str], extra: np.ndarray | None = None
) -> np.ndarray:
    """The network's input: the chosen features of ``(x₁, x₂)``, then any extra columns.

    Parameters
    ----------
    x1, x2 : ndarray, shape (n,)
        The plane coordinates.
    names : sequence of str
        Keys of :data:`FEATURES`, in the order the network sees them.
    extra : ndarray, shape (n, m), optional
        Further input columns (an uploaded table's other features).

    Returns
    -------
    ndarray, shape (n, len(names) + m)
    """
    columns = [FEATURES[name][2](x1, x2) for name in names]
    matrix = np.column_stack(columns) if columns else np.empty((x1.shape[0], 0))
    if extra is not None and extra.shape[1]:
        matrix = np.concatenate([matrix, extra], axis=1)
    return np.ascontiguousarray(matrix, dtype=np.float64)
