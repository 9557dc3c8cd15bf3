"""Pictures of training: loss curves, decision boundaries, gradient flow and weight histograms.

Every function returns a :class:`matplotlib.figure.Figure` built without ``pyplot`` (no global
figure state, no GUI backend: PNGs are rendered by Agg), and :func:`save` writes one to a PNG
atomically. matplotlib is an optional dependency (``pip install 'chainrule[plot]'``) and is
imported only when a plot is drawn.

The functions accept what training produces: a :class:`~chainrule.training.History`, or
anything :func:`chainrule.trained_model` accepts (a network, a Trainer, a
:class:`~chainrule.tabular.TabularModel`, a fitted estimator), whose parts they read only
through that protocol. Modules: :mod:`~chainrule.plots.common` (model parts, figures, PNG
files), :mod:`~chainrule.plots.training` (loss, gradient flow, weights) and
:mod:`~chainrule.plots.plane` (the grid a boundary is drawn on, text columns held at their
most frequent value) and :mod:`~chainrule.plots.boundary` (decision boundary).
"""

from chainrule.plots.boundary import plot_decision_boundary
from chainrule.plots.common import (
    DEFAULT_SIZE,
    KINDS,
    ModelParts,
    model_parts,
    png_bytes,
    save,
)
from chainrule.plots.plane import DecisionGrid, decision_grid
from chainrule.plots.training import plot_gradient_norms, plot_loss, plot_weight_histograms

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
