"""The objective scikit-learn's MLP minimises, written as chainrule losses.

scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` minimise, on each batch :math:`B` of
:math:`n_B` rows (or total sample weight :math:`s_B = \\sum_{n \\in B} w_n`),

.. math::
    J_B = \\frac{1}{s_B} \\sum_{n \\in B} w_n \\, \\ell_n
          + \\frac{\\alpha}{2 s_B} \\sum_{\\text{layers}} \\lVert W \\rVert_F^2

where the penalty covers weights only (never biases) and :math:`\\ell_n` is

* ``squared_error``: :math:`\\tfrac12 \\cdot \\tfrac1K \\sum_k (\\hat y_{nk} - y_{nk})^2`
  (:class:`~chainrule.network.losses.HalfSquaredError`);
* binary and multilabel log loss: :math:`\\sum_k \\text{BCE}(z_{nk}, y_{nk})`, summed over
  the labels (:class:`SummedOverOutputs` around
  :class:`~chainrule.losses.BinaryCrossEntropy`);
* multiclass log loss: :class:`~chainrule.losses.CrossEntropy` as it is;
* ``poisson``: :class:`HalfPoissonDeviance`, summed over the outputs.

:class:`L2Penalized` adds the penalty's value to a loss; :class:`PenaltyGradient` (a callback
run between backward and the optimizer) adds its gradient
:math:`\\partial J_B / \\partial W = \\alpha W / s_B`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chainrule.backend import Array, namespace
from chainrule.devices import scalar
from chainrule.network.containers import Sequential
from chainrule.network.losses import Loss, PoissonNLL
from chainrule.training.callbacks import Callback

if TYPE_CHECKING:
    from chainrule.training.callbacks import Loop


class HalfPoissonDeviance(PoissonNLL):
    """Half the Poisson deviance on the log of the rate, scikit-learn's ``poisson`` loss.

    With :math:`\\mu = e^{z}`:

    .. math::
        \\ell = y \\log\\frac{y}{\\mu} - y + \\mu = e^{z} - y z + (y \\log y - y), \\qquad
        \\frac{\\partial \\ell}{\\partial z} = e^{z} - y

    It is :class:`~chainrule.losses.PoissonNLL` plus a term that depends on :math:`y` only
    (:math:`y \\log y = 0` at :math:`y = 0`), so the gradient is the same and a perfect fit
    scores 0.
    """

    name = "half_poisson_deviance"

    def elementwise(self, y_pred: Array, y_true: Array) -> tuple[Array, Array]:
        xp = namespace(y_pred)
        value, grad = super().elementwise(y_pred, y_true)
        positive = y_true > 0
        safe = xp.where(positive, y_true, xp.ones_like(y_true))
        y_log_y = xp.where(positive, y_true * xp.log(safe), xp.zeros_like(y_true))
        return value + (y_log_y - y_true), grad


class SummedOverOutputs(Loss):
    """A loss summed over the :math:`K` outputs instead of averaged (``base`` times :math:`K`).

    scikit-learn's multilabel log loss sums the per-label cross-entropies of a row; chainrule's
    mean reduction divides by :math:`NK`. Multiplying value and gradient by :math:`K` keeps
    them consistent and equal to scikit-learn's. For :math:`K = 1` nothing changes.

    Parameters
    ----------
    base : Loss
        A loss with ``reduction="mean"``.
    """

    def __init__(self, base: Loss) -> None:
        super().__init__(base.reduction)
        self.base = base
        self.name = f"summed_{base.name}"

    def __call__(
        self, y_pred: Array, y_true: Array, sample_weight: Array | None = None
    ) -> tuple[float, Array]:
        value, grad = self.base(y_pred, y_true, sample_weight)
        k = y_pred.shape[1] if y_pred.ndim == 2 else 1
        if k != 1:
            value, grad = value * k, grad * k
        return value, grad

    def link(self, y_pred: Array) -> Array:
        return self.base.link(y_pred)

    def link_onnx(self, graph: Any, x: str) -> str:
        return self.base.link_onnx(graph, x)

    def config(self) -> dict[str, Any]:
        return {"base": type(self.base).__name__, **self.base.config()}


class L2Penalized(Loss):
    """``base`` plus scikit-learn's L2 penalty on the weight matrices, scaled by the batch.

    .. math:: J = L_{\\text{base}} + \\frac{\\alpha}{2 s_B} \\sum_{W} \\lVert W \\rVert_F^2,
              \\qquad s_B = \\textstyle\\sum_{n \\in B} w_n \\;(= n_B \\text{ unweighted})

    The value is returned here; the gradient with respect to the weights,
    :math:`\\alpha W / s_B`, is added by :class:`PenaltyGradient`, which reads
    :attr:`coefficient` (:math:`\\alpha / s_B` of the batch last seen).

    Parameters
    ----------
    base : Loss
        The data loss (mean reduction).
    network : Sequential
        Whose ``"<dense>.W"`` parameters are penalised.
    alpha : float
        :math:`\\alpha \\ge 0`.
    """

    def __init__(self, base: Loss, network: Sequential, alpha: float) -> None:
        super().__init__(base.reduction)
        self.base, self.network, self.alpha = base, network, float(alpha)
        self.name = base.name
        self.weight_names = [k for k in network.params if k.endswith(".W")]
        self.coefficient = 0.0

    def __call__(
        self, y_pred: Array, y_true: Array, sample_weight: Array | None = None
    ) -> tuple[float, Array]:
        value, grad = self.base(y_pred, y_true, sample_weight)
        if self.alpha:
            xp = namespace(y_pred)
            total = y_pred.shape[0] if sample_weight is None else scalar(xp, xp.sum(sample_weight))
            self.coefficient = self.alpha / total
            value += 0.5 * self.coefficient * self.squared_norm()
        return value, grad

    def squared_norm(self) -> float:
        """:math:`\\sum_W \\lVert W \\rVert_F^2` over the penalised weights."""
        params = self.network.params
        total = 0.0
        for k in self.weight_names:
            w = params[k]
            xp = namespace(w)
            total += scalar(xp, xp.sum(w * w))  # on a device: stays there, no wait per batch
        return total

    def link(self, y_pred: Array) -> Array:
        return self.base.link(y_pred)

    def link_onnx(self, graph: Any, x: str) -> str:
        return self.base.link_onnx(graph, x)


class PenaltyGradient(Callback):
    """Adds :math:`\\alpha W / s_B` to each weight gradient, before the optimizer sees it."""

    def __init__(self, penalized: L2Penalized) -> None:
        self.penalized = penalized

    def on_gradients(self, trainer: Loop, grads: dict[str, Array]) -> None:
        add_penalty_gradient(self.penalized, grads)


def add_penalty_gradient(penalized: L2Penalized, grads: dict[str, Array]) -> None:
    """``grads[W] += (α / s_B) · W`` in place for every penalised weight."""
    c = penalized.coefficient
    if not penalized.alpha:  # c may be a 0-d device array: test the float α, not c
        return
    params = penalized.network.params
    for k in penalized.weight_names:
        if k in grads:
            grads[k] += c * params[k]
