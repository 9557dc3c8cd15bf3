"""The decision boundary of a classifier over two inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.network.losses import Loss
from chainrule.plots.common import DEFAULT_SIZE, figure, get_colormap, model_parts
from chainrule.training.protocol import trained_model

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _grid_predictor(
    model: Any, loss: Loss | None
) -> tuple[Callable[[np.ndarray], np.ndarray], list[str] | None, list[Any] | None]:
    """``(probabilities of a grid (M, 2) -> (M, K), feature names, class labels)``."""
    trained = trained_model(model)
    classes = list(trained.classes) if trained.classes is not None else None
    codec = trained.preprocessing
    if codec is not None:  # a model that takes tables: the grid is two raw columns
        if trained.predict_proba is None:
            raise ValueError(
                "A decision boundary needs a classifier; this model does regression. "
                "Try plot_loss, plot_gradient_norms or plot_weight_histograms."
            )
        columns = list(codec.input_columns)
        if len(columns) != 2:
            raise ValueError(
                f"A decision boundary is drawn over two input columns; this model takes "
                f"{len(columns)} ({', '.join(columns)})."
            )
        import pandas as pd

        proba = trained.predict_proba
        return (
            lambda grid: np.asarray(proba(pd.DataFrame(grid, columns=columns))),
            columns,
            classes,
        )
    if trained.predict_proba is not None:  # an estimator: its own probabilities
        proba = trained.predict_proba
        return lambda grid: np.asarray(proba(grid)), None, classes
    parts = model_parts(model)
    network = parts.network
    link = (loss or parts.loss).link if (loss or parts.loss) is not None else (lambda out: out)
    if network.in_features not in (None, 2):
        raise ValueError(
            f"A decision boundary is drawn over two inputs; this network takes "
            f"{network.in_features}."
        )
    return (
        lambda grid: np.asarray(link(network.predict(grid.astype(network.dtype)))),
        None,
        classes,
    )


def plot_decision_boundary(
    model: Any,
    X: Any,
    y: Any,
    *,
    loss: Loss | None = None,
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
    X : array, shape (N, 2)
        The points, in the space the model takes (raw columns for a model bundle).
    y : array, shape (N,)
        Their labels (any values; class labels of a bundle are matched to its classes).
    loss : Loss, optional
        For a bare network: the loss whose ``link`` maps outputs to probabilities.
    feature_names : (str, str), optional
        Axis labels.
    resolution : int
        Grid points per axis.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(
            f"A decision boundary needs points with exactly 2 features, got shape {X.shape}."
        )
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}; they must match.")
    if not np.all(np.isfinite(X)):
        raise ValueError("The points have missing or infinite values; remove those rows.")
    predict, columns, classes = _grid_predictor(model, loss)
    names = feature_names or (tuple(columns) if columns else ("x₁", "x₂"))

    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.08 * np.where(hi > lo, hi - lo, 1.0)
    g0 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    g1 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    xx, yy = np.meshgrid(g0, g1)
    probs = predict(np.column_stack([xx.ravel(), yy.ravel()]))
    probs = probs.reshape(xx.size, -1)

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
        X[:, 0],
        X[:, 1],
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
    ax.set_title(title or "decision boundary")
    return fig
