"""Pictures of training: loss curves, decision boundaries, gradient flow and weight histograms.

Every function returns a :class:`matplotlib.figure.Figure` built without ``pyplot`` (no global
figure state, no GUI backend: PNGs are rendered by Agg), and :func:`save` writes one to a PNG
atomically. matplotlib is an optional dependency (``pip install 'chainrule[plot]'``) and is
imported only when a plot is drawn.

The functions accept what training produces: a :class:`~chainrule.training.History`, a bare
:class:`~chainrule.layers.Sequential`, a :class:`~chainrule.model.TabularModel` loaded from a
model file (``net``, ``history``, ``loss``, ``preprocessor``), or a scikit-learn style
estimator (``network_``, ``history_``).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.extras import require
from chainrule.io import atomic_write_bytes
from chainrule.network.containers import Sequential
from chainrule.network.layers import Dense
from chainrule.network.losses import Loss
from chainrule.training.history import History
from chainrule.training.protocol import trained_model

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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


def _history_of(obj: Any) -> History:
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
def _figure(figsize: tuple[float, float]) -> Figure:
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


# -- loss curves ---------------------------------------------------------------------------------
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
    history = _history_of(history)
    h = history.history
    metrics = _metric_keys(history)
    fig = _figure(figsize)
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


# -- decision boundary ---------------------------------------------------------------------------
def _grid_predictor(
    model: Any, loss: Loss | None
) -> tuple[Callable[[np.ndarray], np.ndarray], list[str] | None, list[Any] | None]:
    """``(probabilities of a grid (M, 2) -> (M, K), feature names, class labels)``."""
    parts = model_parts(model)
    source = parts.source
    classes = getattr(source, "classes", None) or getattr(source, "classes_", None)
    classes = list(classes) if classes is not None else None
    preprocessor = getattr(source, "preprocessor", None)
    if preprocessor is not None and hasattr(source, "predict_proba"):  # a TabularModel
        if getattr(source, "task", "classification") != "classification":
            raise ValueError(
                "A decision boundary needs a classifier; this model does regression. "
                "Try --kind loss, gradients or weights."
            )
        columns = list(preprocessor.input_columns)
        if len(columns) != 2:
            raise ValueError(
                f"A decision boundary is drawn over two input columns; this model takes "
                f"{len(columns)} ({', '.join(columns)})."
            )
        import pandas as pd

        return (
            lambda grid: np.asarray(source.predict_proba(pd.DataFrame(grid, columns=columns))),
            columns,
            classes,
        )
    if not isinstance(source, Sequential) and hasattr(source, "predict_proba"):  # an estimator
        return lambda grid: np.asarray(source.predict_proba(grid)), None, classes
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

    fig = _figure(figsize)
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

        colormap = _colormap(cmap)
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


def _colormap(name: str) -> Any:
    from matplotlib import colormaps

    return colormaps[name]


# -- gradient flow -------------------------------------------------------------------------------
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
    fig = _figure(figsize)
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    for ax, (label, item) in zip(axes, panels.items(), strict=True):
        history = _history_of(item)
        keys = _gradient_keys(history, params)
        if not keys:
            raise ValueError(
                "The history has no gradient norms; train with "
                "callbacks=[chainrule.callbacks.GradientNorms()] to record them."
            )
        colormap = _colormap("viridis")
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
    fig = _figure(figsize)
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


def _dense_layers(network: Sequential, prefix: str = "") -> list[tuple[str, Dense]]:
    out: list[tuple[str, Dense]] = []
    for layer in network.layers:
        if isinstance(layer, Dense):
            out.append((f"{prefix}{layer.name}", layer))
        elif isinstance(layer, Sequential):
            out += _dense_layers(layer, f"{prefix}{layer.name}.")
    return out
