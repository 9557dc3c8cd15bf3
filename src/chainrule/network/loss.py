"""Losses: one call returns the value and :math:`\\partial L/\\partial \\hat y`, which always agree.

``loss(y_pred, y_true, sample_weight=None) -> (value, grad)`` with ``y_pred`` of shape
``(N, K)`` (the network's output) and ``grad`` of the same shape.

Reduction
---------
Each loss first computes a per-element loss :math:`\\ell_{nk}`. With ``reduction="mean"``
(default) the value is the mean over all :math:`N K` elements, so its gradient carries a factor
:math:`1/(NK)`; with ``reduction="sum"`` it is the plain sum. With sample weights :math:`w_n`
the mean is :math:`\\sum_n w_n \\sum_k \\ell_{nk} / (K \\sum_n w_n)` and the sum
:math:`\\sum_n w_n \\sum_k \\ell_{nk}`. :class:`CrossEntropy` has one loss per sample, so there
:math:`K = 1`.

The lecture's update
--------------------
The lecture prints :math:`\\text{mean}((y - \\hat y)^2)` but back-propagates
``mse_derivative = y_pred - y_true`` for every sample, summed over the batch by the matrix
products, with no :math:`1/n`: that is the gradient of :math:`\\tfrac12 \\sum_n (\\hat y_n - y_n)^2`.
``MSE(reduction="sum")`` has gradient :math:`2 (\\hat y - y)`, so

* ``MSE(reduction="sum")`` with ``sgd(0.05)`` *is* the lecture's update, bit for bit
  (halving the rate and doubling the gradient are exact in binary floating point);
* ``HalfSumSquaredError()`` (:math:`\\tfrac12\\sum(\\hat y - y)^2`, gradient exactly ``y_pred - y_true``)
  with ``sgd(0.1)`` is also the lecture's update bit for bit, at the lecture's own rate;
* ``MSE()`` (the mean) with ``sgd(0.1 * n / 2)`` = ``sgd(25.0)`` for ``n = 500`` is the same
  update up to rounding.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from chainrule.backend import Array, namespace
from chainrule.devices import scalar


def _total(values: Array) -> float | Array:
    """:math:`\\sum` of every element: a Python float on NumPy (its ufunc reduce skips the
    wrapper), a 0-d array on other namespaces so a GPU never waits for the host per batch."""
    if type(values) is np.ndarray:
        return float(np.add.reduce(values, axis=None))
    return namespace(values).sum(values)


def _scaled(text: str, scale: str) -> str:
    """``text`` divided by ``scale``, in parentheses when a top-level minus needs them."""
    if not scale:
        return text
    depth, top_level_minus = 0, False
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        top_level_minus |= depth == 0 and text[i : i + 3] == " − "
    return f"({text}){scale}" if top_level_minus else f"{text}{scale}"


def _validate_reduction(reduction: str) -> str:
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}.")
    return reduction


class Loss:
    """Base class. Subclasses implement :meth:`elementwise` (value and gradient per element).

    Every loss carries the facts the rest of chainrule needs about it, so adding one is one
    class in this file: ``value_text`` and ``gradient_text`` (its formula for ``explain``, in
    the lecture's notation, before the reduction's scale), ``link_onnx`` (the ONNX operators of
    :meth:`link`), ``sklearn_name`` (scikit-learn's name for it, if it has one) and
    ``torch_oracle`` (a PyTorch expression of ``z``, ``y`` and ``loss`` the tests compare with).

    Attributes
    ----------
    reduction : {"mean", "sum"}
        How the per-element losses are combined (see the module docstring).
    """

    name: ClassVar[str] = "loss"
    value_text: ClassVar[str] = ""
    gradient_text: ClassVar[str] = ""
    per_sample: ClassVar[bool] = False
    """One loss per row (the mean divides by N), not one per output (N·K)."""
    sklearn_name: ClassVar[str | None] = None
    torch_oracle: ClassVar[str] = ""

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = _validate_reduction(reduction)

    def elementwise(self, y_pred: Array, y_true: Array) -> tuple[Array, Array]:
        """Per-element loss :math:`\\ell` and :math:`\\partial \\ell / \\partial \\hat y`, shape ``(N, K)``."""
        raise NotImplementedError

    def __call__(
        self, y_pred: Array, y_true: Array, sample_weight: Array | None = None
    ) -> tuple[float, Array]:
        """Return ``(value, grad)``: the reduced loss and :math:`\\partial L/\\partial \\hat y` ``(N, K)``."""
        per_element, grad = self.elementwise(y_pred, y_true)
        if sample_weight is not None:
            return self._weighted(per_element, grad, sample_weight)
        total = _total(per_element)  # unweighted, every batch: no namespace lookup
        if self.reduction == "sum":
            return total, grad
        n_out = per_element.shape[1] if per_element.ndim == 2 else 1
        scale = 1.0 / (per_element.shape[0] * n_out)
        grad *= scale
        return total * scale, grad

    def _weighted(
        self, per_element: Array, grad: Array, sample_weight: Array
    ) -> tuple[float, Array]:
        """The reduction with per-sample weights, broadcast along the outputs."""
        n_out = per_element.shape[1] if per_element.ndim == 2 else 1
        xp = namespace(per_element)
        w_column = xp.reshape(sample_weight, (-1, 1))
        value = _total(per_element * (w_column if per_element.ndim == 2 else sample_weight))
        grad = grad * w_column  # the gradient is always (N, K)
        if self.reduction == "mean":
            scale = 1.0 / (scalar(xp, xp.sum(sample_weight)) * n_out)
            value *= scale
            grad *= scale
        return value, grad

    def link(self, y_pred: Array) -> Array:
        """Map the network's raw output into target space (probabilities for logit losses)."""
        return y_pred

    def link_onnx(self, graph: Any, x: str) -> str:
        """The ONNX operators of :meth:`link` (see :meth:`chainrule.Layer.onnx`)."""
        return x

    def formula(self) -> tuple[str, str]:
        """``(L, ∂L/∂ŷ)`` as text in the lecture's notation, reduction included."""
        scale = ""
        if self.reduction == "mean":
            scale = " / N" if self.per_sample else " / (N·K)"
        return f"{self.value_text}{scale}", _scaled(self.gradient_text, scale)

    def config(self) -> dict[str, Any]:
        """Constructor arguments, for model files."""
        return {"reduction": self.reduction}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"
