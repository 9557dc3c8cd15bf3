"""Metrics recorded per epoch in the :class:`~chainrule.training.History`.

A metric is ``metric(y_true, y_pred) -> float`` on one batch, where ``y_pred`` is the network's
output after the loss's link (probabilities for logit losses). The training loop averages batch
values weighted by batch size, which is exact for these per-sample means. On NumPy a metric is
a Python float; on a device it is a 0-d array (:func:`chainrule.devices.scalar`), summed there
and brought to the host once per epoch.
"""

from __future__ import annotations

from collections.abc import Callable

from chainrule.backend import Array, namespace
from chainrule.devices import scalar

Metric = Callable[[Array, Array], float]


def mse(y_true: Array, y_pred: Array) -> float:
    """Mean squared error :math:`\\frac{1}{NK}\\sum (y - \\hat y)^2` — the lecture's printed loss."""
    xp = namespace(y_pred)
    return scalar(xp, xp.mean((y_true - y_pred) ** 2))


def mae(y_true: Array, y_pred: Array) -> float:
    """Mean absolute error :math:`\\frac{1}{NK}\\sum |y - \\hat y|`."""
    xp = namespace(y_pred)
    return scalar(xp, xp.mean(xp.abs(y_true - y_pred)))


def rmse(y_true: Array, y_pred: Array) -> float:
    """Root mean squared error (not a per-sample mean: averaged over batches it is approximate)."""
    return mse(y_true, y_pred) ** 0.5


def accuracy(y_true: Array, y_pred: Array) -> float:
    """Fraction of correct predictions.

    ``y_pred`` with one column is a probability thresholded at 0.5; with several columns the
    class is the arg-max. ``y_true`` may be class indices ``(N,)`` or one-hot ``(N, K)``.
    """
    xp = namespace(y_pred)
    if y_pred.ndim == 2 and y_pred.shape[1] > 1:
        pred = xp.argmax(y_pred, axis=1)
        true = xp.argmax(y_true, axis=1) if y_true.ndim == 2 else y_true
        return scalar(xp, xp.mean(xp.astype(pred == xp.astype(true, pred.dtype), xp.float64)))
    pred = xp.reshape(y_pred, (-1,)) > 0.5
    true = xp.reshape(y_true, (-1,)) > 0.5
    return scalar(xp, xp.mean(xp.astype(pred == true, xp.float64)))


METRICS: dict[str, Metric] = {"mse": mse, "mae": mae, "rmse": rmse, "accuracy": accuracy}


def get(name: str | Metric) -> tuple[str, Metric]:
    """``(name, function)`` for a metric name or a callable."""
    if callable(name):
        return getattr(name, "__name__", "metric"), name
    try:
        return name, METRICS[name]
    except KeyError:
        raise ValueError(
            f"Unknown metric {name!r}; choose one of {', '.join(sorted(METRICS))} or pass a function."
        ) from None
