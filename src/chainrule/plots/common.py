"""What every plot shares: the parts of a model, figures without pyplot, PNG files."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainrule.extras import require
from chainrule.io import atomic_write_bytes
from chainrule.network.containers import Sequential
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
