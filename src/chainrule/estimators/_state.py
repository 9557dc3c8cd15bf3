"""A fitted estimator as plain arrays and JSON, for :func:`chainrule.save` / :func:`chainrule.load`.

The arrays are the network's weights (:meth:`Sequential.state`) and the optimizer's state
(Adam's moments, SGD's velocity: ``optimizer/…``); the JSON holds the constructor's
parameters, the fitted attributes, the history, the targets' encoding and the random
generators' states (shuffles, dropout masks), so ``partial_fit`` after ``load`` continues
exactly where the saved estimator stopped. No pickle: loading runs no code from the file.
"""

from __future__ import annotations

from numbers import Integral
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from chainrule.estimators._network import make_optimizer
from chainrule.network import initializers
from chainrule.network.containers import Sequential, StateError
from chainrule.network.optimizer_state import state_from_arrays, state_to_arrays
from chainrule.training.checkpoint import generator_table, restore_generator_table
from chainrule.training.history import History

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator  # a chainrule MLP estimator: its parameters are read

FITTED_NUMBERS = ("n_iter_", "t_", "loss_", "best_loss_", "best_validation_score_")
FITTED_LISTS = ("loss_curve_", "validation_scores_", "validation_loss_curve_")


def json_params(self: BaseEstimator) -> dict[str, Any]:
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


def estimator_state(self: BaseEstimator) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
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
        "rng": generator_table(getattr(self, "_rng", None), self.network_),
    }
    state = getattr(self, "_opt_state", None)
    if state is not None:
        opt_tensors, opt_meta = state_to_arrays(state)
        tensors.update(opt_tensors)
        meta["optimizer"] = {"solver": str(self._opt_solver), "state": opt_meta}
    return tensors, meta


def _restore_optimizer(est: BaseEstimator, tensors: dict[str, np.ndarray], saved: Any) -> None:
    """The saved optimizer state, rebuilt on a fresh ``init`` of the estimator's own optimizer."""
    est._opt_state, est._opt_solver = None, est.solver
    if not isinstance(saved, dict) or saved.get("state") is None:
        return  # a file from before optimizer states were saved: partial_fit starts afresh
    if saved.get("solver") != est.solver or est.solver == "lbfgs":
        raise StateError(f"has an optimizer state for solver {saved.get('solver')!r}")
    template = make_optimizer(est).init(est.network_.params)
    try:
        est._opt_state = state_from_arrays(template, tensors, saved["state"])
    except ValueError as exc:
        raise StateError(f"has an optimizer state that does not fit ({exc})") from None


def estimator_from_state(
    cls: type[BaseEstimator], tensors: dict[str, np.ndarray], meta: dict[str, Any]
) -> BaseEstimator:
    """Rebuild a fitted estimator of class ``cls`` from :func:`estimator_state`'s output."""
    params = dict(meta["params"])
    for key in ("hidden_layer_sizes", "dropout"):  # JSON has lists only; sklearn uses tuples
        if isinstance(params.get(key), list):
            params[key] = tuple(params[key])
    est = cls(**params)
    weights = {k: v for k, v in tensors.items() if not k.startswith("optimizer/")}
    net = Sequential.from_state(weights, meta["network"])
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
    _restore_optimizer(est, tensors, meta.get("optimizer"))
    shuffle = restore_generator_table(meta["rng"], net) if "rng" in meta else None
    est._rng = shuffle if shuffle is not None else initializers.as_generator(est.random_state)
    est._restore_targets(meta)
    return est
