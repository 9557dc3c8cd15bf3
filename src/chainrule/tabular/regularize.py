"""Regularization for table models: dropout after each hidden activation, L2 and L1 penalties.

* ``dropout`` :math:`p`: a :class:`~chainrule.network.layers.Dropout` after every hidden
  activation (inverted dropout: nothing to rescale at inference);
* ``l2`` :math:`\\lambda_2`: the optimizer's ``weight_decay``, :math:`g + \\lambda_2\\theta`
  (PyTorch's; decoupled for ``adamw``);
* ``l1`` :math:`\\lambda_1`: :func:`~chainrule.network.regularization.add_l1`,
  :math:`g + \\lambda_1 \\operatorname{sign}(\\theta)`, before the optimizer.
"""

from __future__ import annotations

from typing import Any

from chainrule.network import optimizers as optimizers_module
from chainrule.network.activations import Activation
from chainrule.network.containers import Sequential
from chainrule.network.layers import Dropout, Layer
from chainrule.network.optimizers import GradientTransformation
from chainrule.network.regularization import regularize
from chainrule.tabular.data import DataError


def with_dropout(net: Sequential, rate: float, rng: Any) -> Sequential:
    """``net`` with ``Dropout(rate)`` after every hidden activation (``net`` itself for 0)."""
    if not 0.0 <= rate < 1.0:
        raise DataError(f"dropout must be in [0, 1), got {rate!r}.")
    if rate == 0.0:
        return net
    layers: list[Layer] = []
    for i, layer in enumerate(net.layers):
        layers.append(layer)
        if isinstance(layer, Activation) and i < len(net.layers) - 1:
            layers.append(Dropout(rate, rng=rng))
    return Sequential(layers)


def make_optimizer(
    name: str, learning_rate: float | None, l2: float = 0.0, l1: float = 0.0
) -> GradientTransformation:
    """The optimizer ``name`` with its L2 ``weight_decay`` and an L1 term before it."""
    kwargs: dict[str, Any] = {} if learning_rate is None else {"learning_rate": learning_rate}
    if l2:
        kwargs["weight_decay"] = l2
    try:
        return regularize(optimizers_module.get(name, **kwargs), l1=l1)
    except (ValueError, TypeError) as exc:
        raise DataError(str(exc)) from None
