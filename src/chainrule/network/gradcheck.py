"""Gradient checking by central finite differences, for any layer, loss or whole network.

For a scalar function :math:`f(\\theta)` the central difference

.. math:: \\frac{\\partial f}{\\partial \\theta_i} \\approx
          \\frac{f(\\theta + \\epsilon e_i) - f(\\theta - \\epsilon e_i)}{2\\epsilon}

has error :math:`O(\\epsilon^2)`. A layer is checked through the scalar
:math:`f = \\sum_{nk} y_{nk} R_{nk}` with a fixed random :math:`R`, whose gradient with respect to
the output is exactly :math:`R` — so ``backward(R)`` must equal the finite differences.

The reported error of each array (a parameter, or ``"input"``) is the largest element-wise
difference relative to the array's largest gradient,
:math:`\\max_i |a_i - n_i| / \\max(\\max_i |a_i|, \\max_i |n_i|)`, which is meaningful even where
single gradient entries are zero. Run checks in float64: float32 round-off swamps the test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from chainrule.network.containers import Sequential
from chainrule.network.initializers import as_generator
from chainrule.network.layers import Layer
from chainrule.network.losses import Loss


@dataclass
class GradcheckReport:
    """Largest relative error per checked array, and the gradients compared."""

    errors: dict[str, float] = field(default_factory=dict)
    analytic: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    numeric: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def max_error(self) -> float:
        """The worst relative error over all arrays."""
        return max(self.errors.values(), default=0.0)

    def passed(self, tol: float = 1e-6) -> bool:
        """Whether every relative error is below ``tol``."""
        return self.max_error < tol

    def table(self, tol: float = 1e-6) -> str:
        """A plain-text table: array, shape, relative error, verdict."""
        rows = [("array", "shape", "rel. error", "ok")]
        for name, err in self.errors.items():
            shape = "x".join(str(s) for s in self.analytic[name].shape) or "scalar"
            rows.append((name, shape, f"{err:.2e}", "yes" if err < tol else "NO"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows
        )


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """:math:`\\max_i |a_i - n_i| / \\max(\\max|a|, \\max|n|)` (0 when both are all zero)."""
    scale = max(
        float(np.max(np.abs(analytic), initial=0.0)), float(np.max(np.abs(numeric), initial=0.0))
    )
    if scale == 0.0:
        return 0.0
    return float(np.max(np.abs(analytic - numeric))) / scale


def numeric_gradient(f: Callable[[], float], array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of ``f()`` with respect to every entry of ``array`` (perturbed in place)."""
    grad = np.zeros_like(array, dtype=np.float64)
    flat = array.reshape(-1)
    out = grad.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + eps
        f_plus = f()
        flat[i] = keep - eps
        f_minus = f()
        flat[i] = keep
        out[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def check_layer(
    layer: Layer,
    x: np.ndarray,
    *,
    eps: float = 1e-6,
    rng: np.random.Generator | int | None = 0,
    training: bool = False,
) -> GradcheckReport:
    """Compare ``layer.backward`` with finite differences, for its input and every parameter.

    Parameters
    ----------
    layer : Layer
        Any layer (including a whole :class:`Sequential`).
    x : ndarray, shape (N, d_in)
        Input batch, float64.
    eps : float
        Finite-difference step.
    rng : Generator or int
        Draws the projection :math:`R`.
    training : bool
        Forward mode; stochastic layers (Dropout) must be checked with a fixed mask.
    """
    x = np.array(x, dtype=np.float64)
    R = as_generator(rng).standard_normal(np.shape(layer.forward(x, training)))

    def f() -> float:
        return float(np.sum(layer.forward(x, training) * R))

    f()
    grad_x = layer.backward(R, need_input_grad=True)
    analytic = {"input": np.array(grad_x)}
    analytic.update({k: np.array(v) for k, v in layer.grads.items()})
    return _compare(analytic, layer.params, x, f, eps)


def check_loss(
    loss: Loss,
    y_pred: np.ndarray,
    y_true: np.ndarray,
    sample_weight: np.ndarray | None = None,
    *,
    eps: float = 1e-6,
) -> GradcheckReport:
    """Compare the gradient a loss returns with finite differences of the value it returns."""
    y_pred = np.array(y_pred, dtype=np.float64)
    _, grad = loss(y_pred.copy(), y_true, sample_weight)
    n = numeric_gradient(lambda: loss(y_pred, y_true, sample_weight)[0], y_pred, eps)
    report = GradcheckReport()
    report.analytic["y_pred"], report.numeric["y_pred"] = np.array(grad), n
    report.errors["y_pred"] = relative_error(np.array(grad), n)
    return report


def check_network(
    model: Sequential,
    loss: Loss,
    X: np.ndarray,
    y: np.ndarray,
    *,
    eps: float = 1e-6,
    check_input: bool = False,
) -> GradcheckReport:
    """Check :math:`\\partial L/\\partial\\theta` of a whole network and loss, parameter by parameter.

    Parameters
    ----------
    model : Sequential
        The network (float64 parameters).
    loss : Loss
        The loss whose value is differentiated.
    X, y : ndarray
        A small batch and its targets (shapes as :meth:`Trainer.fit` takes them).
    check_input : bool
        Also check :math:`\\partial L/\\partial X`.
    """
    X = np.array(X, dtype=np.float64)
    y = np.asarray(y)
    if y.ndim == 1 and not (y.dtype.kind in "iu" and type(loss).__name__ == "CrossEntropy"):
        y = y.reshape(-1, 1).astype(np.float64)

    def f() -> float:
        return loss(model.forward(X, False), y)[0]

    _, grad = loss(model.forward(X, False), y)
    grad_x = model.backward(grad, need_input_grad=True)
    analytic = {k: np.array(v) for k, v in model.grads.items()}
    if check_input:
        analytic["input"] = np.array(grad_x)
    return _compare(analytic, model.params, X, f, eps)


def _compare(
    analytic: dict[str, np.ndarray],
    params: dict[str, np.ndarray],
    x: np.ndarray,
    f: Callable[[], float],
    eps: float,
) -> GradcheckReport:
    """Finite differences of ``f`` for every array in ``analytic`` (``"input"`` is ``x``)."""
    report = GradcheckReport()
    for name, a in analytic.items():
        n = numeric_gradient(f, x if name == "input" else params[name], eps)
        report.analytic[name], report.numeric[name] = a, n
        report.errors[name] = relative_error(a, n)
    return report
