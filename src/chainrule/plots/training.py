"""Pictures of training: loss curves, gradient flow per layer, weight histograms."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.network.containers import Sequential
from chainrule.network.layers import Dense
from chainrule.plots.common import DEFAULT_SIZE, figure, get_colormap, history_of, model_parts
from chainrule.training.history import History

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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
