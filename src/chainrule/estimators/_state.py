"""A fitted estimator as plain arrays and JSON, for :func:`chainrule.save` / :func:`chainrule.load`.

The arrays are the network's weights (:meth:`Sequential.state`); the JSON holds the
constructor's parameters, the fitted attributes, the history and the targets' encoding. No
pickle: loading runs no code from the file.
"""

from __future__ import annotations

from numbers import Integral
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from chainrule.network import initializers
from chainrule.network.containers import Sequential, StateError
from chainrule.training.history import History

if TYPE_CHECKING:
    from chainrule.estimators._base import BaseMLP

FITTED_NUMBERS = ("n_iter_", "t_", "loss_", "best_loss_", "best_validation_score_")
FITTED_LISTS = ("loss_curve_", "validation_scores_", "validation_loss_curve_")


def json_params(self: BaseMLP) -> dict[str, Any]:
    """The constructor's parameters as JSON (callbacks and generators left out)."""
    params = {}
    for key, value in self.get_params(deep=False).items():
        if key == "callbacks":
            continue  # code, not data: callbacks are not saved
        if key == "random_state" and not isinstance(value, Integral | None):
            value = None  # a generator's state is not saved
        if isinstance(value, tuple | list | np.ndarray):
            value = [v.item() if isinstance(v, np.generic) else v for v in value]
        params[key] = value.item() if isinstance(value, np.generic) else value
    return params


def estimator_state(self: BaseMLP) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays (the network's weights) and JSON (everything else) of a fitted estimator."""
    check_is_fitted(self, "network_")
    tensors, network = self.network_.state()
    names = getattr(self, "feature_names_in_", None)
    fitted: dict[str, Any] = {
        "n_features_in_": int(self.n_features_in_),
        "feature_names_in_": None if names is None else [str(n) for n in names],
        "n_outputs_": int(self.n_outputs_),
        "n_layers_": int(self.n_layers_),
        "out_activation_": self.out_activation_,
        "learning_rate": float(getattr(self, "_learning_rate", self.learning_rate_init)),
        "no_improvement_count": int(getattr(self, "_no_improvement_count", 0)),
    }
    for key in FITTED_NUMBERS:
        value = getattr(self, key)
        fitted[key] = None if value is None else float(value)
    for key in FITTED_LISTS:
        value = getattr(self, key)
        fitted[key] = None if value is None else [float(v) for v in value]
    meta = {
        "params": json_params(self),
        "network": network,
        "fitted": fitted,
        "history": self.history_.to_dict(),
        **self._targets_state(),
    }
    return tensors, meta


def estimator_from_state(
    cls: type[BaseMLP], tensors: dict[str, np.ndarray], meta: dict[str, Any]
) -> BaseMLP:
    """Rebuild a fitted estimator of class ``cls`` from :func:`estimator_state`'s output."""
    params = dict(meta["params"])
    for key in ("hidden_layer_sizes", "dropout"):  # JSON has lists only; sklearn uses tuples
        if isinstance(params.get(key), list):
            params[key] = tuple(params[key])
    est = cls(**params)
    net = Sequential.from_state(tensors, meta["network"])
    fitted = meta["fitted"]
    n_in, n_out = int(fitted["n_features_in_"]), int(fitted["n_outputs_"])
    if net.in_features != n_in or net.output_dim(n_in) != n_out:
        raise StateError(
            f"has a network that maps {net.in_features} inputs to {net.output_dim(n_in)} outputs, "
            f"but the estimator expects {n_in} features and {n_out} outputs"
        )
    est.network_ = net
    est.n_features_in_ = n_in
    if fitted.get("feature_names_in_") is not None:
        est.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
    est.n_outputs_, est.n_layers_ = n_out, int(fitted["n_layers_"])
    est.out_activation_ = str(fitted["out_activation_"])
    for key in FITTED_NUMBERS:
        value = fitted.get(key)
        setattr(est, key, None if value is None else float(value))
    est.n_iter_, est.t_ = int(est.n_iter_), int(est.t_)
    for key in FITTED_LISTS:
        value = fitted.get(key)
        setattr(est, key, None if value is None else [float(v) for v in value])
    est.history_ = History.from_dict(meta["history"])
    est._learning_rate = float(fitted.get("learning_rate", est.learning_rate_init))
    est._no_improvement_count = int(fitted.get("no_improvement_count", 0))
    est._opt_state = None  # optimizer moments are not saved: partial_fit restarts them
    est._rng = initializers.as_generator(est.random_state)
    est._restore_targets(meta)
    return est
