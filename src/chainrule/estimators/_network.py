"""The estimator's parameters as a chainrule network and update rule."""

from __future__ import annotations

import math
from numbers import Real
from typing import TYPE_CHECKING, Any

from chainrule.estimators._extensions import extend_optimizer, learning_rate, norm_layer
from chainrule.network import optimizers as optimizers_module
from chainrule.network.activations import ACTIVATIONS
from chainrule.network.containers import Sequential
from chainrule.network.layers import Dense, Dropout, Layer
from chainrule.network.optimizers import Schedule

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator  # a chainrule MLP estimator: its parameters are read

HIDDEN_ACTIVATIONS: dict[str, type[Layer]] = {
    cls.sklearn_name: cls
    for cls in sorted(set(ACTIVATIONS.values()), key=lambda c: c.__name__)
    if cls.sklearn_name is not None
}
"""Every registered activation with a scikit-learn name (each class says its own): scikit-learn's
four hidden activations under their names, and chainrule's others (``leaky_relu``, ``elu``…)."""


def build_network(
    est: BaseEstimator, n_in: int, hidden: list[int], n_out: int, dropout: list[float], rng: Any
) -> Sequential:
    """``Dense [→ norm] → activation [→ Dropout] → … → Dense`` with ``n_out`` linear outputs.

    The normalization layer (``normalization="batch"`` or ``"layer"``) sits between each hidden
    ``Dense`` and its activation; with ``normalization=None`` there is none.
    """
    sizes = [n_in, *hidden, n_out]
    layers: list[Layer] = []
    sklearn_init = est.weight_init == "auto"
    names = hidden_activations(est, len(hidden))
    for i in range(len(sizes) - 1):
        fan_in, fan_out = sizes[i], sizes[i + 1]
        init = "zeros" if sklearn_init else est.weight_init
        dense = Dense(fan_in, fan_out, weight_init=init, rng=rng)
        if sklearn_init:
            # scikit-learn's Glorot uniform, biases included: U(-a, a) with
            # a = √(6 / (fan_in + fan_out)), or √(2 / …) for logistic units (the activation
            # after this layer; the output layer follows the last hidden one, as scikit-learn).
            follows = names[min(i, len(names) - 1)] if names else "relu"
            factor = 2.0 if follows == "logistic" else 6.0
            bound = math.sqrt(factor / (fan_in + fan_out))
            dense.params["W"][...] = rng.uniform(-bound, bound, (fan_in, fan_out))
            dense.params["b"][...] = rng.uniform(-bound, bound, fan_out)
            # the config (repr, model file) names the scheme drawn here, not the "zeros" above
            scheme = "sklearn_glorot_uniform" + ("_logistic" if factor == 2.0 else "")
            dense.weight_init = dense.bias_init = scheme
        layers.append(dense)
        if i < len(hidden):
            norm = norm_layer(est, fan_out)
            if norm is not None:
                layers.append(norm)
            layers.append(HIDDEN_ACTIVATIONS[names[i]]())
            if dropout[i] > 0:
                layers.append(Dropout(dropout[i], rng=rng))
    return Sequential(layers)


def make_optimizer(
    est: BaseEstimator, steps_per_epoch: int | None = None
) -> optimizers_module.GradientTransformation:
    """The update rule ``solver`` names, with the estimator's rates and moments.

    With ``warmup_epochs`` (and the ``steps_per_epoch`` to count them in) the rate is warmed
    up; with ``l1`` or ``clip_grad_norm`` the gradient passes those transforms first
    (:mod:`._extensions`).
    """
    return extend_optimizer(est, _solver_rule(est, learning_rate(est, steps_per_epoch)))


def _solver_rule(
    est: BaseEstimator, lr: float | Schedule
) -> optimizers_module.GradientTransformation:
    if est.solver == "sgd":
        # scikit-learn's velocity holds the rate, v ← μ v − η g, so a rate changed by
        # invscaling / adaptive applies to new gradients only: scale first, then momentum.
        step = optimizers_module.scale_by_learning_rate(lr)
        if not est.momentum:
            return optimizers_module.chain(step)
        nesterov = bool(est.nesterovs_momentum)
        return optimizers_module.chain(step, optimizers_module.trace(float(est.momentum), nesterov))
    if est.solver == "adam":  # ε where scikit-learn's AdamOptimizer has it (optimizers.py)
        return optimizers_module.adam(
            lr, est.beta_1, est.beta_2, est.epsilon, eps_placement="sklearn"
        )
    if est.solver == "adamw":
        return optimizers_module.adamw(
            lr, est.beta_1, est.beta_2, est.epsilon, weight_decay=float(est.alpha)
        )
    return optimizers_module.rmsprop(lr, eps=est.epsilon)


def hidden_sizes(est: BaseEstimator) -> list[int]:
    """``hidden_layer_sizes`` as a list of positive integers (one int is one layer)."""
    sizes = est.hidden_layer_sizes
    sizes = [sizes] if not hasattr(sizes, "__iter__") else list(sizes)
    if any(int(s) <= 0 for s in sizes) or any(int(s) != s for s in sizes):
        raise ValueError(f"hidden_layer_sizes must be positive integers, got {sizes}.")
    return [int(s) for s in sizes]


def hidden_activations(est: BaseEstimator, n_hidden: int) -> list[str]:
    """``activation`` as one name per hidden layer (one name is every layer's)."""
    names = est.activation
    if isinstance(names, str):
        return [names] * n_hidden
    names = list(names)
    unknown = [n for n in names if n not in HIDDEN_ACTIVATIONS]
    if len(names) != n_hidden or unknown or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f"activation must be one name or one per hidden layer ({n_hidden}) from "
            f"{', '.join(sorted(HIDDEN_ACTIVATIONS))}; got {est.activation!r}."
        )
    return names


def dropout_rates(est: BaseEstimator, n_hidden: int) -> list[float]:
    """``dropout`` as one rate per hidden layer."""
    rates = est.dropout
    if isinstance(rates, Real):
        return [float(rates)] * n_hidden
    rates = [float(r) for r in rates]
    if len(rates) != n_hidden or not all(0.0 <= r < 1.0 for r in rates):
        raise ValueError(
            f"dropout must be one rate in [0, 1) or one per hidden layer ({n_hidden}), "
            f"got {est.dropout!r}."
        )
    return rates
