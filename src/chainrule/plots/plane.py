"""The plane a decision boundary is drawn on, and the model's probabilities over it.

A classifier over two inputs is drawn over those two. A model that takes a table may read
more columns, some of them text; its boundary is then drawn over two chosen **numeric** input
columns, with every other input column held at one value taken from the data: its mean
(numbers) or its most frequent value (text, categories, booleans). Each grid point becomes one
raw table row — the two chosen columns from the grid, the others at their held values — and
the model's own ``predict_proba`` (from :func:`chainrule.trained_model`) gives its
probabilities, so the picture is exactly what the model predicts for those rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.network.losses import Loss
from chainrule.plots.common import model_parts
from chainrule.training.protocol import TrainedModel, trained_model


@dataclass
class DecisionGrid:
    """A regular grid over two inputs and the model's class probabilities on it.

    Attributes
    ----------
    xx, yy : ndarray, shape (R, R)
        The grid's coordinates (``numpy.meshgrid`` of the two axes, ``R`` the resolution).
    probs : ndarray, shape (R * R, K)
        The model's probabilities (or linked outputs) at each grid point, row-major as
        ``xx.ravel()``.
    points : ndarray, shape (N, 2)
        The data points in the plane (rows with a missing coordinate left out).
    keep : ndarray of bool, shape (N_data,)
        Which data rows ``points`` holds.
    names : (str, str)
        The two axes' names (the chosen columns for a table model).
    classes : list or None
        The class labels in output order, if the model knows them.
    held : dict of str to value
        For a table model, every other input column and the value it is held at.
    """

    xx: np.ndarray
    yy: np.ndarray
    probs: np.ndarray
    points: np.ndarray
    keep: np.ndarray
    names: tuple[str, str]
    classes: list[Any] | None
    held: dict[str, Any] = field(default_factory=dict)


def _is_number_column(series: Any) -> bool:
    """Numbers a grid can vary (booleans and categories are held, never varied)."""
    from pandas.api import types

    return bool(types.is_numeric_dtype(series) and not types.is_bool_dtype(series))


def held_values(frame: Any, columns: list[str]) -> dict[str, Any]:
    """Each column's mean (numbers) or most frequent value (anything else), missing ignored.

    Ties between equally frequent values go to the first in sorted order (``Series.mode``).
    """
    held: dict[str, Any] = {}
    for c in columns:
        series = frame[c]
        if _is_number_column(series):
            held[c] = float(series.mean())
        else:
            modes = series.mode(dropna=True)
            if modes.empty:
                raise ValueError(f"Column {c!r} has no values to hold it at; it is all missing.")
            held[c] = modes.iloc[0]
    return held


def plane_columns(
    inputs: list[str], frame: Any, columns: tuple[str, str] | None
) -> tuple[str, str]:
    """The two numeric input columns to draw over: ``columns``, or the first two numeric ones."""
    numeric = [c for c in inputs if _is_number_column(frame[c])]
    if columns is None:
        if len(numeric) < 2:
            raise ValueError(
                "A decision boundary is drawn over two numeric input columns; this model's "
                f"numeric inputs are {', '.join(numeric) or 'none'} (of {', '.join(inputs)})."
            )
        return numeric[0], numeric[1]
    chosen = tuple(columns)
    if len(chosen) != 2 or chosen[0] == chosen[1]:
        raise ValueError(f"Choose two different input columns to draw over, got {columns!r}.")
    for c in chosen:
        if c not in inputs:
            raise ValueError(
                f"Column {c!r} is not one of the model's input columns ({', '.join(inputs)})."
            )
        if c not in numeric:
            raise ValueError(
                f"Column {c!r} is not numeric, so a boundary cannot be drawn along it; "
                f"numeric input columns: {', '.join(numeric) or 'none'}."
            )
    return chosen[0], chosen[1]


def _table_plane(
    trained: TrainedModel, X: Any, columns: tuple[str, str] | None
) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray], tuple[str, str], dict[str, Any]]:
    """``(points (N, 2), grid → probabilities, axis names, held values)`` of a table model."""
    import pandas as pd

    codec, proba = trained.preprocessing, trained.predict_proba
    assert codec is not None
    if proba is None:
        raise ValueError(
            "A decision boundary needs a classifier; this model does regression. "
            "Try plot_loss, plot_gradient_norms or plot_weight_histograms."
        )
    inputs = list(codec.input_columns)
    if not isinstance(X, pd.DataFrame):
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != len(inputs):
            raise ValueError(
                f"This model reads the table columns {', '.join(inputs)}; give X as a "
                "DataFrame with those columns."
            )
        X = pd.DataFrame(X, columns=inputs)
    missing = [c for c in inputs if c not in X.columns]
    if missing:
        raise ValueError(f"X lacks the model's input columns {', '.join(missing)}.")
    cx, cy = plane_columns(inputs, X, columns)
    held = held_values(X, [c for c in inputs if c not in (cx, cy)])
    points = X[[cx, cy]].to_numpy(dtype=np.float64)

    def predict(grid: np.ndarray) -> np.ndarray:
        m = grid.shape[0]
        rows = {
            c: grid[:, 0]
            if c == cx
            else grid[:, 1]
            if c == cy
            else pd.Series([held[c]] * m, dtype=X[c].dtype)
            for c in inputs
        }
        return np.asarray(proba(pd.DataFrame(rows)))

    return points, predict, (cx, cy), held


def _matrix_plane(
    trained: TrainedModel, model: Any, X: Any, loss: Loss | None
) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """``(points (N, 2), grid → probabilities)`` of an estimator or a bare network."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(
            f"A decision boundary needs points with exactly 2 features, got shape {X.shape}."
        )
    if trained.predict_proba is not None:  # an estimator: its own probabilities
        proba = trained.predict_proba
        return X, lambda grid: np.asarray(proba(grid))
    parts = model_parts(model)
    network = parts.network
    link_loss = loss or parts.loss
    link = link_loss.link if link_loss is not None else (lambda out: out)
    if network.in_features not in (None, 2):
        raise ValueError(
            f"A decision boundary is drawn over two inputs; this network takes "
            f"{network.in_features}."
        )
    return X, lambda grid: np.asarray(link(network.predict(grid.astype(network.dtype))))


def decision_grid(
    model: Any,
    X: Any,
    *,
    loss: Loss | None = None,
    columns: tuple[str, str] | None = None,
    resolution: int = 200,
) -> DecisionGrid:
    """The model's probabilities on a ``resolution × resolution`` grid over two inputs.

    The grid spans the data's range on each axis plus 8 % either side.

    Parameters
    ----------
    model : Sequential, model bundle or estimator
        For a bare network, pass its ``loss`` so logits become probabilities.
    X : array (N, 2) or DataFrame
        The points. For a model that takes a table, the raw table (at least its input
        columns); an ``(N, 2)`` array is accepted when the model reads exactly two columns.
    loss : Loss, optional
        For a bare network: the loss whose ``link`` maps outputs to probabilities.
    columns : (str, str), optional
        For a table model: the two numeric input columns to draw over (default: the first
        two); the others are held at their mean or most frequent value in ``X``.
    resolution : int
        Grid points per axis.
    """
    trained = trained_model(model)
    classes = list(trained.classes) if trained.classes is not None else None
    held: dict[str, Any] = {}
    if trained.preprocessing is not None:
        points, predict, names, held = _table_plane(trained, X, columns)
    else:
        if columns is not None:
            raise ValueError("columns= chooses table columns; this model takes a plain matrix.")
        points, predict = _matrix_plane(trained, model, X, loss)
        names = ("x₁", "x₂")
    keep = np.all(np.isfinite(points), axis=1)
    if trained.preprocessing is None and not keep.all():
        raise ValueError("The points have missing or infinite values; remove those rows.")
    if not keep.any():
        raise ValueError(f"No row has values in both {names[0]} and {names[1]}.")
    points = points[keep]
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = 0.08 * np.where(hi > lo, hi - lo, 1.0)
    g0 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    g1 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    xx, yy = np.meshgrid(g0, g1)
    probs = predict(np.column_stack([xx.ravel(), yy.ravel()])).reshape(xx.size, -1)
    return DecisionGrid(xx, yy, probs, points, keep, names, classes, held)
