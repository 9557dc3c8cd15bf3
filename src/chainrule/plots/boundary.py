"""The decision boundary of a classifier over two inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.network.losses import Loss
from chainrule.plots.common import DEFAULT_SIZE, figure, get_colormap
from chainrule.plots.plane import decision_grid

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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
        (text) in ``X``, and the title says at which (:mod:`chainrule.plots.plane`).
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
