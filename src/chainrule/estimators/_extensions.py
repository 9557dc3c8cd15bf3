"""The estimators' parameters beyond scikit-learn's: normalization, L1, clipping, warm-up, smoothing.

Each maps onto one building block of :mod:`chainrule.network`; with its default
(``normalization=None``, ``l1=0``, ``clip_grad_norm=None``, ``warmup_epochs=0``,
``label_smoothing=0``) the block is left out entirely, so a default estimator trains exactly
the same network with exactly the same update rule as before these parameters existed.

============================  ===============================================================
parameter                     what it adds
============================  ===============================================================
``normalization="batch"``     ``Dense → BatchNorm → activation`` in every hidden layer
``normalization="layer"``     ``Dense → LayerNorm → activation`` in every hidden layer
``l1=λ₁``                     :math:`g_W \\leftarrow g_W + \\lambda_1 \\operatorname{sign}(W)`
                              on the weight matrices (not biases, as ``alpha``), before clipping
``clip_grad_norm=c``          the whole gradient rescaled to global norm at most :math:`c`
                              (``torch.nn.utils.clip_grad_norm_``), before the optimizer
``warmup_epochs=E``           the rate ramps linearly from :math:`\\eta_0/3` to :math:`\\eta_0`
                              over the first :math:`E` epochs' updates (``LinearLR``), then the
                              ``learning_rate`` rules run as usual
``label_smoothing=ε``         (classifier) :math:`y \\leftarrow (1-\\varepsilon) y + \\varepsilon/K`
                              in the cross-entropy; :math:`K = 2` per label for binary targets
============================  ===============================================================

The gradient pipeline is PyTorch's: the data loss and ``alpha``'s L2 penalty (scikit-learn's,
scaled by the batch) give :math:`g`; L1 is added (an unscaled :math:`\\lambda_1\\|W\\|_1` on
the batch's mean loss, as written in a PyTorch loop); the result is clipped; the optimizer
steps. L-BFGS takes none of the optimizer pieces (it has no steps to clip or warm up).
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

from sklearn.utils._param_validation import Interval, StrOptions

from chainrule.network.layers import Layer
from chainrule.network.normalization import BatchNorm, LayerNorm
from chainrule.network.optimizers import GradientTransformation, Schedule, chain, linear_warmup
from chainrule.network.regularization import add_l1, clip_by_global_norm, weights_only

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator  # a chainrule MLP estimator: its parameters are read

EXTENSION_CONSTRAINTS: dict[str, list[Any]] = {
    "normalization": [StrOptions({"batch", "layer"}), None],
    "l1": [Interval(Real, 0, None, closed="left")],
    "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
    "warmup_epochs": [Interval(Integral, 0, None, closed="left")],
    "scoring": [str, callable, None],
    "record_validation": ["boolean"],
}
"""``_parameter_constraints`` of the extensions both estimators share."""

LABEL_SMOOTHING_CONSTRAINT: dict[str, list[Any]] = {
    "label_smoothing": [Interval(Real, 0, 1, closed="left")],
}
"""The classifier's one more."""


def check_extensions(
    est: BaseEstimator, n_train: int | None = None, batch_size: int | None = None
) -> None:
    """Refuse combinations that cannot work, in one sentence each.

    Called with the estimator alone before training (solver checks), and with the training
    rows and batch size once they are known (BatchNorm's two-row minimum).
    """
    if n_train is None:
        if est.solver == "lbfgs":
            used = [
                name for name in ("l1", "clip_grad_norm", "warmup_epochs") if getattr(est, name)
            ]
            if used:
                raise ValueError(
                    f"{', '.join(used)} act on the steps of a stochastic solver, which L-BFGS "
                    "does not take; use solver='adam' or 'sgd', or leave them at their defaults."
                )
        return
    if est.normalization == "batch" and batch_size is not None:
        last = n_train - (steps_per_epoch(n_train, batch_size) - 1) * batch_size
        if last < 2:
            raise ValueError(
                f"normalization='batch' needs at least 2 rows in every mini-batch, but "
                f"n_samples={n_train} in batches of {batch_size} leave a last batch of 1; "
                "choose another batch_size or normalization='layer'."
            )


def norm_layer(est: BaseEstimator, units: int) -> Layer | None:
    """The normalization layer after a hidden ``Dense`` of ``units`` outputs, or None."""
    if est.normalization == "batch":
        return BatchNorm(units)
    if est.normalization == "layer":
        return LayerNorm(units)
    return None


def learning_rate(est: BaseEstimator, steps_per_epoch: int | None) -> float | Schedule:
    """:math:`\\eta_0`, or its linear warm-up over ``warmup_epochs`` epochs of updates."""
    lr = float(est.learning_rate_init)
    epochs = int(getattr(est, "warmup_epochs", 0) or 0)
    if not epochs or steps_per_epoch is None:
        return lr
    return linear_warmup(lr, epochs * steps_per_epoch)


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Updates per epoch: :math:`\\lceil N / B \\rceil` (the last batch may be short)."""
    return math.ceil(n_train / batch_size)


def extend_optimizer(
    est: BaseEstimator, optimizer: GradientTransformation
) -> GradientTransformation:
    """``optimizer`` behind L1 and global-norm clipping, when asked for (else itself)."""
    from_front: list[GradientTransformation] = []
    if getattr(est, "l1", 0.0):
        from_front.append(weights_only(add_l1(float(est.l1))))
    if getattr(est, "clip_grad_norm", None) is not None:
        from_front.append(clip_by_global_norm(float(est.clip_grad_norm)))
    if not from_front:
        return optimizer
    return chain(*from_front, optimizer)
