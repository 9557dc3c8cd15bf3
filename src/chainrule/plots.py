"""Pictures of training: loss curves, decision boundaries, gradient flow and weight histograms.

Every function returns a :class:`matplotlib.figure.Figure` built without ``pyplot`` (no global
figure state, no GUI backend: PNGs are rendered by Agg), and :func:`save` writes one to a PNG
atomically. matplotlib is an optional dependency (``pip install 'chainrule[plot]'``) and is
imported only when a plot is drawn.

The functions accept what training produces: a :class:`~chainrule.training.History`, or
anything :func:`chainrule.trained_model` accepts (a network, a Trainer, a
:class:`~chainrule.tabular.TabularModel`, a fitted estimator), whose parts they read only
through that protocol.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.extras import require
from chainrule.io import atomic_write_bytes
from chainrule.network.containers import Sequential
from chainrule.network.layers import Dense
from chainrule.network.losses import Loss
from chainrule.training.history import History
from chainrule.training.protocol import TrainedModel, trained_model

if TYPE_CHECKING:
    from matplotlib.figure import Figure


__all__ = [
    "DEFAULT_SIZE",
    "KINDS",
    "DecisionGrid",
    "ModelParts",
    "decision_grid",
    "model_parts",
    "plot_decision_boundary",
    "plot_gradient_norms",
    "plot_loss",
    "plot_weight_histograms",
    "png_bytes",
    "save",
]


DEFAULT_SIZE = (6.4, 4.0)
"""Figure size in inches; at the default 100 dpi a PNG is 640 × 400 pixels."""

KINDS = ("loss", "boundary", "gradients", "weights")
"""The kinds of plot ``chainrule plot --kind`` draws."""


# -- what a model is made of -------------------------------------------------------------------
@dataclass
class ModelParts:
    """The pieces of a model the plots and the report need.

    Attributes
    ----------
    network : Sequential
        The network.
    history : History or None
        Its training history, if it kept one.
    loss : Loss or None
        Its training loss, if known (its ``link`` turns outputs into probabilities).
    source : object
        What was given (a network, a model bundle or an estimator).
    """

    network: Sequential
    history: History | None
    loss: Loss | None
    source: Any


def model_parts(model: Any) -> ModelParts:
    """The network, history and loss of a network, a model bundle or an estimator.

    Raises
    ------
    TypeError
        When ``model`` has no network (see :func:`chainrule.trained_model`).
    """
    trained = trained_model(model)
    return ModelParts(trained.network, trained.history, trained.loss, model)


def history_of(obj: Any) -> History:
    if isinstance(obj, History):
        return obj
    history = model_parts(obj).history
    if history is None or len(history) == 0:
        raise ValueError(
            "This model has no training history to plot; train it with chainrule "
            "(Trainer.fit, an estimator or 'chainrule train') first."
        )
    return history


# -- figures and files ---------------------------------------------------------------------------
def figure(figsize: tuple[float, float]) -> Figure:
    require("matplotlib", purpose="Plots")
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes, exactly ``figsize × dpi`` pixels."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def save(fig: Figure, path: str | os.PathLike[str], dpi: int = 100) -> Path:
    """Write the figure to a PNG file atomically (a failed write leaves no partial file).

    Parameters
    ----------
    fig : Figure
        From one of the ``plot_*`` functions.
    path : str or path
        Where to write; should end in ``.png``.
    dpi : int
        Pixels per inch: the image is ``figsize × dpi`` pixels (640 × 400 by default).
    """

    if Path(path).suffix.lower() != ".png":
        raise ValueError(
            f"Plots are written as PNG; give a file name ending in .png, not '{path}'."
        )
    return atomic_write_bytes(path, png_bytes(fig, dpi))


def get_colormap(name: str) -> Any:
    """A matplotlib colormap by name (matplotlib imported on first use)."""
    from matplotlib import colormaps

    return colormaps[name]


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


def plot_decision_boundary(
    model: Any,
    X: Any,
    y: Any,
    *,
    loss: Loss | None = None,
    columns: tuple[str, str] | None = None,
    feature_names: tuple[str, str] | None = None,
    resolution: int = 200,
    title: str | None = None,
    figsize: tuple[float, float] = DEFAULT_SIZE,
) -> Figure:
    """The classifier's regions over a 2-D input plane, with the data points on top.

    Binary classifiers are shaded by :math:`P(\\text{class } 1)` with the 0.5 contour drawn;
    multi-class ones by their arg-max class.

    Parameters
    ----------
    model : Sequential, model bundle or estimator
        For a bare network, pass its ``loss`` so logits become probabilities.
    X : array (N, 2) or DataFrame
        The points, in the space the model takes. For a model that takes a table, the raw
        table (text columns too); an ``(N, 2)`` array when it reads exactly two columns.
    y : array, shape (N,)
        Their labels (any values; class labels of a bundle are matched to its classes).
    loss : Loss, optional
        For a bare network: the loss whose ``link`` maps outputs to probabilities.
    columns : (str, str), optional
        For a table model: the two numeric input columns to draw over (default: the first
        two). Every other input column is held at its mean (numbers) or most frequent value
        (text) in ``X``, and the title says at which (:mod:`chainrule.plots`).
    feature_names : (str, str), optional
        Axis labels (default: the column names).
    resolution : int
        Grid points per axis.
    """
    y = np.asarray(y).reshape(-1)
    if y.shape[0] != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {y.shape[0]}; they must match.")
    grid = decision_grid(model, X, loss=loss, columns=columns, resolution=resolution)
    xx, yy, probs, classes = grid.xx, grid.yy, grid.probs, grid.classes
    names = feature_names or grid.names
    points, y = grid.points, y[grid.keep]
    g0, g1 = xx[0], yy[:, 0]

    if classes is not None:
        lookup = {str(c): i for i, c in enumerate(classes)}
        codes = np.array([lookup.get(str(v), -1) for v in y])
        labels = [str(c) for c in classes]
    else:
        uniques, codes = np.unique(y, return_inverse=True)
        labels = [str(u) for u in uniques]

    fig = figure(figsize)
    ax = fig.subplots()
    if probs.shape[1] <= 2:  # binary: shade P(class 1)
        p1 = probs[:, -1].reshape(xx.shape)
        low, high = float(np.nanmin(p1)), float(np.nanmax(p1))
        in_unit = 0.0 <= low and high <= 1.0
        levels = np.linspace(0, 1, 11) if in_unit else 20
        shade = ax.contourf(xx, yy, p1, levels=levels, cmap="RdBu_r", alpha=0.55)
        if in_unit and low < 0.5 < high:
            ax.contour(xx, yy, p1, levels=[0.5], colors="k", linewidths=1.2)
        fig.colorbar(shade, ax=ax, label="P(class 1)" if in_unit else "output")
        cmap, vmax = "RdBu_r", max(1, len(labels) - 1)
    else:  # several classes: colour by arg-max
        k = probs.shape[1]
        winner = np.argmax(probs, axis=1).reshape(xx.shape)
        ax.contourf(
            xx, yy, winner, levels=np.arange(k + 1) - 0.5, cmap="tab10", vmin=0, vmax=9, alpha=0.35
        )
        cmap, vmax = "tab10", 9
    ax.scatter(
        points[:, 0],
        points[:, 1],
        c=codes,
        cmap=cmap,
        vmin=0,
        vmax=vmax,
        s=14,
        edgecolors="k",
        linewidths=0.4,
    )
    if len(labels) <= 10:
        from matplotlib.lines import Line2D

        colormap = get_colormap(cmap)
        handles = [
            Line2D(
                [],
                [],
                marker="o",
                ls="",
                markeredgecolor="k",
                markeredgewidth=0.4,
                markerfacecolor=colormap(i / vmax),
                label=label,
            )
            for i, label in enumerate(labels)
        ]
        ax.legend(handles=handles, fontsize="small", title="class", loc="best")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_xlim(g0[0], g0[-1])
    ax.set_ylim(g1[0], g1[-1])
    ax.set_title(title or "decision boundary" + _held_note(grid.held), fontsize="medium")
    return fig


def _held_note(held: dict[str, Any]) -> str:
    """A second title line naming the values the other columns are held at (shortened)."""
    if not held:
        return ""
    parts = [f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}" for k, v in held.items()]
    text = ", ".join(parts)
    if len(text) > 70:
        text = text[:69].rstrip(", ") + "…"
    return f"\nother inputs held at {text}"


def _metric_keys(history: History) -> list[str]:
    skip = {"loss", "val_loss", "lr"}
    return [
        k
        for k in history.history
        if k not in skip and not k.startswith("val_") and not k.startswith("grad_norm/")
    ]


def plot_loss(
    history: History | Any, *, title: str | None = None, figsize: tuple[float, float] = DEFAULT_SIZE
) -> Figure:
    """Training and validation loss per epoch, with the best epoch marked.

    A second panel shows the recorded metrics (accuracy, rmse…) when there are any. The loss
    axis is logarithmic when the loss spans more than two decades.

    Parameters
    ----------
    history : History or model
        A history, or anything :func:`model_parts` accepts.
    title : str, optional
        The figure's title.
    """
    history = history_of(history)
    h = history.history
    metrics = _metric_keys(history)
    fig = figure(figsize)
    axes = fig.subplots(1, 2 if metrics else 1, squeeze=False)[0]
    ax = axes[0]
    epochs = np.asarray(history.epoch) + 1  # epochs counted from 1 for people
    for key, style in (("loss", "-"), ("val_loss", "--")):
        if key in h:
            ax.plot(epochs, h[key], style, label=key.replace("_", " "))
    positive = [v for k in ("loss", "val_loss") for v in h.get(k, []) if v > 0 and math.isfinite(v)]
    if positive and max(positive) / min(positive) > 100:
        ax.set_yscale("log")
    if history.best_epoch is not None and "loss" in h:
        ax.axvline(history.best_epoch + 1, color="0.5", lw=0.8, ls=":", label="best epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("loss")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    if metrics:
        ax2 = axes[1]
        for key in metrics:
            (line,) = ax2.plot(epochs, h[key], label=key)
            if f"val_{key}" in h:
                ax2.plot(epochs, h[f"val_{key}"], "--", color=line.get_color(), label=f"val {key}")
        ax2.set_xlabel("epoch")
        ax2.set_title("metrics")
        ax2.legend(fontsize="small")
        ax2.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig


def _gradient_keys(history: History, params: str) -> list[str]:
    keys = [k for k in history.history if k.startswith("grad_norm/")]
    if params == "weights":
        weights = [k for k in keys if k.endswith(".W")]
        keys = weights or keys
    return keys


def plot_gradient_norms(
    histories: History | Any | Mapping[str, History | Any],
    *,
    params: str = "weights",
    title: str | None = None,
    figsize: tuple[float, float] = DEFAULT_SIZE,
) -> Figure:
    """:math:`\\lVert \\partial L/\\partial W_k \\rVert_2` of each layer per epoch, on a log axis.

    Train with ``callbacks=[chainrule.callbacks.GradientNorms()]`` to record them. Pass several
    histories as ``{"sigmoid": h1, "relu": h2}`` to draw them side by side on a shared axis:
    in a deep sigmoid network the first layers' gradients are orders of magnitude below the
    last ones' (the vanishing gradient); with ReLU they stay comparable.

    Parameters
    ----------
    histories : History, model, or mapping of label to either
        What to plot.
    params : {"weights", "all"}
        Only the weight matrices (one line per layer), or biases too.
    """
    if params not in ("weights", "all"):
        raise ValueError(f"params must be 'weights' or 'all', got {params!r}.")
    panels = dict(histories) if isinstance(histories, Mapping) else {"": histories}
    fig = figure(figsize)
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    for ax, (label, item) in zip(axes, panels.items(), strict=True):
        history = history_of(item)
        keys = _gradient_keys(history, params)
        if not keys:
            raise ValueError(
                "The history has no gradient norms; train with "
                "callbacks=[chainrule.callbacks.GradientNorms()] to record them."
            )
        colormap = get_colormap("viridis")
        for i, key in enumerate(keys):
            values = np.asarray(history.history[key], dtype=np.float64)
            epochs = np.arange(1, values.size + 1)
            color = colormap(i / max(1, len(keys) - 1))
            ax.plot(epochs, values, color=color, label=key.removeprefix("grad_norm/"))
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(label or "gradient norm per layer")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize="x-small", ncol=1 + len(keys) // 8)
    axes[0].set_ylabel("‖∂L/∂W‖₂ (mean over batches)")
    if title:
        fig.suptitle(title)
    return fig


# -- weights ---------------------------------------------------------------------------------------
def plot_weight_histograms(
    model: Any,
    *,
    bins: int = 30,
    include_bias: bool = False,
    title: str | None = None,
    figsize: tuple[float, float] = DEFAULT_SIZE,
) -> Figure:
    """A histogram of each Dense layer's weights (and biases), with their mean and spread.

    Parameters
    ----------
    model : Sequential, model bundle or estimator
        Whose weights to show.
    bins : int
        Histogram bins.
    include_bias : bool
        Also draw each layer's bias, in a second colour.
    """
    network = model_parts(model).network
    dense = [(name, layer) for name, layer in _dense_layers(network)]
    if not dense:
        raise ValueError("The network has no Dense layers, so it has no weights to show.")
    n = len(dense)
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig = figure(figsize)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    for ax, (name, layer) in zip(axes, dense, strict=False):
        w = np.asarray(layer.params["W"], dtype=np.float64).ravel()
        ax.hist(w, bins=bins, color="tab:blue", alpha=0.8, label="W")
        if include_bias and "b" in layer.params:
            b = np.asarray(layer.params["b"], dtype=np.float64).ravel()
            ax.hist(b, bins=bins, color="tab:orange", alpha=0.7, label="b")
            ax.legend(fontsize="x-small")
        shape = "×".join(str(s) for s in layer.params["W"].shape)
        ax.set_title(f"{name}.W ({shape})\nmean {w.mean():.3g}, sd {w.std():.3g}", fontsize="small")
        ax.tick_params(labelsize="x-small")
    for ax in axes[n:]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


def _dense_layers(network: Sequential) -> list[tuple[str, Dense]]:
    """Every Dense layer with its full name, nested containers included."""
    return [(name, layer) for name, layer in network.leaves() if isinstance(layer, Dense)]
